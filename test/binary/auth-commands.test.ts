/**
 * End-to-end: the compiled binary's status, me, token and logout against the real local
 * authorization server, with tokens obtained through the server's own login flow.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { BINARY, ROOT, runBinary, TOKEN_REFUSED } from "../helpers/binary.ts";
import { homeWithFile, tempDir } from "../helpers/context.ts";
import { loginWithAuthorizationCode, type TokenSet } from "../helpers/flows.ts";
import { spawnInTerminal } from "../helpers/interactive.ts";
import { closedPort } from "../helpers/network.ts";

let server: DevServer;
let tokens: TokenSet;

beforeAll(async () => {
  server = await startDevServer({ port: 0 });
  tokens = await loginWithAuthorizationCode(server);
});
afterAll(() => server?.close());

const NOT_AUTHENTICATED = "Error: not authenticated\nRun 'pipeops auth login' to authenticate\n";

/** A fresh HOME with an optional credential file; returns the env for runBinary and the file path. */
const home = (file?: unknown, mode = 0o600) => homeWithFile(file, { mode });

function loggedIn(extra: Record<string, unknown> = {}) {
  return home({
    auth_token: tokens.access_token,
    expires_at: "2099-12-31T23:59:59Z",
    api_url: server.url,
    ...extra,
  });
}

describe("not authenticated", () => {
  test("status prints the spec's text and exits 1", async () => {
    const { env } = home();
    expect(await runBinary(["auth", "status"], { env })).toEqual({
      code: 1,
      stdout: "✗ Not authenticated\nRun 'pipeops auth login' to authenticate\n",
      stderr: "",
    });
    const json = await runBinary(["auth", "status", "--json"], { env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      authenticated: false,
      email: null,
      expires_at: null,
      token_valid: false,
      api_url: "https://api.pipeops.io",
      source: null,
      api_endpoint: "https://api.pipeops.io",
      token_type: null,
      token_source: null,
      token_expires_at: null,
      token_expires_in_seconds: null,
      credential_store: null,
      remaining_seconds: null,
      min_remaining_ok: null,
      error: null,
    });
  });

  test("me and token give the spec's error, exit 1", async () => {
    const { env } = home();
    for (const command of ["me", "token"]) {
      expect(await runBinary(["auth", command], { env })).toEqual({ code: 1, stdout: "", stderr: NOT_AUTHENTICATED });
    }
  });

  test("--json always prints one document: me's error is an object with error, the exit code unchanged", async () => {
    const { env } = home();
    const result = await runBinary(["auth", "me", "--json"], { env });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ error: "not authenticated" });
    expect(result.stderr).toBe(NOT_AUTHENTICATED);
  });

  test("status --json with the server unreachable: one document with the error, exit 1", async () => {
    const { env, path } = home({ auth_token: "some-token", api_url: "http://127.0.0.1:9" });
    const result = await runBinary(["auth", "status", "--json"], { env: { ...env, PIPEOPS_HTTP_TIMEOUT: "5" } });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      // A credential that could not be checked is no authentication a script may rely on.
      authenticated: false,
      email: null,
      expires_at: null,
      token_valid: false,
      api_url: "http://127.0.0.1:9",
      source: path,
      api_endpoint: "http://127.0.0.1:9",
      token_type: "oauth",
      token_source: path,
      token_expires_at: null,
      token_expires_in_seconds: null,
      credential_store: "file",
      remaining_seconds: null,
      min_remaining_ok: null,
      error: "could not reach http://127.0.0.1:9: connection refused",
    });
    expect(result.stderr).toBe("");
  });

  test("--json with a bad setting: still one document, with the usage error's exit 2", async () => {
    const { env } = home();
    for (const command of ["status", "me"]) {
      const result = await runBinary(["auth", command, "--json"], { env: { ...env, PIPEOPS_HTTP_TIMEOUT: "soon", PIPEOPS_AUTH_TOKEN: "pat_x" } });
      expect(result.code).toBe(2);
      expect(JSON.parse(result.stdout)).toEqual({ error: "PIPEOPS_HTTP_TIMEOUT must be a positive number of seconds, got 'soon'" });
      expect(result.stderr).toBe("Error: PIPEOPS_HTTP_TIMEOUT must be a positive number of seconds, got 'soon'\nUnset it or set it to e.g. 30\n");
    }
  });

  test("logout says so and exits 0", async () => {
    const { env } = home();
    const result = await runBinary(["auth", "logout"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Not logged in");
  });
});

