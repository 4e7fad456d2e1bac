/**
 * The compiled binary against the PipeOps-shaped local server (scripts/pipeops-server.ts), with the
 * CLI's own defaults (no PIPEOPS_CLIENT_ID): browser login, --no-browser with a pasted address,
 * status, me, token, refresh, a spent refresh token, a refused code exchange, PIPEOPS_TOKEN, and
 * logout --revoke, as production would answer them.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { PORTS_TAKEN_HINT, portsTakenLine } from "../../src/errors.ts";
import { authorizationCodeLogin } from "../../src/login/browser.ts";
import { loginReporter } from "../../src/login/progress.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { connect } from "../../src/server/connect.ts";
import { runBinary, spawnBinary, TOKEN_REFUSED } from "../helpers/binary.ts";
import { testContext } from "../helpers/context.ts";
import { completeAuthorization, pipeopsLogin } from "../helpers/flows.ts";
import { fakeBrowser, fileMode, portClosed, readConfig, spawnInTerminal, tempHome, waitForFile } from "../helpers/interactive.ts";

setDefaultTimeout(60_000);

let server: PipeOpsServer;
/** The same API answering with the token in data.token and errors as plain text, and one that hands the token over on the callback. */
let envelopeServer: PipeOpsServer;
let directServer: PipeOpsServer;

