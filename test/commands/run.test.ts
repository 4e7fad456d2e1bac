/**
 * Each command's run() with a test context (buffers, a temp HOME) against both local servers, and
 * its render() of what run() returned: the behaviour tests, in process, as gh's pkg/cmd/auth has
 * them. The binary's own tests keep what only the binary shows: exit codes, streams, terminals,
 * files and signals.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { command as login } from "../../src/commands/auth/login.ts";
import { command as logout } from "../../src/commands/auth/logout.ts";
import { command as me } from "../../src/commands/auth/me.ts";
import { command as status } from "../../src/commands/auth/status.ts";
import { command as token } from "../../src/commands/auth/token.ts";
import { CliError } from "../../src/errors.ts";
import { tempDir, testContext } from "../helpers/context.ts";
import { loginWithAuthorizationCode, pipeopsLogin, type TokenSet } from "../helpers/flows.ts";

setDefaultTimeout(30_000);

let dev: DevServer;
let pipeops: PipeOpsServer;
beforeAll(async () => {
  [dev, pipeops] = await Promise.all([startDevServer(), startPipeOpsServer()]);
});
afterAll(async () => {
  await Promise.all([dev?.close(), pipeops?.close()]);
});

interface Mode {
  name: string;
  env: () => Record<string, string>;
  session: () => Promise<TokenSet>;
  /** What `auth me` shows of the demo user on this server. */
  user: () => { id: string; organization: string | null; role: string | null };
}

const MODES: Mode[] = [
  {
    name: "the standards server",
    env: () => ({ PIPEOPS_API_URL: dev.url }),
    session: () => loginWithAuthorizationCode(dev),
    user: () => ({ id: "usr_1234567890", organization: "Acme Corp", role: "admin" }),
  },
  {
    name: "the PipeOps-shaped server",
    env: () => ({ PIPEOPS_API_URL: pipeops.url, PIPEOPS_DASHBOARD_URL: pipeops.consoleUrl }),
    session: () => pipeopsLogin(pipeops),
    user: () => ({ id: pipeops.user.uuid, organization: null, role: null }),
  },
];

/** A test context whose HOME holds a session for the mode's server. */
function contextWith(mode: Mode, tokens: TokenSet, options: { stdin?: string; expiresAt?: string } = {}) {
  const home = tempDir();
  const path = join(home, ".pipeops.json");
  const file = {
    auth_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: options.expiresAt ?? "2099-12-31T23:59:59Z",
    api_url: mode.env().PIPEOPS_API_URL,
  };
  writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
  return { ctx: testContext({ home, env: { TZ: "UTC", ...mode.env() }, stdin: options.stdin }), path };
}

for (const mode of MODES) {
  describe(`against ${mode.name}`, () => {
    test("status: run says who and until when; render prints the spec's lines and the server", async () => {
      const { ctx, path } = contextWith(mode, await mode.session());
      const options = await status.parse([]);
      const result = await status.run(ctx, options);
      expect(result).toEqual({
        authenticated: true,
        email: "user@example.com",
        expiresAt: new Date("2099-12-31T23:59:59Z"),
        problem: null,
        server: mode.env().PIPEOPS_API_URL,
        source: path,
        tokenType: "oauth",
        tokenSource: path,
        expiresInSeconds: expect.any(Number),
        credentialStore: "file",
        remaining: undefined,
      });
      status.render(ctx, result, options);
      expect(ctx.out()).toBe(`✓ Authenticated as user@example.com\nToken expires: 2099-12-31 23:59:59\nServer: ${mode.env().PIPEOPS_API_URL}\n`);
      expect(status.exitCode?.(result)).toBe(0);
    });

    test("status: a rejected token is the status (exit 1), and --json still prints one document", async () => {
      const { ctx } = contextWith(mode, { access_token: "not-issued", expires_in: 3600 });
      const result = await status.run(ctx, { json: true });
      expect(result.authenticated && result.problem?.code).toBe("invalid_token");
      status.render(ctx, result, { json: true });
      expect(JSON.parse(ctx.out())).toMatchObject({ authenticated: false, token_valid: false, error: "invalid authentication token" });
      expect(status.exitCode?.(result)).toBe(1);
    });

    test("me: run gives the account; render aligns the spec's labels and leaves out what is unknown", async () => {
      const { ctx } = contextWith(mode, await mode.session());
      const result = await me.run(ctx, { json: false });
      const expected = mode.user();
      expect(result.user).toMatchObject({ id: expected.id, email: "user@example.com", name: "John Doe" });
      me.render(ctx, result, { json: false });
      const lines = ctx.out().trimEnd().split("\n");
      expect(lines[0]).toBe("Email:        user@example.com");
      expect(lines).toContain(`Account ID:   ${expected.id}`);
      expect(lines.some((line) => line.startsWith("Organization:"))).toBe(expected.organization !== null);
      const json = testContext();
      me.render(json, result, { json: true });
      expect(JSON.parse(json.out())).toMatchObject({ id: expected.id, organization: expected.organization, role: expected.role });
    });

    test("token: the stored token as it is while good; refreshed when it expires within a minute", async () => {
      const tokens = await mode.session();
      const good = contextWith(mode, tokens);
      expect(await token.run(good.ctx, {})).toEqual({ token: tokens.access_token });
      const soon = contextWith(mode, tokens, { expiresAt: new Date(Date.now() + 30_000).toISOString() });
      const refreshed = await token.run(soon.ctx, {});
      expect(refreshed.token).not.toBe(tokens.access_token);
      expect(JSON.parse(readFileSync(soon.path, "utf8")).auth_token).toBe(refreshed.token);
      token.render(soon.ctx, refreshed, {});
      expect(soon.ctx.out()).toBe(`${refreshed.token}\n`);
    });

    test("logout: asks, and an answer of no keeps the session; --force removes it", async () => {
      const tokens = await mode.session();
      const kept = contextWith(mode, tokens, { stdin: "n\n" });
      expect(await logout.run(kept.ctx, { force: false, revoke: false })).toEqual({ outcome: "cancelled" });
      expect(kept.ctx.err()).toBe("Are you sure you want to logout? [y/N] ");
      expect(JSON.parse(readFileSync(kept.path, "utf8")).auth_token).toBe(tokens.access_token);
      const gone = contextWith(mode, tokens);
      const result = await logout.run(gone.ctx, { force: true, revoke: false });
      expect(result).toEqual({ outcome: "logged_out" });
      logout.render(gone.ctx, result, { force: true, revoke: false });
      expect(gone.ctx.out()).toBe("✓ Successfully logged out\n");
      expect(JSON.parse(readFileSync(gone.path, "utf8"))).toEqual({});
    });

    test("login --with-token: the token from stdin is checked with the server and stored; a bad one is refused", async () => {
      const tokens = await mode.session();
      const home = tempDir();
      const ctx = testContext({ home, env: mode.env(), stdin: `${tokens.access_token}\n` });
      const options = await login.parse(["--with-token"]);
      expect(await login.run(ctx, options)).toEqual({ email: "user@example.com" });
      expect(JSON.parse(readFileSync(join(home, ".pipeops.json"), "utf8"))).toEqual({ auth_token: tokens.access_token, api_url: mode.env().PIPEOPS_API_URL });
      const refused = testContext({ env: mode.env(), stdin: "pat_not_issued\n" });
      const error = await login.run(refused, options).catch((caught: unknown) => caught);
      expect(error instanceof CliError && error.message).toBe("invalid authentication token");
    });
  });
}