describe("authenticated from the credential file", () => {
  test("status: the spec's lines, expiry in local time (TZ respected)", async () => {
    const { env } = loggedIn({ expires_at: "2099-12-31T23:59:59Z" });
    expect(await runBinary(["auth", "status"], { env })).toEqual({
      code: 0,
      // The spec's two lines, then the server: it is not production.
      stdout: `✓ Authenticated as user@example.com\nToken expires: 2099-12-31 23:59:59\nServer: ${server.url}\n`,
      stderr: "",
    });
    const tokyo = await runBinary(["auth", "status"], { env: { ...env, TZ: "Asia/Tokyo" } });
    expect(tokyo.stdout).toContain("Token expires: 2100-01-01 08:59:59\n");
  });

  test("status --json: the spec's keys in its order, then the server and where the token came from", async () => {
    const { env, path } = loggedIn();
    const result = await runBinary(["auth", "status", "--json"], { env });
    expect(result.code).toBe(0);
    // The spec's keys in its order, then ours, then the official CLI's (its seconds move with the clock).
    expect(result.stdout).toStartWith(
      `{\n  "authenticated": true,\n  "email": "user@example.com",\n  "expires_at": "2099-12-31T23:59:59Z",\n  "token_valid": true,\n  "api_url": "${server.url}",\n  "source": "${path}",\n` +
        `  "api_endpoint": "${server.url}",\n  "token_type": "oauth",\n  "token_source": "${path}",\n  "token_expires_at": "2099-12-31T23:59:59Z",\n  "token_expires_in_seconds": `,
    );
    const seconds = JSON.parse(result.stdout).token_expires_in_seconds;
    expect(Number.isInteger(seconds) && Math.abs(seconds - (Date.parse("2099-12-31T23:59:59Z") - Date.now()) / 1000) < 120).toBe(true);
    const fromEnv = await runBinary(["auth", "status", "--json"], {
      env: { HOME: tempDir(), PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: tokens.access_token },
    });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ authenticated: true, token_valid: true, api_url: server.url, source: "env" });
  });

  test("me: human and JSON", async () => {
    const { env } = loggedIn();
    expect(await runBinary(["auth", "me"], { env })).toEqual({
      code: 0,
      stdout: "Email:        user@example.com\nName:         John Doe\nOrganization: Acme Corp\nRole:         Admin\nAccount ID:   usr_1234567890\n",
      stderr: "",
    });
    const json = await runBinary(["auth", "me", "--json"], { env });
    expect(JSON.parse(json.stdout)).toEqual({
      id: "usr_1234567890",
      email: "user@example.com",
      name: "John Doe",
      organization: "Acme Corp",
      role: "admin",
      created_at: "2024-01-01T00:00:00Z",
    });
  });

  test("token prints the access token alone", async () => {
    const { env } = loggedIn();
    expect(await runBinary(["auth", "token"], { env })).toEqual({ code: 0, stdout: `${tokens.access_token}\n`, stderr: "" });
  });

  test("a token the server rejects gives the spec's invalid-token error", async () => {
    const { env } = loggedIn({ auth_token: "not-a-real-token" });
    expect(await runBinary(["auth", "me"], { env })).toEqual({
      code: 1,
      stdout: "",
      stderr: "Error: invalid authentication token\nRun 'pipeops auth login' to re-authenticate\n",
    });
    const status = await runBinary(["auth", "status", "--json"], { env });
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ authenticated: false, token_valid: false, error: "invalid authentication token" });
  });

  test("an expired token without a refresh token gives the spec's expired error", async () => {
    const { env } = loggedIn({ expires_at: "2020-01-01T00:00:00Z" });
    for (const command of ["status", "me", "token"]) {
      expect(await runBinary(["auth", command], { env })).toEqual({
        code: 1,
        stdout: "",
        stderr: "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n",
      });
    }
  });

  test("an expired token without a refresh token is said to be expired even when its server cannot be reached", async () => {
    const { env } = loggedIn({ expires_at: "2020-01-01T00:00:00Z", api_url: `http://127.0.0.1:${await closedPort()}` });
    for (const command of ["status", "me", "token"]) {
      expect(await runBinary(["auth", command], { env })).toEqual({
        code: 1,
        stdout: "",
        stderr: "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n",
      });
    }
  });

  test("the Go CLI's nested credentials keep the user logged in", async () => {
    const { env } = home({
      oauth: { access_token: tokens.access_token, expires_at: "2099-01-01T00:00:00.123456789Z", token_type: "Bearer" },
      settings: { output: "table" },
      version: "1.0.0",
      api_url: server.url,
    });
    const result = await runBinary(["auth", "status"], { env });
    expect(result.stdout).toBe(`✓ Authenticated as user@example.com\nToken expires: 2099-01-01 00:00:00\nServer: ${server.url}\n`);
  });

  test("a file readable by others works, with the chmod hint on stderr", async () => {
    const { env, path } = loggedIn();
    chmodSync(path, 0o644);
    const result = await runBinary(["auth", "status"], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`Warning: config file ${path} is readable by other users\nRun 'chmod 600 ${path}' to protect it\n`);
  });

  test("PIPEOPS_CONFIG_PATH selects another file", async () => {
    const other = loggedIn();
    const { env } = home();
    const result = await runBinary(["auth", "status"], { env: { ...env, PIPEOPS_CONFIG_PATH: other.path } });
    expect(result.stdout).toStartWith("✓ Authenticated as user@example.com\n");
  });
});

