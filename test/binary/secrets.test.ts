/**
 * Secret hygiene, end to end: every command runs with PIPEOPS_DEBUG=1 in the states a user meets
 * (fresh, expired and refreshed, rejected, server down, broken file, environment token, logins),
 * and its stdout, stderr, every file it wrote other than the credential file, and every URL it
 * requested are scanned for the access and refresh tokens. Only `auth token` prints one, on stdout.
 * The browser the CLI starts gets neither a token in its argv nor in its environment, and text from
 * the server cannot put a terminal escape on the user's screen.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type RunResult, runBinary, spawnBinary } from "../helpers/binary.ts";
import { homeWithFile, startPageTarget } from "../helpers/context.ts";
import { type FaultServer, faults, type Rule, refusingUrl, startFaultServer } from "../helpers/fault-server.ts";
import { approveDevice, completeAuthorization, loginWithAuthorizationCode, type TokenSet } from "../helpers/flows.ts";
import { waitForFile } from "../helpers/interactive.ts";
import { makeCertificates, startImpostor } from "../helpers/network.ts";

setDefaultTimeout(90_000);

const dev: DevServer = await startDevServer({ port: 0 });
// Passes everything through; it is here to record every URL the CLI requests.
const recorder: FaultServer = await startFaultServer(dev.url);

afterAll(async () => {
  await recorder.close();
  await dev.close();
});

const DEBUG = { PIPEOPS_DEBUG: "1", PIPEOPS_HTTP_TIMEOUT: "3" };

const ESCAPES = /[\u001b\u0007\u009b\u0090\u009d]/;

/** Outputs, files and URLs checked, and command runs: the figures in the README's Reliability section. */
let scans = 0;
let runs = 0;

/** stderr without the trace PIPEOPS_DEBUG=1 adds (which the scans check for secrets like everything else). */
const untraced = (stderr: string) => stderr.replace(/^trace: .*\n/gm, "");

/** Every 16-character piece of a secret: a truncated or wrapped token still counts as leaked. */
function pieces(secret: string): string[] {
  if (secret.length <= 16) return [secret];
  const out: string[] = [];
  for (let i = 0; i + 16 <= secret.length; i += 4) out.push(secret.slice(i, i + 16));
  return out;
}

function expectNoSecret(where: string, text: string, secrets: string[]): void {
  scans++;
  for (const secret of secrets) {
    for (const piece of pieces(secret)) {
      if (text.includes(piece)) throw new Error(`${where} contains a secret (${secret.slice(0, 6)}…): ${text.slice(0, 500)}`);
    }
  }
}

/** Files under `dir`, recursively, except the credential file. */
function otherFiles(dir: string, credentialFile: string): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path !== credentialFile) found.push(path);
    }
  };
  walk(dir);
  return found;
}

interface Home {
  dir: string;
  path: string;
  env: Record<string, string>;
}

/** A token the server never issued, sharing no 16-character piece with the real one. */
const reversed = (token: string) => [...token].reverse().join("");

function home(file?: Record<string, unknown> | string): Home {
  const made = homeWithFile(file, { prefix: "pipeops-secrets-" });
  return { ...made, env: { ...made.env, ...DEBUG } };
}

function session(tokens: TokenSet, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: "2099-01-01T00:00:00Z", api_url: recorder.url, ...extra };
}

/** Tokens now in the credential file (after a refresh or a login they are new ones). */
function storedSecrets(path: string): string[] {
  try {
    const data = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    return [data.auth_token, data.refresh_token].filter((value): value is string => typeof value === "string" && value.length > 0);
  } catch {
    return [];
  }
}

/**
 * Scans one run: stdout (unless it is `auth token`'s, which must be exactly the access token),
 * stderr, other files in HOME and the working folder, and the URLs requested.
 */
function scanRun(result: RunResult, where: Home, secrets: string[], options: { printsToken?: string; cwd?: string } = {}): void {
  const all = [...new Set([...secrets, ...storedSecrets(where.path)])].filter(Boolean);
  if (options.printsToken !== undefined) {
    expect(result.stdout).toBe(`${options.printsToken}\n`);
    expectNoSecret(
      "stdout of auth token",
      result.stdout,
      all.filter((secret) => secret !== options.printsToken),
    );
  } else {
    expectNoSecret("stdout", result.stdout, all);
  }
  expectNoSecret("stderr", result.stderr, all);
  expect(result.stderr).not.toMatch(/^\s+at .*:\d+/m);
  for (const file of [...otherFiles(where.dir, where.path), ...(options.cwd ? otherFiles(options.cwd, where.path) : [])]) {
    expectNoSecret(`file ${relative(where.dir, file)}`, readFileSync(file, "latin1"), all);
  }
  for (const request of recorder.requests) expectNoSecret(`request URL ${request.method} ${request.path.slice(0, 40)}`, request.path, all);
}