beforeAll(async () => {
  [server, envelopeServer, directServer] = await Promise.all([
    startPipeOpsServer(),
    startPipeOpsServer({ tokenShape: "envelope", plainTextErrors: true }),
    startPipeOpsServer({ directToken: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.close(), envelopeServer?.close(), directServer?.close()]);
});

const envFor = (s: PipeOpsServer) => ({ PIPEOPS_API_URL: s.url, PIPEOPS_DASHBOARD_URL: s.consoleUrl });
const BROWSER_PROMPT = /If the browser does not open, visit:\n(\S+)\n\nWaiting for authentication\.\.\.\n/;

function loggedIn(s: PipeOpsServer, file: Record<string, unknown>) {
  const { env, configPath, home } = tempHome();
  writeFileSync(configPath, JSON.stringify({ api_url: s.url, ...file }), { mode: 0o600 });
  return { env: { ...env, ...envFor(s) }, configPath, home };
}

/** `pipeops auth login` with BROWSER recording the URL; returns the URL the browser was given. */
async function browserLogin(s: PipeOpsServer) {
  const { env, home, configPath } = tempHome();
  const urlFile = join(home, "browser-url");
  const cli = spawnBinary(["auth", "login"], { env: { ...env, ...envFor(s), DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile) } });
  const url = new URL(await waitForFile(urlFile));
  return { cli, url, configPath };
}

describe("browser login against the PipeOps API", () => {
  test("the console's sign-in page with the production client, PKCE, oauth=true and a localhost redirect; tokens stored 0600", async () => {
    const { cli, url, configPath } = await browserLogin(server);
    expect(`${url.origin}${url.pathname}`).toBe(`${server.consoleUrl}/auth/signin`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "pipeops_public_client",
      scope: "openid profile email",
      code_challenge_method: "S256",
      oauth: "true",
    });
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/localhost:\d+\/callback$/);
    expect(url.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [, printed] = await cli.waitForStderr(BROWSER_PROMPT);
    expect(printed).toBe(url.href);

    // The console sends the state back without its padding; the browser lands on the CLI.
    const back = await completeAuthorization(url.href);
    const page = await fetch(back);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Authentication complete");
    const result = await cli.result;
    expect(result).toMatchObject({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n" });
    const stored = readConfig(configPath)!;
    expect(Object.keys(stored).sort()).toEqual(["api_url", "auth_token", "expires_at", "refresh_token"]);
    expect(stored.api_url).toBe(server.url);
    expect(fileMode(configPath)).toBe(0o600);
    expect(await portClosed(Number(new URL(back).port))).toBe(true);
  });

  test("a refused code exchange: the server's own message, nothing stored, the page says it failed", async () => {
    const { cli, url, configPath } = await browserLogin(server);
    const back = new URL(await completeAuthorization(url.href));
    back.searchParams.set("code", "code_not_issued");
    const page = await fetch(back);
    expect(await page.text()).toContain("Authentication was denied");
    const result = await cli.result;
    expect(result.code).toBe(1);
    expect(result.stderr).toEndWith("Error: PipeOps refused the sign-in: invalid or expired authorization code\nRun 'pipeops auth login' to try again\n");
    expect(existsSync(configPath)).toBe(false);
  });

  test("the token in data.token, and a refusal as plain text, are read as production sends them", async () => {
    const ok = await browserLogin(envelopeServer);
    await fetch(await completeAuthorization(ok.url.href));
    expect((await ok.cli.result).stdout).toBe("✓ Successfully authenticated as user@example.com\n");
    // A JWT: the CLI asks for token_format jwt, as the official CLI does, and production then issues one.
    expect(readConfig(ok.configPath)!.auth_token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);

    const refused = await browserLogin(envelopeServer);
    const back = new URL(await completeAuthorization(refused.url.href));
    back.searchParams.set("code", "code_not_issued");
    await fetch(back);
    expect((await refused.cli.result).stderr).toContain("Error: PipeOps refused the sign-in: invalid or expired authorization code\n");
  });

  test("a token handed over on the callback is not taken from it: the browser is asked to paste its address, and the pasted token is stored once userinfo accepts it", async () => {
    const { env, home, configPath } = tempHome();
    const urlFile = join(home, "browser-url");
    const cli = spawnBinary(["auth", "login"], { env: { ...env, ...envFor(directServer), DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile) }, stdin: "pipe" });
    const back = await completeAuthorization(await waitForFile(urlFile));
    const page = await fetch(back);
    expect(await page.text()).toContain("paste");
    await cli.waitForStderr(/The browser handed over a token: paste the address it shows/);
    expect(readConfig(configPath)).toBeNull();
    cli.write(`${back}\n`);
    expect((await cli.result).code).toBe(0);
    const stored = readConfig(configPath)!;
    expect(Object.keys(stored).sort()).toEqual(["api_url", "auth_token"]);
    const token = await runBinary(["auth", "token"], { env: { HOME: tempHome().home, PIPEOPS_CONFIG_PATH: configPath, ...envFor(directServer) } });
    expect(token.stdout).toBe(`${stored.auth_token}\n`);
  });

  test("login fixation: the browser's argv holds no state to steal, and a token sent to the callback even with the right state logs nobody in", async () => {
    const { env, home, configPath } = tempHome();
    const urlFile = join(home, "browser-url");
    const cli = spawnBinary(["auth", "login", "--timeout", "3"], {
      env: { ...env, ...envFor(directServer), DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile) },
    });
    const url = new URL(await waitForFile(urlFile));
    // What /proc/<browser>/cmdline shows every local user: the start page's path, nothing of the sign-in.
    expect(readFileSync(`${urlFile}.argv`, "utf8")).not.toContain(url.searchParams.get("state")!);
    // Had another user the state anyway (defence in depth): they sign in on their own and get a token the console hands back directly.
    const theirs = new URL(url);
    theirs.searchParams.set("state", "the-attackers-own-state");
    const attackerToken = new URL(await completeAuthorization(theirs.href)).searchParams.get("token")!;
    expect(attackerToken).toBeTruthy();
    const callback = new URL(url.searchParams.get("redirect_uri")!);
    callback.searchParams.set("state", url.searchParams.get("state")!);
    callback.searchParams.set("token", attackerToken);
    await fetch(callback);
    const result = await cli.result;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Error: authentication timed out");
    expect(readConfig(configPath)).toBeNull();
  });

  test("a sign-in page that refuses the client (a wrong PIPEOPS_CLIENT_ID) shows why in the browser; the CLI times out cleanly", async () => {
    const { env, home, configPath } = tempHome();
    const urlFile = join(home, "browser-url");
    const cli = spawnBinary(["auth", "login", "--timeout", "2"], {
      env: { ...env, ...envFor(server), DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile), PIPEOPS_CLIENT_ID: "pipeops-cli" },
    });
    const page = await fetch(await waitForFile(urlFile));
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("Unknown client 'pipeops-cli'");
    const result = await cli.result;
    expect(result.code).toBe(1);
    // Run without a terminal: the hint names the ways that need nobody at one.
    expect(result.stderr).toEndWith(
      "Error: authentication timed out\nIn CI, set PIPEOPS_AUTH_TOKEN (or PIPEOPS_TOKEN), or pipe a token in: pipeops auth login --with-token < token.txt\n",
    );
    expect(existsSync(configPath)).toBe(false);
  });
});