describe("logout", () => {
  const goKeys = { settings: { output: "table" }, updates: { check: true }, version: "1.0.0" };

  test.each([
    ["y\n", true],
    ["yes\n", true],
    ["Y\n", true],
    ["n\n", false],
    ["\n", false],
    ["sure\n", false],
  ])("answer %j logs out: %p", async (answer, loggedOut) => {
    const { env, path } = loggedIn({ refresh_token: "rt", ...goKeys });
    const before = readFileSync(path, "utf8");
    const result = await runBinary(["auth", "logout"], { env, stdin: answer });
    expect(result.code).toBe(0);
    expect(result.stderr).toStartWith("Are you sure you want to logout? [y/N] ");
    if (loggedOut) {
      expect(result.stdout).toBe("✓ Successfully logged out\n");
      expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(goKeys);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    } else {
      expect(result.stderr).toContain("Logout cancelled");
      expect(readFileSync(path, "utf8")).toBe(before);
    }
  });

  test("end of input keeps the session and names --force", async () => {
    const { env, path } = loggedIn();
    const before = readFileSync(path, "utf8");
    const result = await runBinary(["auth", "logout"], { env, stdin: "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("pipeops auth logout --force");
    expect(readFileSync(path, "utf8")).toBe(before);
  });

  test("--force skips the prompt and removes the Go CLI's tokens too", async () => {
    const { env, path } = home({
      oauth: { access_token: "go-at", refresh_token: "go-rt", expires_at: "2099-01-01T00:00:00Z", token_type: "Bearer" },
      ...goKeys,
    });
    const result = await runBinary(["auth", "logout", "--force"], { env });
    expect(result).toEqual({ code: 0, stdout: "✓ Successfully logged out\n", stderr: "" });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ oauth: { token_type: "Bearer" }, ...goKeys });
    const status = await runBinary(["auth", "status"], { env });
    expect(status.code).toBe(1);
  });

  test("with PIPEOPS_AUTH_TOKEN set, says the variable still authenticates", async () => {
    const { env } = loggedIn();
    const result = await runBinary(["auth", "logout", "--force"], { env: { ...env, PIPEOPS_AUTH_TOKEN: "env-token" } });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("✓ Successfully logged out\n");
    expect(result.stderr).toContain("PIPEOPS_AUTH_TOKEN is set and still authenticates until you unset it");
    expect(result.stderr).not.toContain("env-token");
  });
});

describe("PIPEOPS_AUTH_TOKEN", () => {
  test("wins over the file, is verified, and is never written to disk", async () => {
    const { env, path } = home();
    const result = await runBinary(["auth", "status", "--json"], {
      env: { ...env, PIPEOPS_AUTH_TOKEN: tokens.access_token, PIPEOPS_API_URL: server.url },
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      authenticated: true,
      email: "user@example.com",
      expires_at: null,
      token_valid: true,
      api_url: server.url,
      source: "env",
      api_endpoint: server.url,
      token_type: "oauth",
      token_source: "PIPEOPS_AUTH_TOKEN",
      token_expires_at: null,
      token_expires_in_seconds: null,
      credential_store: null,
      remaining_seconds: null,
      min_remaining_ok: null,
      error: null,
    });
    expect(existsSync(path)).toBe(false);
  });

  test("the status expiry line is omitted for an env token, and a session in the file it wins over is named", async () => {
    const { env, path } = loggedIn({ auth_token: "file-token-that-is-wrong" });
    const result = await runBinary(["auth", "status"], { env: { ...env, PIPEOPS_AUTH_TOKEN: tokens.access_token, PIPEOPS_API_URL: server.url } });
    expect(result).toEqual({
      code: 0,
      stdout: `✓ Authenticated as user@example.com\nServer: ${server.url}\nCredentials: PIPEOPS_AUTH_TOKEN, which wins over the session stored in ${path}\n`,
      stderr: "",
    });
    const alone = await runBinary(["auth", "status"], { env: { ...home().env, PIPEOPS_AUTH_TOKEN: tokens.access_token, PIPEOPS_API_URL: server.url } });
    expect(alone).toEqual({ code: 0, stdout: `✓ Authenticated as user@example.com\nServer: ${server.url}\n`, stderr: "" });
  });

  test("token prints it", async () => {
    const { env } = home();
    const result = await runBinary(["auth", "token"], { env: { ...env, PIPEOPS_AUTH_TOKEN: "ci-token" } });
    expect(result).toEqual({ code: 0, stdout: "ci-token\n", stderr: "" });
  });
});