async function run(args: string[], where: Home, extraEnv: Record<string, string> = {}, stdin?: string): Promise<RunResult> {
  runs++;
  return runBinary(args, { env: { ...where.env, ...extraEnv }, stdin, cwd: where.dir, timeoutMs: 60_000 });
}

describe("with PIPEOPS_DEBUG=1, no command shows a token it should not", () => {
  test("status, me and token with a valid session, human and JSON", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const secrets = [tokens.access_token, tokens.refresh_token!];
    for (const args of [
      ["auth", "status"],
      ["auth", "status", "--json"],
      ["auth", "me"],
      ["auth", "me", "--json"],
      ["--help"],
      ["auth", "--help"],
      ["--version"],
      ["auth", "bogus"],
      ["auth", "status", "--bogus"],
    ]) {
      const where = home(session(tokens));
      recorder.use();
      const result = await run(args, where);
      scanRun(result, where, secrets);
    }
    const where = home(session(tokens));
    recorder.use();
    const result = await run(["auth", "token"], where);
    expect(result.code).toBe(0);
    scanRun(result, where, secrets, { printsToken: tokens.access_token });
  });

  test("an expired session is refreshed: neither the old nor the new tokens are shown (auth token shows the new access token only)", async () => {
    for (const command of ["status", "me", "token"]) {
      const tokens = await loginWithAuthorizationCode(dev);
      const where = home(session(tokens, { expires_at: "2020-01-01T00:00:00Z" }));
      recorder.use();
      const result = await run(["auth", command], where);
      expect(result.code).toBe(0);
      const [newAccess] = storedSecrets(where.path);
      expect(newAccess).not.toBe(tokens.access_token);
      scanRun(result, where, [tokens.access_token, tokens.refresh_token!], command === "token" ? { printsToken: newAccess } : {});
    }
  });

  /** Per command, the exit code, and for an `auth token` that succeeds the token it must print (known from the setup, not from its output). */
  interface Expected {
    status: number;
    me: number;
    token: number | { prints: (tokens: TokenSet) => string };
    logout: number;
  }
  type Setup = (tokens: TokenSet) => Promise<{ file: Record<string, unknown> | string; rules?: Rule[]; env?: Record<string, string> }>;
  const expired = { expires_at: "2020-01-01T00:00:00Z" };
  // `auth token` prints the stored access token when it needs no server (unexpired), whatever the server would say of it.
  const storedToken = { prints: (tokens: TokenSet) => tokens.access_token };
  const failures: [string, Setup, Expected][] = [
    [
      "a token the server rejects",
      async (tokens) => ({ file: session(tokens, { auth_token: reversed(tokens.access_token), refresh_token: undefined }) }),
      { status: 1, me: 1, token: { prints: (tokens) => reversed(tokens.access_token) }, logout: 0 },
    ],
    [
      "a refresh token the server refuses (invalid_grant)",
      async (tokens) => ({ file: session(tokens, { ...expired, refresh_token: reversed(tokens.refresh_token!) }) }),
      { status: 1, me: 1, token: 1, logout: 0 },
    ],
    [
      "a refresh answered with 503",
      async (tokens) => ({ file: session(tokens, expired), rules: [{ path: "/token", fault: faults.serverError(503) }] }),
      { status: 1, me: 1, token: 1, logout: 0 },
    ],
    [
      "a refresh answered with invalid JSON",
      async (tokens) => ({ file: session(tokens, expired), rules: [{ path: "/token", fault: faults.invalidJson() }] }),
      { status: 1, me: 1, token: 1, logout: 0 },
    ],
    [
      "a userinfo reset mid-body",
      async (tokens) => ({ file: session(tokens), rules: [{ path: "/me", fault: { kind: "reset" } }] }),
      { status: 1, me: 1, token: storedToken, logout: 0 },
    ],
    [
      "a server that refuses connections",
      async (tokens) => ({ file: session(tokens, { api_url: await refusingUrl() }) }),
      { status: 1, me: 1, token: storedToken, logout: 0 },
    ],
    [
      "a config file that is not JSON",
      async (tokens) => ({ file: `{"auth_token": ${tokens.access_token}, "refresh_token": "${tokens.refresh_token}"` }),
      { status: 1, me: 1, token: 1, logout: 1 },
    ],
    [
      "a config file with a wrong type",
      async (tokens) => ({ file: session(tokens, { expires_at: tokens.access_token }) }),
      { status: 1, me: 1, token: 1, logout: 1 },
    ],
    [
      "a config file with an invalid api_url",
      async (tokens) => ({ file: session(tokens, { api_url: `ftp://${tokens.access_token}` }) }),
      { status: 1, me: 1, token: 1, logout: 1 },
    ],
    [
      "a PIPEOPS_API_URL that is not https",
      async (tokens) => ({ file: session(tokens), env: { PIPEOPS_API_URL: `http://${tokens.access_token.slice(0, 20)}.example.com` } }),
      { status: 1, me: 1, token: 1, logout: 0 },
    ],
  ];

  test.each(failures)("failures: %s", async (_name, setup, expected) => {
    const tokens = await loginWithAuthorizationCode(dev);
    const secrets = [tokens.access_token, tokens.refresh_token!, reversed(tokens.access_token), reversed(tokens.refresh_token!)];
    for (const [command, want] of [
      ["status", expected.status],
      ["me", expected.me],
      ["token", expected.token],
      ["logout --force", expected.logout],
    ] as const) {
      const { file, rules = [], env = {} } = await setup(tokens);
      const where = home(file);
      recorder.use(...rules);
      const result = await run(["auth", ...command.split(" ")], where, env);
      expect({ command, code: result.code }).toEqual({ command, code: typeof want === "number" ? want : 0 });
      if (result.code !== 0) expect(result.stderr).toMatch(/^Error: /m);
      if (typeof want === "number") {
        scanRun(result, where, secrets);
        continue;
      }
      // The token it prints is the one the setup stored, never a refresh token: every other secret is still looked for.
      const printed = want.prints(tokens);
      expect([tokens.refresh_token, reversed(tokens.refresh_token!)]).not.toContain(printed);
      scanRun(result, where, secrets, { printsToken: printed });
    }
  });

  test("PIPEOPS_AUTH_TOKEN: shown by auth token only", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const fileTokens = await loginWithAuthorizationCode(dev);
    const secrets = [tokens.access_token, fileTokens.access_token, fileTokens.refresh_token!];
    for (const args of [
      ["auth", "status"],
      ["auth", "me", "--json"],
      ["auth", "logout", "--force"],
      ["auth", "token"],
    ]) {
      const where = home(session(fileTokens));
      recorder.use();
      const result = await run(args, where, { PIPEOPS_AUTH_TOKEN: tokens.access_token, PIPEOPS_API_URL: recorder.url });
      expect(result.code).toBe(0);
      scanRun(result, where, secrets, args[1] === "token" ? { printsToken: tokens.access_token } : {});
    }
  });

  test("logout --revoke sends the tokens in request bodies only", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const where = home(session(tokens));
    recorder.use();
    const result = await run(["auth", "logout", "--force", "--revoke"], where);
    expect(result.code).toBe(0);
    expect(recorder.requests.some((request) => request.body.includes(tokens.refresh_token!))).toBe(true);
    scanRun(result, where, [tokens.access_token, tokens.refresh_token!]);
  });

  test("login --with-token reads the token from stdin and never echoes it, accepted or refused", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    for (const token of [tokens.access_token, reversed(tokens.access_token)]) {
      const where = home();
      recorder.use();
      const result = await run(["auth", "login", "--with-token"], where, { PIPEOPS_API_URL: recorder.url }, `${token}\n`);
      expect(result.code).toBe(token === tokens.access_token ? 0 : 1);
      scanRun(result, where, [token]);
    }
  });

  test("device login: the new tokens are stored, not shown", async () => {
    const where = home({ auth_token: "old-secret-access-token-0123456789", refresh_token: "old-secret-refresh-token-0123456789", api_url: recorder.url });
    recorder.use();
    runs++;
    const cli = spawnBinary(["auth", "login", "--no-browser"], { env: { ...where.env } });
    const [, url] = await cli.waitForStderr(/Please open this URL in your browser to authenticate:\n(\S+)\n/);
    await approveDevice(url!);
    const result = await cli.result;
    expect(result.code).toBe(0);
    scanRun(result, where, ["old-secret-access-token-0123456789", "old-secret-refresh-token-0123456789"]);
  });
});

