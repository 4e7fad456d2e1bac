/**
 * The same source under Deno: `deno run … src/main.ts auth <command>` against the local authorization
 * server, for status, me, token, logout, device login, browser login (the Deno.serve callback) and
 * Ctrl-C. Deno comes from the `deno` devDependency and resolves npm packages from node_modules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { ROOT, spawnProgram } from "../helpers/binary.ts";
import { approveDevice, completeAuthorization, loginWithAuthorizationCode, pipeopsLogin, type TokenSet } from "../helpers/flows.ts";
import { fakeBrowser, portClosed, redirectPort, spawnInTerminal, tempHome, typeHiddenToken, waitForFile } from "../helpers/interactive.ts";
import { closedPort, fetchBehind, makeCertificates, startConnectProxy, startImpostor } from "../helpers/network.ts";

const DENO = join(ROOT, "node_modules", ".bin", "deno");
/** The README's command line: exactly these permissions, nothing broader. */
const DENO_RUN = [DENO, "run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-run", "src/main.ts"];
/** One compile cache for all runs (Deno keeps it under $HOME otherwise, and every test has its own HOME). */
const DENO_DIR = mkdtempSync(join(tmpdir(), "pipeops-deno-dir-"));

const NOT_AUTHENTICATED = "Error: not authenticated\nRun 'pipeops auth login' to authenticate\n";
/** Each test starts Deno a few times on a shared 2-core machine: allow for a slow start. */
const TIMEOUT_MS = 30_000;
const DEVICE_PROMPT = /Please open this URL in your browser to authenticate:\n(\S+)\n\nWaiting for authentication\.\.\.\n/;
const BROWSER_PROMPT = /If the browser does not open, visit:\n(\S+)\n\nWaiting for authentication\.\.\.\n/;