describe("a broken config file is reported and never rewritten", () => {
  test.each([
    ["invalid JSON", '{"auth_token": ', "invalid JSON"],
    ["wrong types", '{"auth_token": ["x"]}', "auth_token must be a string"],
  ])("%s", async (_name, text, reason) => {
    const { env, path } = home(text);
    for (const args of [
      ["auth", "status"],
      ["auth", "logout", "--force"],
      ["auth", "me"],
    ]) {
      const result = await runBinary(args, { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toStartWith(`Error: config file ${path} is not valid: `);
      expect(result.stderr).toContain(reason);
      expect(result.stderr.trim().split("\n")).toHaveLength(2);
      expect(readFileSync(path, "utf8")).toBe(text);
    }
  });

  test("a folder we may not write: the spec's permission error, the old file intact", async () => {
    // Runs as 'nobody' because root ignores permission bits.
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const path = join(dir, ".pipeops.json");
    const text = JSON.stringify({ auth_token: "t", settings: {} });
    writeFileSync(path, text, { mode: 0o644 });
    const result = await runBinary(["auth", "logout", "--force"], {
      env: { HOME: dir, PIPEOPS_CONFIG_PATH: path },
      asUser: "nobody",
    });
    expect(result.stderr).toEndWith(
      "Error: failed to write config file: permission denied\n" +
        `${path} cannot be written: you may not create files in ${dir}\n` +
        "Make that place writable, or name another file with --config FILE or PIPEOPS_CONFIG_PATH\n",
    );
    expect(result.code).toBe(1);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});

describe("the server connection", () => {
  test("an unreachable server", async () => {
    const { env } = loggedIn({ api_url: "http://127.0.0.1:9" });
    expect(await runBinary(["auth", "status"], { env })).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "Error: could not reach http://127.0.0.1:9: connection refused\n" +
        "Check that http://127.0.0.1:9 (from the credential file, or what the server published) is the right server and reachable from here; " +
        "PIPEOPS_HTTP_TIMEOUT waits longer (now 30 s); 'pipeops auth doctor' checks the connection\n",
    });
  });

  test("a server that accepts and never answers", async () => {
    const hang = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const { env } = loggedIn({ api_url: `http://127.0.0.1:${hang.port}` });
      const started = Date.now();
      const result = await runBinary(["auth", "me"], { env: { ...env, PIPEOPS_HTTP_TIMEOUT: "1" } });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr:
          `Error: http://127.0.0.1:${hang.port} did not respond within 1 s\n` +
          `Check that http://127.0.0.1:${hang.port} (from the credential file, or what the server published) is the right server and reachable from here; ` +
          "PIPEOPS_HTTP_TIMEOUT waits longer (now 1 s); 'pipeops auth doctor' checks the connection\n",
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      hang.stop(true);
    }
  });

  test("plain http:// to a non-loopback host is refused before any request", async () => {
    const { env } = loggedIn();
    const result = await runBinary(["auth", "status"], { env: { ...env, PIPEOPS_API_URL: "http://api.pipeops.io" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("HTTPS is required");
  });

  test("without published metadata, the built-in endpoints are used", async () => {
    const seen: string[] = [];
    const bare = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        const url = new URL(request.url);
        seen.push(url.pathname);
        if (url.pathname === "/oauth/userinfo" && request.headers.get("authorization") === "Bearer bare-token") {
          return Response.json({ sub: "usr_1", email: "bare@example.com" });
        }
        return new Response("not found", { status: 404 });
      },
    });
    try {
      const { env } = home();
      const result = await runBinary(["auth", "status"], {
        env: { ...env, PIPEOPS_API_URL: `http://127.0.0.1:${bare.port}`, PIPEOPS_AUTH_TOKEN: "bare-token" },
      });
      expect(result).toEqual({ code: 0, stdout: `✓ Authenticated as bare@example.com\nServer: http://127.0.0.1:${bare.port}\n`, stderr: "" });
      expect(seen).toEqual(["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/oauth/userinfo"]);
    } finally {
      bare.stop(true);
    }
  });

  test("server text cannot inject terminal escapes", async () => {
    const evil = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        if (new URL(request.url).pathname === "/oauth/userinfo") {
          return Response.json({ sub: "usr_1", email: "a@b.c", name: "\u001b]0;pwned\u0007Evil\u001b[2J" });
        }
        return new Response("", { status: 404 });
      },
    });
    try {
      const { env } = home();
      const result = await runBinary(["auth", "me"], {
        env: { ...env, PIPEOPS_API_URL: `http://127.0.0.1:${evil.port}`, PIPEOPS_AUTH_TOKEN: "t" },
      });
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain("\u001b");
      expect(result.stdout).not.toContain("\u0007");
    } finally {
      evil.stop(true);
    }
  });
});