describe("the browser the CLI starts", () => {
  test("gets one argument, a page only the user can read, and neither the sign-in's state, its challenge nor a token in its argv or environment", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const envToken = await loginWithAuthorizationCode(dev);
    const where = home(session(tokens));
    const dump = join(where.dir, "browser-dump");
    const browser = join(where.dir, "browser.sh");
    // What every other local user can read of the browser (its argv and environment), and the modes of the page it is given.
    writeFileSync(
      browser,
      `#!/bin/sh\n{ echo "argc=$#"; for arg in "$@"; do echo "arg=$arg"; done; env; page=\${1#file://}; echo "modes=$(stat -c %a "$page") $(stat -c %a "$(dirname "$page")")"; cat "$page"; } > '${dump}.tmp' && mv '${dump}.tmp' '${dump}'\n`,
    );
    chmodSync(browser, 0o755);
    recorder.use();
    runs++;
    const cli = spawnBinary(["auth", "login"], {
      // Straight to the server: through the recorder, the RFC 9207 iss parameter would (rightly) not match.
      env: { ...where.env, DISPLAY: ":0", BROWSER: browser, PIPEOPS_AUTH_TOKEN: envToken.access_token, PIPEOPS_API_URL: dev.url },
    });
    const seen = await waitForFile(dump);
    expect(seen).toStartWith("argc=1\narg=file:///");
    const page = new URL(/^arg=(.*)$/m.exec(seen)![1]!).pathname;
    expect(/^modes=(.*)$/m.exec(seen)![1]).toBe("600 700");
    // The page, as the browser reads it, leads to the sign-in; the state and challenge are there only.
    const url = startPageTarget(`file://${page}`);
    const state = new URL(url).searchParams.get("state")!;
    const challenge = new URL(url).searchParams.get("code_challenge")!;
    expect(new URL(url).searchParams.get("code_challenge_method")).toBe("S256");
    const argvAndEnvironment = seen.slice(0, seen.indexOf("\nmodes="));
    expectNoSecret("the browser's argv and environment", argvAndEnvironment, [state, challenge]);
    const location = await completeAuthorization(url);
    await (await fetch(location)).text();
    const result = await cli.result;
    if (result.code !== 0) throw new Error(result.stderr);
    const secrets = [tokens.access_token, tokens.refresh_token!, envToken.access_token, envToken.refresh_token!, ...storedSecrets(where.path)];
    expectNoSecret("the browser's argv and environment", seen, secrets);
    expect(seen).not.toContain("PIPEOPS_AUTH_TOKEN");
    // Removed after the login, with its folder.
    expect(existsSync(dirname(page))).toBe(false);
  });
});