/** pipeops under Deno from the repository root, with only the variables given (plus PATH, TZ, DENO_DIR). */
function spawnDeno(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  const env = { DENO_DIR, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", ...options.env };
  return spawnProgram([...DENO_RUN, ...args], { env, stdin: options.stdin, cwd: ROOT });
}

const runDeno = (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) => spawnDeno(args, options).result;

let server: DevServer;
let tokens: TokenSet;

beforeAll(async () => {
  server = await startDevServer({ port: 0 });
  tokens = await loginWithAuthorizationCode(server);
});
afterAll(async () => {
  await server?.close();
  rmSync(DENO_DIR, { recursive: true, force: true });
});

/** A temp HOME whose credential file holds the given fields (none: no file). */
function home(file?: Record<string, unknown>) {
  const { env, configPath } = tempHome();
  if (file) writeFileSync(configPath, JSON.stringify(file), { mode: 0o600 });
  return { env, configPath };
}

const loggedIn = () => home({ auth_token: tokens.access_token, expires_at: "2099-12-31T23:59:59Z", api_url: server.url });

describe("under Deno", () => {
  // The Bun implementation would fail every test below that reads stdin, serves or spawns: Bun.* is missing here.
  test(
    "--keyring fails closed (Deno has no way to the OS keyring): exit 1, the reason and the ways out, nothing written, the token never shown",
    async () => {
      const { env, configPath } = home();
      const result = await runDeno(["auth", "login", "--with-token", "--keyring"], {
        env: { ...env, PIPEOPS_API_URL: server.url },
        stdin: `${tokens.access_token}\n`,
      });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr:
          "Error: the OS keyring cannot be used: this runtime has no access to the OS keyring (Deno)\n" +
          "Start or unlock a keyring (Secret Service, Keychain, Credential Manager), or log in without --keyring (and unset PIPEOPS_CREDENTIAL_STORE)\n",
      });
      expect(existsSync(configPath)).toBe(false);
    },
    TIMEOUT_MS,
  );

  test(
    "--version: the package version, commit 'dev' from source; works without HOME",
    async () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
      expect(await runDeno(["--version"])).toEqual({ code: 0, stdout: `pipeops ${pkg.version} (commit dev)\n`, stderr: "" });
    },
    TIMEOUT_MS,
  );

  test(
    "not authenticated: status, me and token give the spec's text and exit 1",
    async () => {
      const { env } = home();
      expect(await runDeno(["auth", "status"], { env })).toEqual({
        code: 1,
        stdout: "✗ Not authenticated\nRun 'pipeops auth login' to authenticate\n",
        stderr: "",
      });
      for (const command of ["me", "token"]) {
        expect(await runDeno(["auth", command], { env })).toEqual({ code: 1, stdout: "", stderr: NOT_AUTHENTICATED });
      }
    },
    TIMEOUT_MS,
  );

  test(
    "status, me and token from the credential file",
    async () => {
      const { env, configPath } = loggedIn();
      expect(await runDeno(["auth", "status"], { env })).toEqual({
        code: 0,
        stdout: `✓ Authenticated as user@example.com\nToken expires: 2099-12-31 23:59:59\nServer: ${server.url}\n`,
        stderr: "",
      });
      const status = await runDeno(["auth", "status", "--json"], { env });
      expect(JSON.parse(status.stdout)).toEqual({
        authenticated: true,
        email: "user@example.com",
        expires_at: "2099-12-31T23:59:59Z",
        token_valid: true,
        api_url: server.url,
        source: configPath,
        api_endpoint: server.url,
        token_type: "oauth",
        token_source: configPath,
        token_expires_at: "2099-12-31T23:59:59Z",
        token_expires_in_seconds: expect.any(Number),
        credential_store: "file",
        remaining_seconds: null,
        min_remaining_ok: null,
        error: null,
      });
      expect(await runDeno(["auth", "me"], { env })).toEqual({
        code: 0,
        stdout: "Email:        user@example.com\nName:         John Doe\nOrganization: Acme Corp\nRole:         Admin\nAccount ID:   usr_1234567890\n",
        stderr: "",
      });
      const me = await runDeno(["auth", "me", "--json"], { env });
      expect(JSON.parse(me.stdout)).toMatchObject({ id: "usr_1234567890", email: "user@example.com", role: "admin" });
      expect(await runDeno(["auth", "token"], { env })).toEqual({ code: 0, stdout: `${tokens.access_token}\n`, stderr: "" });
    },
    TIMEOUT_MS,
  );

  test(
    "a token the server rejects: the spec's invalid-token error",
    async () => {
      const { env } = home({ auth_token: "not-a-real-token", api_url: server.url });
      expect(await runDeno(["auth", "me"], { env })).toEqual({
        code: 1,
        stdout: "",
        stderr: "Error: invalid authentication token\nRun 'pipeops auth login' to re-authenticate\n",
      });
    },
    TIMEOUT_MS,
  );

  test(
    "logout: the prompt reads stdin, then the file keeps only non-secret keys at 0600",
    async () => {
      const { env, configPath } = loggedIn();
      const result = await runDeno(["auth", "logout"], { env, stdin: "y\n" });
      expect(result.code).toBe(0);
      expect(result.stderr).toStartWith("Are you sure you want to logout? [y/N] ");
      expect(result.stdout).toBe("✓ Successfully logged out\n");
      expect(JSON.parse(readFileSync(configPath, "utf8"))).toEqual({});
      expect(statSync(configPath).mode & 0o777).toBe(0o600);
      expect((await runDeno(["auth", "status"], { env })).code).toBe(1);

      const forced = loggedIn();
      expect(await runDeno(["auth", "logout", "--force"], { env: forced.env })).toEqual({ code: 0, stdout: "✓ Successfully logged out\n", stderr: "" });
    },
    TIMEOUT_MS,
  );

  test(
    "device login (--no-browser): approved elsewhere, stored 0600, then status works",
    async () => {
      const { env, configPath } = home();
      const grantsBefore = server.stats.deviceCodeGrants;
      const cli = spawnDeno(["auth", "login", "--no-browser"], { env: { ...env, PIPEOPS_API_URL: server.url } });
      const [, url] = await cli.waitForStderr(DEVICE_PROMPT);
      expect(url).toStartWith(`${server.url}/device?user_code=`);
      await approveDevice(url!);
      const result = await cli.result;
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("✓ Successfully authenticated as user@example.com\n");
      expect(result.stderr).toBe(`Please open this URL in your browser to authenticate:\n${url}\n\nWaiting for authentication...\n`);
      expect(server.stats.deviceCodeGrants).toBe(grantsBefore + 1);
      const stored = JSON.parse(readFileSync(configPath, "utf8"));
      expect(stored.api_url).toBe(server.url);
      expect(statSync(configPath).mode & 0o777).toBe(0o600);
      expect(result.stdout + result.stderr).not.toContain(stored.auth_token);

      // The stored server is remembered: no PIPEOPS_API_URL needed any more.
      const status = await runDeno(["auth", "status"], { env });
      expect(status).toEqual({ code: 0, stdout: expect.stringMatching(/^✓ Authenticated as user@example\.com\n/), stderr: "" });
    },
    TIMEOUT_MS,
  );

  test(
    "browser login: the browser is spawned, the Deno.serve callback answers, the port closes",
    async () => {
      const { env, configPath } = home();
      const dir = tempHome().home;
      const opened = join(dir, "opened-url");
      const cli = spawnDeno(["auth", "login", "--browser"], {
        env: { ...env, BROWSER: fakeBrowser(dir, opened), DISPLAY: ":0", PIPEOPS_API_URL: server.url },
      });
      const [, url] = await cli.waitForStderr(BROWSER_PROMPT);
      expect(await waitForFile(opened)).toBe(url!);
      const location = await completeAuthorization(url!);
      const page = await fetch(location);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("You may close this window");
      const result = await cli.result;
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("✓ Successfully authenticated as user@example.com\n");
      expect(JSON.parse(readFileSync(configPath, "utf8")).auth_token).toBeString();
      expect(await portClosed(redirectPort(url!))).toBe(true);
    },
    TIMEOUT_MS,
  );

  test(
    "--with-token typed at a terminal: not shown while typed, echo back on afterwards",
    async () => {
      const { env, configPath } = home();
      const { access_token } = await loginWithAuthorizationCode(server);
      const denoEnv = { ...env, PIPEOPS_API_URL: server.url, DENO_DIR, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" };
      const cli = spawnInTerminal(["auth", "login", "--with-token"], denoEnv, { argv: DENO_RUN, cwd: ROOT });
      try {
        await typeHiddenToken(cli, access_token, TIMEOUT_MS);
        expect(JSON.parse(readFileSync(configPath, "utf8")).auth_token).toBe(access_token);
      } finally {
        cli.close();
      }
    },
    TIMEOUT_MS,
  );

  test(
    "SIGTERM at the hidden prompt: echo back on, what was typed dropped, ended by the signal",
    async () => {
      const { env, configPath } = home();
      const denoEnv = { ...env, PIPEOPS_API_URL: server.url, DENO_DIR, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" };
      const cli = spawnInTerminal(["auth", "login", "--with-token"], denoEnv, { argv: DENO_RUN, cwd: ROOT });
      try {
        await cli.waitForScreen(/then press Enter:\r\n/, TIMEOUT_MS);
        await cli.typeAndFlush("half-typed-tok");
        expect(cli.echoes()).toBe(false);
        cli.signal("SIGTERM");
        expect(await cli.exited).toBe(143);
        expect(cli.echoes()).toBe(true);
        expect(await cli.unreadInput()).toBe("");
        expect(existsSync(configPath)).toBe(false);
      } finally {
        cli.close();
      }
    },
    TIMEOUT_MS,
  );

  test(
    "Ctrl-C while waiting: exit 130, the callback server closed, nothing stored",
    async () => {
      const { env, configPath } = home();
      const dir = tempHome().home;
      const cli = spawnDeno(["auth", "login", "--browser"], {
        env: { ...env, BROWSER: fakeBrowser(dir), DISPLAY: ":0", PIPEOPS_API_URL: server.url },
      });
      const [, url] = await cli.waitForStderr(BROWSER_PROMPT);
      const port = redirectPort(url!);
      expect(await portClosed(port)).toBe(false);
      cli.kill("SIGINT");
      const result = await cli.result;
      expect(result.code).toBe(130);
      expect(result.stdout).toBe("");
      expect(await portClosed(port)).toBe(true);
      expect(existsSync(configPath)).toBe(false);
    },
    TIMEOUT_MS,
  );

  test(
    "behind a proxy: the API through it, trusting NODE_EXTRA_CA_CERTS; loopback direct",
    async () => {
      const certificates = makeCertificates();
      const api = await startPipeOpsServer({ tls: { cert: certificates.valid, key: certificates.key } });
      const proxy = await startConnectProxy({ upstreamPort: Number(new URL(api.url).port) });
      try {
        const token = (await pipeopsLogin({ url: api.url, consoleUrl: api.consoleUrl }, { fetch: fetchBehind(proxy, certificates.caFile) })).access_token;
        const proxied = { HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: certificates.caFile };
        const through = await runDeno(["auth", "status"], {
          env: { ...home().env, ...proxied, PIPEOPS_API_URL: "https://api.pipeops.test", PIPEOPS_AUTH_TOKEN: token },
        });
        expect(through).toMatchObject({ code: 0 });
        expect(proxy.log.length).toBeGreaterThan(0);
        for (const line of proxy.log) expect(line).toBe("CONNECT api.pipeops.test:443 HTTP/1.1");

        const nowhere = `http://127.0.0.1:${await closedPort()}`;
        const direct = await runDeno(["auth", "status"], { env: { ...loggedIn().env, HTTPS_PROXY: nowhere, HTTP_PROXY: nowhere } });
        expect(direct).toMatchObject({ code: 0 });
      } finally {
        await Promise.all([proxy.close(), api.close()]);
      }
    },
    TIMEOUT_MS,
  );
});

describe("under Deno, environment variables that would change how the runtime fetches", () => {
  test(
    "NODE_TLS_REJECT_UNAUTHORIZED=0: a certificate for another name is still refused, the server gets no token, and one line says so",
    async () => {
      const impostor = startImpostor(makeCertificates());
      try {
        const { env } = home();
        const result = await runDeno(["auth", "status"], {
          env: { ...env, NODE_TLS_REJECT_UNAUTHORIZED: "0", PIPEOPS_API_URL: impostor.url, PIPEOPS_AUTH_TOKEN: tokens.access_token },
        });
        expect(result.code).toBe(1);
        expect(result.stderr).toStartWith("Warning: NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored: pipeops always verifies TLS certificates\n");
        expect(result.stderr).toContain("Error: ");
        expect(impostor.seen).toEqual([]);
      } finally {
        await impostor.stop();
      }
    },
    TIMEOUT_MS,
  );
});