describe("usage", () => {
  test("--help works at every level without touching the disk", async () => {
    const { env, dir } = home();
    const blocked = join(dir, "no-such-dir", "x.json");
    for (const args of [
      ["--help"],
      ["auth", "--help"],
      ["auth", "login", "--help"],
      ["auth", "status", "-h"],
      ["auth", "logout", "--help"],
      ["auth", "me", "--help"],
      ["auth", "token", "--help"],
    ]) {
      const result = await runBinary(args, { env: { ...env, PIPEOPS_CONFIG_PATH: blocked } });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("Usage:");
      expect(result.stderr).toBe("");
    }
    expect(existsSync(join(dir, "no-such-dir"))).toBe(false);
    const login = await runBinary(["auth", "login", "--help"], { env });
    expect(login.stdout).toContain("--no-browser");
    expect(login.stdout).toContain("Display auth URL without opening browser");
    expect((await runBinary(["auth", "logout", "--help"], { env })).stdout).toContain("Skip confirmation prompt");
    // `pipeops help auth` and `pipeops auth help login` show the help they name.
    expect((await runBinary(["help", "auth"], { env })).stdout).toBe((await runBinary(["auth", "--help"], { env })).stdout);
    expect((await runBinary(["auth", "help", "login"], { env })).stdout).toBe(login.stdout);
  });

  test("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const result = await runBinary(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith(`pipeops ${pkg.version} `);
  });

  test.each([
    [["deploy"], "Error: unknown command 'deploy'"],
    [["auth", "signin"], "Error: unknown command 'auth signin'"],
    [["auth", "status", "--bogus"], "Error: unknown option '--bogus'"],
    [["auth", "status", "extra"], "Error: auth status takes no arguments"],
    [["auth", "login", "--timeout", "soon"], "Error: --timeout must be a positive number of seconds, got 'soon'"],
    [["auth", "login", "--no-brower"], "Error: unknown option '--no-brower'; did you mean --no-browser?"],
    [["auth", "lgoin"], "Error: unknown command 'auth lgoin'; did you mean 'auth login'?"],
    [["token"], "Error: unknown command 'token'; did you mean 'auth token'?"],
    [["logn"], "Error: unknown command 'logn'; did you mean 'login'?"],
    [["auth", "whoam"], "Error: unknown command 'auth whoam'; did you mean 'auth whoami'?"],
    [["--bogus"], "Error: unknown option '--bogus'"],
    [
      ["auth", "login", "pipeops_SECRET_abc123"],
      "Error: auth login takes no arguments; to log in with a token, pipe it in: pipeops auth login --with-token < token.txt",
    ],
  ])("%p is a usage error (exit 2)", async (args, message) => {
    const result = await runBinary(args, { env: home().env });
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(message);
    expect(result.stdout).toBe("");
  });
});