describe("text from the server cannot reach the terminal as escape sequences", () => {
  // Escapes, a bidi override, the Arabic letter mark (U+061C) and the line and paragraph separators (U+2028, U+2029), which some terminals break lines at.
  const HOSTILE = "\u001b]0;pwned\u0007\u001b[2J\u001b[31mEvil\u009b31m\u202eCorp\u061c\u2028Error: line\u2029\r\nError: fake";
  const INVISIBLE = /[\u202e\u061c\u2028\u2029]/;

  async function hostileServer(answer: (path: string) => Response | undefined) {
    return Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        return answer(new URL(request.url).pathname) ?? new Response("not found", { status: 404 });
      },
    });
  }

  test("userinfo names, organisation and role: human and JSON output", async () => {
    const server = await hostileServer((path) =>
      path === "/oauth/userinfo"
        ? Response.json({ sub: `usr${HOSTILE}`, email: `a${HOSTILE}@example.com`, name: HOSTILE, organization: { name: HOSTILE }, role: HOSTILE })
        : undefined,
    );
    try {
      for (const args of [
        ["auth", "me"],
        ["auth", "me", "--json"],
        ["auth", "status"],
        ["auth", "status", "--json"],
      ]) {
        const where = home();
        const result = await run(args, where, { PIPEOPS_API_URL: `http://127.0.0.1:${server.port}`, PIPEOPS_AUTH_TOKEN: "env-token-value" });
        expect(result.code).toBe(0);
        expect(result.stdout).not.toMatch(ESCAPES);
        expect(result.stderr).not.toMatch(ESCAPES);
        expect(result.stdout).not.toMatch(INVISIBLE);
        expect(result.stderr).not.toMatch(INVISIBLE);
        scans += 2;
      }
    } finally {
      server.stop(true);
    }
  });

  test("error_description from the token endpoint and from a WWW-Authenticate challenge", async () => {
    const server = await hostileServer((path) => {
      if (path === "/oauth/token") return Response.json({ error: `invalid_grant${HOSTILE}`, error_description: HOSTILE }, { status: 400 });
      if (path === "/oauth/userinfo") {
        return new Response("", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token", error_description="[2J]0;pwned"' } });
      }
      return undefined;
    });
    try {
      for (const command of ["status", "me", "token"]) {
        const where = home({
          auth_token: "at-value-123",
          refresh_token: "rt-value-123",
          expires_at: "2020-01-01T00:00:00Z",
          api_url: `http://127.0.0.1:${server.port}`,
        });
        const result = await run(["auth", command], where);
        expect(result.code).toBe(1);
        expect(untraced(result.stderr)).toStartWith("Error: ");
        expect(result.stdout + result.stderr).not.toMatch(ESCAPES);
        scans += 2;
      }
      // A 401 is the spec's invalid-token error; the challenge's own text is not shown.
      const where = home({ auth_token: "at-value-123", api_url: `http://127.0.0.1:${server.port}` });
      const result = await run(["auth", "me"], where, { PIPEOPS_DEBUG: "0" });
      expect(result.stderr).toBe("Error: invalid authentication token\nRun 'pipeops auth login' to re-authenticate\n");
    } finally {
      server.stop(true);
    }
  });

  test("a header carrying control characters is refused as a broken answer", async () => {
    const server = await hostileServer((path) =>
      path === "/oauth/userinfo" ? new Response("{}", { status: 401, headers: { "www-authenticate": 'Bearer error_description="\u001b[2J"' } }) : undefined,
    );
    try {
      const where = home({ auth_token: "at-value-123", api_url: `http://127.0.0.1:${server.port}` });
      const result = await run(["auth", "me"], where, { PIPEOPS_DEBUG: "0" });
      expect(result.code).toBe(1);
      // The error, and the network error's second line that says what to check.
      expect(result.stderr).toMatch(/^Error: [^\n]*\nCheck that [^\n]*\n$/);
      expect(result.stderr).not.toMatch(ESCAPES);
      scans += 1;
    } finally {
      server.stop(true);
    }
  });

  test("device URLs carrying escapes or bidi controls are refused, never shown; an odd but clean one is shown in its serialised form", async () => {
    let answer: Record<string, unknown> = {};
    const server = await hostileServer((path) => {
      if (path === "/.well-known/oauth-authorization-server") {
        const base = `http://127.0.0.1:${server.port}`;
        return Response.json({ issuer: base, token_endpoint: `${base}/oauth/token`, device_authorization_endpoint: `${base}/oauth/device/code` });
      }
      if (path === "/oauth/device/code") return Response.json({ device_code: "dc", user_code: "ABCD-EFGH", expires_in: 60, interval: 1, ...answer });
      if (path === "/oauth/token") return Response.json({ error: "access_denied" }, { status: 400 });
      return undefined;
    });
    try {
      const hostile = [
        ["verification_uri", "http://127.0.0.1:9/device?\u001b]0;pwned\u0007\u001b[2J"],
        ["verification_uri_complete", "http://127.0.0.1:9/device?code=\u001b[31mFAKE"],
        ["verification_uri", "http://127.0.0.1:9/\u202eevil"],
        ["verification_uri_complete", "http://127.0.0.1:9/x\u009b31m"],
      ] as const;
      for (const [key, url] of hostile) {
        answer = { verification_uri: "http://127.0.0.1:9/device", [key]: url };
        const result = await run(["auth", "login", "--no-browser"], home(), { PIPEOPS_API_URL: `http://127.0.0.1:${server.port}` });
        expect(result.code).toBe(1);
        expect(result.stdout + result.stderr).not.toMatch(ESCAPES);
        expect(result.stdout + result.stderr).not.toContain("\u202e");
        expect(result.stderr).toContain(`sent an invalid device authorization response (${key})`);
        scans += 2;
      }
      // Spaces and non-ASCII text are no escape: shown as the URL serialises them, percent-encoded.
      answer = { verification_uri: "http://127.0.0.1:9/appareil?nom=é t" };
      const odd = await run(["auth", "login", "--no-browser"], home(), { PIPEOPS_API_URL: `http://127.0.0.1:${server.port}` });
      expect(odd.stderr).toContain("http://127.0.0.1:9/appareil?nom=%C3%A9%20t\n");
    } finally {
      server.stop(true);
    }
  });

  test("a device login whose server sends escapes in its error", async () => {
    const server = await hostileServer((path) => {
      // A standards server, which publishes its device endpoint (the PipeOps API has none).
      if (path === "/.well-known/oauth-authorization-server") {
        const base = `http://127.0.0.1:${server.port}`;
        return Response.json({ issuer: base, token_endpoint: `${base}/oauth/token`, device_authorization_endpoint: `${base}/oauth/device/code` });
      }
      if (path === "/oauth/device/code") {
        return Response.json({ device_code: "dc", user_code: "ABCD-EFGH", verification_uri: "http://127.0.0.1:9/device", expires_in: 60, interval: 1 });
      }
      if (path === "/oauth/token") return Response.json({ error: "access_denied", error_description: HOSTILE }, { status: 400 });
      return undefined;
    });
    try {
      const where = home();
      const result = await run(["auth", "login", "--no-browser"], where, { PIPEOPS_API_URL: `http://127.0.0.1:${server.port}` });
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).not.toMatch(ESCAPES);
      scans += 2;
    } finally {
      server.stop(true);
    }
  });
});