describe("--no-browser against the PipeOps API (no device grant): the address pasted back", () => {
  test("at a terminal: the spec's lines, typed text never redrawn, wrong pastes explained and asked again, then success", async () => {
    const { env, configPath } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--no-browser"], { ...env, ...envFor(server) });
    try {
      await cli.waitForScreen(/press Enter:\r\n/);
      const screen = cli.screen();
      const [, url] = /^Please open this URL in your browser to authenticate:\r\n(\S+)\r\n\r\nWaiting for authentication\.\.\.\r\n/.exec(screen) ?? [];
      expect(url).toStartWith(`${server.consoleUrl}/auth/signin?`);
      // No spinner, no redraw: nothing but our lines, which a pasted line cannot be wiped by.
      expect(screen).not.toContain("\u001b[2K");
      const back = new URL(await completeAuthorization(url!));

      cli.type("not an address\r");
      await cli.waitForScreen(/That is not a sign-in address or code; paste the whole address from the browser's address bar\.\r\n/);
      const other = new URL(back);
      other.searchParams.set("state", "another-login");
      cli.type(`${other.href}\r`);
      await cli.waitForScreen(/That address belongs to a different sign-in; paste the one from this login\.\r\n/);
      const typo = new URL(back);
      typo.searchParams.set("code", `${back.searchParams.get("code")}x`);
      cli.type(`${typo.href}\r`);
      await cli.waitForScreen(/Not accepted: PipeOps refused the sign-in: invalid or expired authorization code\. Paste the address again\.\r\n/);
      cli.type(`${back.href}\r`);
      expect(await cli.exited).toBe(0);
      // What the user typed is still on screen, line by line.
      expect(cli.screen()).toContain(`\r\n${back.href}\r\n`);
      expect(cli.screen()).toEndWith("\u001b[32m✓\u001b[39m Successfully authenticated as user@example.com\r\n");
      expect(readConfig(configPath)!.api_url).toBe(server.url);
    } finally {
      cli.close();
    }
  });

  test("the callback still works when the browser can reach this machine (e.g. a forwarded port)", async () => {
    const { env, configPath } = tempHome();
    const cli = spawnBinary(["auth", "login", "--no-browser"], { env: { ...env, ...envFor(server) }, stdin: "pipe" });
    const [, url] = await cli.waitForStderr(/Please open this URL in your browser to authenticate:\n(\S+)\n\nWaiting for authentication\.\.\.\n/);
    await fetch(await completeAuthorization(url!));
    expect((await cli.result).code).toBe(0);
    expect(readConfig(configPath)!.auth_token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe("using a PipeOps session", () => {
  test("status, me (human and JSON: userinfo envelope plus profile) and token", async () => {
    const tokens = await pipeopsLogin(server);
    const { env } = loggedIn(server, { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: "2099-12-31T23:59:59Z" });
    expect(await runBinary(["auth", "status"], { env })).toEqual({
      code: 0,
      stdout: `✓ Authenticated as user@example.com\nToken expires: 2099-12-31 23:59:59\nServer: ${server.url}\n`,
      stderr: "",
    });
    // Lines the server gave no value for (organisation, role) are left out, the spec's alignment kept.
    expect(await runBinary(["auth", "me"], { env })).toEqual({
      code: 0,
      stdout: `Email:        user@example.com\nName:         John Doe\nAccount ID:   ${server.user.uuid}\n`,
      stderr: "",
    });
    const me = await runBinary(["auth", "me", "--json"], { env });
    expect(JSON.parse(me.stdout)).toEqual({
      id: server.user.uuid,
      email: "user@example.com",
      name: "John Doe",
      organization: null,
      role: null,
      created_at: "2024-01-01T00:00:00Z",
    });
    expect((await runBinary(["auth", "token"], { env })).stdout).toBe(`${tokens.access_token}\n`);
  });

  test("an expired session is refreshed; the answer has no refresh_token, so the old one stays", async () => {
    const tokens = await pipeopsLogin(server);
    const { env, configPath } = loggedIn(server, { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: "2020-01-01T00:00:00Z" });
    const before = server.stats.refreshGrants;
    const result = await runBinary(["auth", "status"], { env });
    expect(result.code).toBe(0);
    expect(server.stats.refreshGrants - before).toBe(1);
    const stored = readConfig(configPath)!;
    expect(stored.auth_token).not.toBe(tokens.access_token);
    expect(stored.refresh_token).toBe(tokens.refresh_token);
    expect(Date.parse(String(stored.expires_at))).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  test("a spent refresh token: the spec's expired-token error, the file left as it was", async () => {
    const tokens = await pipeopsLogin(server);
    const { env, configPath } = loggedIn(server, { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: "2020-01-01T00:00:00Z" });
    const before = readFileSync(configPath, "utf8");
    server.revokeRefreshTokens();
    for (const command of ["token", "me"]) {
      expect(await runBinary(["auth", command], { env })).toEqual({
        code: 1,
        stdout: "",
        stderr: "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n",
      });
    }
    expect(readFileSync(configPath, "utf8")).toBe(before);
  });

  test("a token the API refuses (401 envelope or plain text): the spec's invalid-token error", async () => {
    for (const s of [server, envelopeServer]) {
      const { env } = loggedIn(s, { auth_token: "pat_not_issued", expires_at: "2099-12-31T23:59:59Z" });
      expect(await runBinary(["auth", "me"], { env })).toEqual({
        code: 1,
        stdout: "",
        stderr: "Error: invalid authentication token\nRun 'pipeops auth login' to re-authenticate\n",
      });
    }
  });

  test("PIPEOPS_TOKEN with a sat_ service token, as automation uses it; never written", async () => {
    const { env, configPath } = tempHome();
    const token = server.issueServiceToken();
    const status = await runBinary(["auth", "status"], { env: { ...env, ...envFor(server), PIPEOPS_TOKEN: token } });
    expect(status).toEqual({
      code: 0,
      stdout: `✓ Authenticated as user@example.com\nToken: a service-account token, which does not expire\nServer: ${server.url}\n`,
      stderr: "",
    });
    const json = await runBinary(["auth", "status", "--json"], { env: { ...env, ...envFor(server), PIPEOPS_TOKEN: token } });
    expect(JSON.parse(json.stdout)).toEqual({
      authenticated: true,
      email: "user@example.com",
      expires_at: null,
      token_valid: true,
      api_url: server.url,
      source: "env",
      api_endpoint: server.url,
      token_type: "service_account",
      token_source: "PIPEOPS_TOKEN",
      token_expires_at: null,
      token_expires_in_seconds: null,
      credential_store: null,
      remaining_seconds: null,
      min_remaining_ok: null,
      error: null,
    });
    expect(existsSync(configPath)).toBe(false);
  });

  test("a sat_ token in the file is never refreshed and never called expired by the local clock, even beside an old expiry and a refresh token", async () => {
    const token = server.issueServiceToken();
    const grants = server.stats.refreshGrants;
    const { env, configPath } = loggedIn(server, { auth_token: token, refresh_token: "prt_should_never_be_sent", expires_at: "2000-01-01T00:00:00Z" });
    for (const command of ["status", "token", "me"]) {
      const result = await runBinary(["auth", command], { env });
      expect(result.code).toBe(0);
    }
    expect((await runBinary(["auth", "token"], { env })).stdout).toBe(`${token}\n`);
    const json = JSON.parse((await runBinary(["auth", "status", "--json"], { env })).stdout);
    expect(json).toMatchObject({ token_valid: true, token_type: "service_account", token_source: configPath, expires_at: null });
    expect(json).toMatchObject({ token_expires_at: null, token_expires_in_seconds: null });
    expect(server.stats.refreshGrants).toBe(grants);
  });

  test("login --token with a token PipeOps rejects: nothing stored, the spec's error, the value never shown", async () => {
    const { env, configPath } = tempHome();
    const result = await runBinary(["auth", "login", "--token", "pat_never_issued_0123456789"], { env: { ...env, ...envFor(server) } });
    expect(result).toEqual({ code: 1, stdout: "", stderr: `Error: invalid authentication token\n${TOKEN_REFUSED("--token")}\n` });
    expect(existsSync(configPath)).toBe(false);
  });

  test("login --token with a sat_ token stores it; status then says it is a service-account token", async () => {
    const token = server.issueServiceToken();
    const { env } = tempHome();
    const login = await runBinary(["auth", "login", "--token", token], { env: { ...env, ...envFor(server) } });
    expect(login.code).toBe(0);
    const status = await runBinary(["auth", "status"], { env: { ...env, ...envFor(server) } });
    expect(status.stdout).toContain("Token: a service-account token, which does not expire\n");
  });

  test("logout --revoke: a warning that the API has no revocation, and the local logout", async () => {
    const tokens = await pipeopsLogin(server);
    const { env, configPath } = loggedIn(server, { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, settings: { theme: "dark" } });
    const result = await runBinary(["auth", "logout", "--force", "--revoke"], { env });
    expect(result).toEqual({
      code: 0,
      stdout: "✓ Successfully logged out\n",
      stderr: `Warning: could not revoke the tokens at the server: ${server.url} does not support token revocation\nThe tokens stay valid until they expire; to revoke them now, use the web console: Settings > Security > Authorized Applications\n`,
    });
    expect(readConfig(configPath)).toEqual({ settings: { theme: "dark" } });
  });

  test("the Go CLI's config: its client id, base_url and dashboard_url are used when ours are absent", async () => {
    const { env, home, configPath } = tempHome();
    writeFileSync(
      configPath,
      JSON.stringify({ oauth: { client_id: "pipeops_public_client", base_url: server.url, dashboard_url: server.consoleUrl, scopes: ["openid"] } }),
    );
    const urlFile = join(home, "browser-url");
    const cli = spawnBinary(["auth", "login"], { env: { ...env, DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile) } });
    const url = await waitForFile(urlFile);
    expect(url).toStartWith(`${server.consoleUrl}/auth/signin?`);
    await fetch(await completeAuthorization(url));
    expect((await cli.result).code).toBe(0);
    const stored = readConfig(configPath)!;
    expect(stored.api_url).toBe(server.url);
    // Its settings kept, and the new session written into it too, for the official CLI to use.
    expect(stored.oauth).toEqual({
      client_id: "pipeops_public_client",
      base_url: server.url,
      dashboard_url: server.consoleUrl,
      scopes: ["openid"],
      access_token: stored.auth_token,
      refresh_token: stored.refresh_token,
      expires_at: stored.expires_at,
    });
  });

  test("no browser could be started (missing, or failing at once): one line says so, and the wait goes on", async () => {
    const { env, home, configPath } = tempHome();
    const urlFile = join(home, "browser-url");
    // A missing program, one that fails at once, then one that works: tried in turn.
    const fails = await runBinary(["auth", "login", "--timeout", "3"], { env: { ...env, ...envFor(server), BROWSER: "/nonexistent/browser:false" } });
    expect(fails.code).toBe(1);
    expect(fails.stderr).toMatch(/\nWaiting for authentication\.\.\.\nCould not open a browser; open the URL above\nError: authentication timed out\n/);
    const cli = spawnBinary(["auth", "login"], { env: { ...env, ...envFor(server), BROWSER: `/nonexistent/browser:false:${fakeBrowser(home, urlFile)} %s` } });
    await fetch(await completeAuthorization(await waitForFile(urlFile)));
    const result = await cli.result;
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("Could not open a browser");
    expect(readConfig(configPath)!.api_url).toBe(server.url);
  });

  test("two logins at once: each gets its own port of the official client's, the second moving on from the first's", async () => {
    const first = tempHome();
    const second = tempHome();
    const one = spawnBinary(["auth", "login", "--no-browser", "--timeout", "5"], { env: { ...first.env, ...envFor(server) } });
    const [, url1] = await one.waitForStderr(/authenticate:\n(\S+)\n/);
    const two = spawnBinary(["auth", "login", "--no-browser", "--timeout", "5"], { env: { ...second.env, ...envFor(server) } });
    const [, url2] = await two.waitForStderr(/authenticate:\n(\S+)\n/);
    const ports = [url1!, url2!].map((url) => Number(new URL(new URL(url).searchParams.get("redirect_uri")!).port));
    expect(ports[0]).not.toBe(ports[1]);
    for (const port of ports) expect([8080, 8085, 8086, 8087, 8088, 8089]).toContain(port);
    for (const [cli, url] of [
      [one, url1!],
      [two, url2!],
    ] as const) {
      await fetch(await completeAuthorization(url));
      expect((await cli.result).code).toBe(0);
    }
  });
});

describe("HTTP 419: a session the PipeOps API has ended, its token unexpired", () => {
  const EXPIRED = "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n";

  test("with a refresh token: refreshed once, the request retried, the command succeeds", async () => {
    const s = await startPipeOpsServer();
    try {
      const login = await pipeopsLogin(s);
      s.endSessions();
      for (const command of ["status", "me"]) {
        const { env } = loggedIn(s, { auth_token: login.access_token, refresh_token: login.refresh_token, expires_at: "2099-01-01T00:00:00Z" });
        const result = await runBinary(["auth", command], { env });
        expect(result.code).toBe(0);
        expect(result.stdout).toContain("user@example.com");
      }
      expect(s.stats.refreshGrants).toBe(2);
    } finally {
      await s.close();
    }
  });

  test("without a refresh token, or with one the server refuses: the spec's expired-token error, exit 1; status --json says token_valid false", async () => {
    const s = await startPipeOpsServer();
    try {
      const login = await pipeopsLogin(s);
      s.endSessions();
      const bare = loggedIn(s, { auth_token: login.access_token });
      for (const command of ["status", "me"]) expect(await runBinary(["auth", command], { env: bare.env })).toEqual({ code: 1, stdout: "", stderr: EXPIRED });
      const json = await runBinary(["auth", "status", "--json"], { env: bare.env });
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ authenticated: false, token_valid: false, error: "authentication token has expired" });

      s.revokeRefreshTokens();
      const refused = loggedIn(s, { auth_token: login.access_token, refresh_token: login.refresh_token, expires_at: "2099-01-01T00:00:00Z" });
      expect(await runBinary(["auth", "me"], { env: refused.env })).toEqual({ code: 1, stdout: "", stderr: EXPIRED });
    } finally {
      await s.close();
    }
  });

  test("a token from PIPEOPS_AUTH_TOKEN that the server has ended: the expired-token error, never 'unexpected response'", async () => {
    const s = await startPipeOpsServer();
    try {
      const login = await pipeopsLogin(s);
      s.endSessions();
      const result = await runBinary(["auth", "status"], { env: { ...tempHome().env, ...envFor(s), PIPEOPS_AUTH_TOKEN: login.access_token } });
      expect(result.code).toBe(1);
      expect(result.stderr).toStartWith("Error: authentication token has expired\n");
    } finally {
      await s.close();
    }
  });
});

describe("the code exchange as the official CLI sends it", () => {
  test("asks for a JWT (token_format), and never follows or prints the answer's redirect_url", async () => {
    const s = await startPipeOpsServer();
    try {
      const { cli, url } = await browserLogin(s);
      await fetch(await completeAuthorization(url.href));
      const result = await cli.result;
      expect(result.code).toBe(0);
      expect(s.stats.tokenFormats).toEqual(["jwt"]);
      expect(result.stdout + result.stderr).not.toContain("owned");
      expect(
        s.requests.filter(
          (line) =>
            !/^(GET|POST) \/oauth\/(token|userinfo)$/.test(line) &&
            line !== "GET /.well-known/oauth-authorization-server" &&
            line !== "GET /.well-known/openid-configuration",
        ),
      ).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe("one ~/.pipeops.json for both tools", () => {
  /** The official CLI's file as it writes it: the session under oauth, beside settings, updates and version. */
  const officialFile = (s: PipeOpsServer, oauth: Record<string, unknown>) => ({
    oauth: { client_id: "pipeops_public_client", base_url: s.url, dashboard_url: s.consoleUrl, scopes: ["openid", "profile", "email"], ...oauth },
    settings: { default_output: "table" },
    updates: { last_check: "2026-11-01T00:00:00Z" },
    version: "0.2.104",
  });

  test("a login into a file that holds the official session updates that session too; its other keys stay as they were", async () => {
    const old = await pipeopsLogin(server);
    const fresh = await pipeopsLogin(server);
    const { env, configPath } = tempHome();
    const before = officialFile(server, { access_token: old.access_token, refresh_token: old.refresh_token, expires_at: "2026-01-01T00:00:00Z" });
    writeFileSync(configPath, JSON.stringify(before), { mode: 0o600 });
    const login = await runBinary(["login", "--with-token"], { env: { ...env, ...envFor(server) }, stdin: fresh.access_token });
    expect(login.code).toBe(0);
    const stored = readConfig(configPath)!;
    expect(stored.oauth).toEqual({ ...before.oauth, access_token: fresh.access_token, base_url: server.url, refresh_token: undefined, expires_at: undefined });
    expect(stored).toMatchObject({ settings: before.settings, updates: before.updates, version: before.version, auth_token: fresh.access_token });
  });

  test("a file without the official session gets none", async () => {
    const fresh = await pipeopsLogin(server);
    const { env, configPath } = tempHome();
    writeFileSync(configPath, JSON.stringify({ settings: { theme: "dark" } }), { mode: 0o600 });
    expect((await runBinary(["auth", "login", "--with-token"], { env: { ...env, ...envFor(server) }, stdin: fresh.access_token })).code).toBe(0);
    expect(Object.keys(readConfig(configPath)!).sort()).toEqual(["api_url", "auth_token", "settings"]);
  });

  test("after the official CLI rewrote the file with a newer session (ours gone), that session is used: no stale token, no refresh with a dead refresh token", async () => {
    const newer = await pipeopsLogin(server);
    const grants = server.stats.refreshGrants;
    const { env, configPath } = tempHome();
    writeFileSync(
      configPath,
      JSON.stringify(officialFile(server, { access_token: newer.access_token, refresh_token: newer.refresh_token, expires_at: "2099-01-01T00:00:00Z" })),
      {
        mode: 0o600,
      },
    );
    const status = await runBinary(["status"], { env: { ...env, ...envFor(server) } });
    expect(status.code).toBe(0);
    expect((await runBinary(["auth", "token"], { env: { ...env, ...envFor(server) } })).stdout).toBe(`${newer.access_token}\n`);
    expect(server.stats.refreshGrants).toBe(grants);
  });
});

describe("the official callback ports all taken (in process, so no real port is held while other tests log in)", () => {
  test("login says so, as doctor does, before the URL to open; it listens on another port all the same", async () => {
    const ctx = testContext();
    const taken = new Set<number>([8080, 8085, 8086, 8087, 8088, 8089]);
    const serve: typeof ctx.serve = (options) => {
      if (taken.has(options.port)) throw Object.assign(new Error("address in use"), { code: "EADDRINUSE" });
      return bunRuntime.serve(options);
    };
    const busy = { ...ctx, serve };
    const conn = await connect(busy, new URL(server.url), { consoleUrl: server.consoleUrl });
    const cancel = new AbortController();
    const login = authorizationCodeLogin(busy, {
      conn,
      scope: "openid",
      openBrowser: false,
      reporter: loginReporter(busy),
      signal: cancel.signal,
      deadline: Infinity,
    });
    while (!ctx.err().includes("Waiting for authentication")) await Bun.sleep(10);
    cancel.abort(new Error("the test is done"));
    await expect(login).rejects.toThrow("the test is done");
    const url = new URL(/Please open this URL in your browser to authenticate:\n(\S+)\n/.exec(ctx.err())![1]!);
    const port = Number(new URL(url.searchParams.get("redirect_uri")!).port);
    expect(taken.has(port)).toBe(false);
    expect(ctx.err()).toStartWith(`${portsTakenLine(port)}\n${PORTS_TAKEN_HINT}\nPlease open this URL in your browser to authenticate:\n`);
  });
});