describe("at a terminal", () => {
  /** The exit code and everything the terminal showed (its driver turns "\n" into "\r\n"). */
  async function inTerminal(args: string[], env: Record<string, string>) {
    const cli = spawnInTerminal(args, env);
    try {
      const code = await cli.exited;
      return { code, screen: cli.screen() };
    } finally {
      cli.close();
    }
  }

  test("status and errors are our text in our colours, with nothing the runtime adds", async () => {
    const { env } = home();
    expect(await inTerminal(["auth", "status"], env)).toEqual({
      code: 1,
      screen: "\u001b[31m✗\u001b[39m Not authenticated\r\nRun 'pipeops auth login' to authenticate\r\n",
    });
    expect(await inTerminal(["auth", "nope"], env)).toEqual({
      code: 2,
      screen: "\u001b[31mError:\u001b[39m unknown command 'auth nope'\r\nRun 'pipeops auth --help' for the auth commands\r\n",
    });
  });

  test("token: the token as it is, and a warning in its colour though the token paints nothing", async () => {
    const { env, path } = loggedIn();
    expect(await inTerminal(["auth", "token"], env)).toEqual({ code: 0, screen: `${tokens.access_token}\r\n` });
    // The colours load as the warning is written (src/context.ts), not before the command.
    chmodSync(path, 0o644);
    expect(await inTerminal(["auth", "token"], env)).toEqual({
      code: 0,
      screen: `\u001b[33mWarning:\u001b[39m config file ${path} is readable by other users\r\nRun 'chmod 600 ${path}' to protect it\r\n${tokens.access_token}\r\n`,
    });
  });

  test("logout: the spec's example, as the terminal shows it", async () => {
    const { env, path } = loggedIn();
    const cli = spawnInTerminal(["auth", "logout"], { ...env, NO_COLOR: "1" });
    try {
      await cli.waitForScreen(/\[y\/N\] $/);
      cli.type("y\r");
      expect(await cli.exited).toBe(0);
      // The "y" is the terminal's echo of the answer, as in the spec.
      expect(cli.screen()).toBe("Are you sure you want to logout? [y/N] y\r\n✓ Successfully logged out\r\n");
      expect(JSON.parse(readFileSync(path, "utf8")).auth_token).toBeUndefined();
    } finally {
      cli.close();
    }
  });

  test("NO_COLOR, FORCE_COLOR=0 and FORCE_COLOR=false: plain text on the terminal too", async () => {
    const { env } = home();
    for (const off of [{ NO_COLOR: "1" }, { FORCE_COLOR: "0" }, { FORCE_COLOR: "false" }] as Record<string, string>[]) {
      expect(await inTerminal(["auth", "me"], { ...env, ...off })).toEqual({
        code: 1,
        screen: "Error: not authenticated\r\nRun 'pipeops auth login' to authenticate\r\n",
      });
    }
    // The control: the same terminal gets colour without them.
    expect((await inTerminal(["auth", "me"], env)).screen).toStartWith("\u001b[31mError:\u001b[39m not authenticated");
  });
});

describe("tokens that cannot be bearer tokens, and tokens from the environment", () => {
  const MALFORMED = ["abc\r\nX-Evil: 1", "two words", "tab\there", "ünïcode", "a".repeat(16 * 1024 + 1)];

  test("a malformed token in the file: the spec's invalid-token error before any request; token never prints it", async () => {
    for (const bad of MALFORMED) {
      const { env } = loggedIn({ auth_token: bad });
      const before = server.stats.userinfoRequests;
      for (const command of ["status", "me", "token"]) {
        const result = await runBinary(["auth", command], { env });
        expect(result).toEqual({ code: 1, stdout: "", stderr: "Error: invalid authentication token\nRun 'pipeops auth login' to re-authenticate\n" });
      }
      expect(server.stats.userinfoRequests).toBe(before);
    }
  });

  test("a malformed token in the environment: the hint names the variable, which no login can override", async () => {
    const { env } = home();
    for (const variable of ["PIPEOPS_AUTH_TOKEN", "PIPEOPS_TOKEN"]) {
      const result = await runBinary(["auth", "token"], { env: { ...env, PIPEOPS_API_URL: server.url, [variable]: "two words" } });
      expect(result).toEqual({ code: 1, stdout: "", stderr: `Error: invalid authentication token\nUnset ${variable} or set it to a valid token\n` });
    }
    // Bytes that are not UTF-8, as a shell can put them in the environment.
    const child = Bun.spawnSync(["sh", "-c", `PIPEOPS_AUTH_TOKEN="$(printf 'ab\\377cd')" exec '${BINARY}' auth token`], {
      env: { PATH: process.env.PATH!, ...env },
    });
    expect(child.exitCode).toBe(1);
    expect(child.stdout.length).toBe(0);
    expect(child.stderr.toString()).toBe("Error: invalid authentication token\nUnset PIPEOPS_AUTH_TOKEN or set it to a valid token\n");
  });

  test("a token the server refuses, from the environment: the hint names the variable", async () => {
    const { env } = home();
    const result = await runBinary(["auth", "me"], { env: { ...env, PIPEOPS_API_URL: server.url, PIPEOPS_TOKEN: "not-a-real-token" } });
    expect(result).toEqual({ code: 1, stdout: "", stderr: "Error: invalid authentication token\nUnset PIPEOPS_TOKEN or set it to a valid token\n" });
  });

  test("PIPEOPS_TOKEN (the Go CLI's name) authenticates; PIPEOPS_AUTH_TOKEN wins when both are set", async () => {
    const { env, path } = home();
    const viaGoName = await runBinary(["auth", "status"], { env: { ...env, PIPEOPS_API_URL: server.url, PIPEOPS_TOKEN: tokens.access_token } });
    expect(viaGoName).toEqual({ code: 0, stdout: `✓ Authenticated as user@example.com\nServer: ${server.url}\n`, stderr: "" });
    const both = await runBinary(["auth", "token"], {
      env: { ...env, PIPEOPS_API_URL: server.url, PIPEOPS_TOKEN: "other-token", PIPEOPS_AUTH_TOKEN: tokens.access_token },
    });
    expect(both.stdout).toBe(`${tokens.access_token}\n`);
    expect(existsSync(path)).toBe(false);
  });
});