test("secret scans performed", () => {
  // Reported in the README's Reliability section; a drop means a scan silently stopped running.
  expect(scans).toBeGreaterThan(150);
  expect(runs).toBeGreaterThan(60);
  console.log(`secrets.test.ts: ${runs} command runs, ${scans} scans`);
});

describe("environment variables that would change how the runtime fetches", () => {
  test("BUN_CONFIG_VERBOSE_FETCH (curl, 1, true): the runtime logs no request, so no token, old or new, while a session is refreshed", async () => {
    for (const value of ["curl", "1", "true"]) {
      for (const command of ["status", "token"]) {
        const tokens = await loginWithAuthorizationCode(dev);
        const where = home(session(tokens, { expires_at: "2020-01-01T00:00:00Z" }));
        recorder.use();
        const result = await run(["auth", command], where, { BUN_CONFIG_VERBOSE_FETCH: value });
        expect(result.code).toBe(0);
        const [newAccess, newRefresh] = storedSecrets(where.path);
        // The runtime's own log starts its lines with "[fetch]", "curl" or the request line.
        expect(result.stderr).not.toMatch(/\[fetch\]|^curl |HTTP\/1\.1 (GET|POST)/m);
        scanRun(result, where, [tokens.access_token, tokens.refresh_token!, newRefresh!], command === "token" ? { printsToken: newAccess } : {});
      }
    }
  });

  test("NODE_TLS_REJECT_UNAUTHORIZED=0 turns no certificate check off: a server with a self-signed certificate for another name gets no token, and one line says the variable is ignored", async () => {
    const impostor = startImpostor(makeCertificates());
    try {
      const tokens = await loginWithAuthorizationCode(dev);
      const where = home({});
      const env = { NODE_TLS_REJECT_UNAUTHORIZED: "0", PIPEOPS_API_URL: impostor.url, PIPEOPS_AUTH_TOKEN: tokens.access_token };
      const result = await run(["auth", "status"], where, env);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(untraced(result.stderr).split("\n").slice(0, 2)).toEqual([
        "Warning: NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored: pipeops always verifies TLS certificates",
        "To trust a company CA, point NODE_EXTRA_CA_CERTS at its certificate",
      ]);
      expect(result.stderr).toContain("Error: could not verify the TLS certificate of localhost: it is not signed by a trusted authority");
      expect(impostor.seen).toEqual([]);
    } finally {
      await impostor.stop();
    }
  });
});

describe("a debugger the runtime opened before pipeops started", () => {
  test("BUN_INSPECT, BUN_INSPECT_CONNECT_TO or --inspect in BUN_OPTIONS: auth commands refuse before reading any credential; help and --version still answer", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    for (const [variable, value] of [
      ["BUN_INSPECT", "127.0.0.1:0"],
      ["BUN_INSPECT_CONNECT_TO", "ws://127.0.0.1:1/x"],
      ["BUN_OPTIONS", "--inspect=127.0.0.1:0"],
    ] as const) {
      for (const command of ["status", "token"]) {
        const where = home(session(tokens));
        const result = await run(["auth", command], where, { [variable]: value });
        expect([result.code, result.stdout]).toEqual([2, ""]);
        // (run() sets PIPEOPS_DEBUG=1, whose line follows.)
        expect(result.stderr).toStartWith(
          `Error: ${variable} is set: the runtime opened a debugger that could read your tokens\nUnset ${variable} to run pipeops\n`,
        );
      }
      const version = await run(["--version"], home(), { [variable]: value });
      expect(version.code).toBe(0);
    }
  });
});