describe("server URLs", () => {
  test("PIPEOPS_API_URL that is not http(s) says so, instead of 'refusing to connect to null'", async () => {
    const { env } = loggedIn();
    for (const url of ["javascript:alert(1)", "file:///etc/passwd", "ftp://example.com"]) {
      const result = await runBinary(["auth", "me"], { env: { ...env, PIPEOPS_API_URL: url } });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`Error: PIPEOPS_API_URL must be an http(s) URL: '${url}'\nSet it to e.g. https://api.pipeops.io\n`);
    }
    const garbage = await runBinary(["auth", "me"], { env: { ...env, PIPEOPS_API_URL: "not a url" } });
    expect(garbage.stderr).toBe("Error: PIPEOPS_API_URL is not a valid URL: 'not a url'\nSet it to e.g. https://api.pipeops.io\n");
  });
});

describe("auth login --token (the official CLI's flag, which its GitHub Action passes)", () => {
  const WARNING =
    "Warning: a token given with --token can be seen by other users of this machine and stays in your shell history\n" +
    "Use 'pipeops auth login --with-token < token.txt' or set PIPEOPS_AUTH_TOKEN instead\n";

  test("--token VALUE and --token=VALUE: checked with the server, stored, the spec's line, and one warning", async () => {
    for (const args of [["--token", tokens.access_token], [`--token=${tokens.access_token}`]]) {
      const { env, path } = home();
      const result = await runBinary(["auth", "login", ...args], { env: { ...env, PIPEOPS_API_URL: server.url } });
      expect(result).toEqual({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n", stderr: WARNING });
      expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ auth_token: tokens.access_token, api_url: server.url });
    }
  });

  test("a token the server rejects, or one that cannot be a token: nothing stored, the spec's error with a hint about that token, the value never shown", async () => {
    for (const token of ["not-a-real-token-0123456789", "with a space", "x".repeat(20_000)]) {
      const { env, path } = home();
      const result = await runBinary(["auth", "login", "--token", token], { env: { ...env, PIPEOPS_API_URL: server.url } });
      expect(result).toEqual({ code: 1, stdout: "", stderr: `Error: invalid authentication token\n${TOKEN_REFUSED("--token")}\n` });
      expect(existsSync(path)).toBe(false);
    }
  });

  test("--token beside --with-token, --browser or --no-browser is a usage error, exit 2, naming both and neither value", async () => {
    for (const other of ["--with-token", "--browser", "--no-browser"]) {
      const { env } = home();
      const result = await runBinary(["auth", "login", "--token", "secret-value-1234", other], { env: { ...env, PIPEOPS_API_URL: server.url } });
      expect(result).toEqual({
        code: 2,
        stdout: "",
        stderr: `Error: --token and ${other} cannot be used together\nRun 'pipeops auth login --help' for usage\n`,
      });
    }
  });
});

describe("the official CLI's names", () => {
  test("login, status, me, whoami, userinfo and logout at the top level, and whoami and userinfo under auth: the same output and exit code as the auth commands", async () => {
    const { env } = loggedIn();
    const pairs: [string[], string[]][] = [
      [["status"], ["auth", "status"]],
      [
        ["status", "--json"],
        ["auth", "status", "--json"],
      ],
      [["me"], ["auth", "me"]],
      [["whoami"], ["auth", "me"]],
      [
        ["userinfo", "--json"],
        ["auth", "me", "--json"],
      ],
      [
        ["auth", "whoami"],
        ["auth", "me"],
      ],
      [
        ["auth", "userinfo"],
        ["auth", "me"],
      ],
    ];
    for (const [shortcut, canonical] of pairs) {
      const [a, b] = await Promise.all([runBinary(shortcut, { env }), runBinary(canonical, { env })]);
      expect(a.code).toBe(0);
      expect(a).toEqual(b);
    }
    const login = await runBinary(["login", "--with-token"], { env: { ...home().env, PIPEOPS_API_URL: server.url }, stdin: tokens.access_token });
    expect(login).toEqual({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n", stderr: "" });
    const logout = await runBinary(["logout", "-f"], { env });
    expect(logout).toEqual({ code: 0, stdout: "✓ Successfully logged out\n", stderr: "" });
  });

  test("help: pipeops --help lists them as shortcuts; pipeops login --help is auth login's; logout shows -f", async () => {
    const { env } = home();
    const root = await runBinary(["--help"], { env });
    expect(root.stdout).toContain("Shortcuts (the official PipeOps CLI's names):\n  login, logout, status, me    the same as 'pipeops auth <command>'\n");
    for (const flag of ["--config <file>", "--quiet", "--verbose"]) expect(root.stdout).toContain(`  ${flag} `);
    const [short, long] = await Promise.all([runBinary(["login", "--help"], { env }), runBinary(["auth", "login", "--help"], { env })]);
    expect(short).toEqual(long);
    expect((await runBinary(["logout", "--help"], { env })).stdout).toContain("  -f, --force ");
  });
});

describe("the official CLI's global flags", () => {
  test("--config FILE before or after the command, or --config=FILE: the credential file to use, winning over PIPEOPS_CONFIG_PATH", async () => {
    const { path: elsewhere } = loggedIn();
    const { env } = home();
    const decoyPath = join(tempDir(), "other.json");
    for (const args of [
      ["--config", elsewhere, "auth", "status"],
      ["auth", "status", "--config", elsewhere],
      ["status", `--config=${elsewhere}`],
    ]) {
      const result = await runBinary(args, { env: { ...env, PIPEOPS_CONFIG_PATH: decoyPath } });
      expect(result.code).toBe(0);
      expect(result.stdout).toStartWith("✓ Authenticated as user@example.com\n");
    }
    // A login writes where --config says.
    const target = join(tempDir(), "ci.json");
    const login = await runBinary(["login", "--with-token", "--config", target], { env: { ...env, PIPEOPS_API_URL: server.url }, stdin: tokens.access_token });
    expect(login.code).toBe(0);
    expect(JSON.parse(readFileSync(target, "utf8")).auth_token).toBe(tokens.access_token);
    expect(existsSync(decoyPath)).toBe(false);
  });

  test("--config without a file is a usage error", async () => {
    for (const args of [
      ["auth", "status", "--config"],
      ["--config=", "status"],
      ["--config", "--json", "status"],
    ]) {
      const result = await runBinary(args, { env: home().env });
      expect(result).toEqual({ code: 2, stdout: "", stderr: "Error: flag --config needs a value: --config <file>\nRun 'pipeops --help' for usage\n" });
    }
  });

  test("--quiet: only the essential line, and errors; no warnings", async () => {
    const { env } = loggedIn();
    expect(await runBinary(["status", "--quiet"], { env })).toEqual({ code: 0, stdout: "✓ Authenticated as user@example.com\n", stderr: "" });
    const login = await runBinary(["auth", "login", "--quiet", "--token", tokens.access_token], { env: { ...home().env, PIPEOPS_API_URL: server.url } });
    expect(login).toEqual({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n", stderr: "" });
    const none = await runBinary(["--quiet", "me"], { env: home().env });
    expect(none).toEqual({ code: 1, stdout: "", stderr: "Error: not authenticated\nRun 'pipeops auth login' to authenticate\n" });
  });

  test("--verbose or PIPEOPS_DEBUG=1: each request and the credentials used on stderr, every secret masked; stdout unchanged, so --json still parses", async () => {
    const quiet = await runBinary(["auth", "status", "--json"], { env: { ...loggedIn().env } });
    for (const extra of [["--verbose"], []]) {
      // An expired session of its own, so a refresh is traced too.
      const fresh = await loginWithAuthorizationCode(server);
      const { env, path } = loggedIn({ auth_token: fresh.access_token, refresh_token: fresh.refresh_token, expires_at: "2000-01-01T00:00:00Z" });
      const result = await runBinary(["auth", "status", "--json", ...extra], { env: extra.length ? env : { ...env, PIPEOPS_DEBUG: "1" } });
      expect(result.code).toBe(0);
      expect(Object.keys(JSON.parse(result.stdout))).toEqual(Object.keys(JSON.parse(quiet.stdout)));
      const trace = result.stderr.split("\n").filter((line) => line.startsWith("trace: "));
      expect(trace[0]).toMatch(/^trace: credentials: \/\S+\.pipeops\.json, pipeops' keys$/);
      // The refresh (a POST with the refresh token in its body) and userinfo (with the new token, masked).
      expect(trace.some((line) => /^trace: POST http:\/\/127\.0\.0\.1:\d+\/token -> 200 \(\d+ ms\)$/.test(line))).toBe(true);
      expect(trace.some((line) => /^trace: GET http:\/\/127\.0\.0\.1:\d+\/me \(Authorization: Bearer \*\*\*\*\) -> 200 \(\d+ ms\)$/.test(line))).toBe(true);
      const stored = JSON.parse(readFileSync(path, "utf8"));
      for (const secret of [fresh.access_token, fresh.refresh_token!, stored.auth_token, stored.refresh_token])
        expect(result.stderr).not.toContain(secret.slice(0, 16));
    }
  });
});
