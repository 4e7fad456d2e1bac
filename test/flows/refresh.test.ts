/**
 * Transparent refresh against the real local authorization server (rotating refresh tokens, reuse
 * detection): commands called in-process with a test context; the exit codes through the binary.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { command as meCommand } from "../../src/commands/auth/me.ts";
import { command as statusCommand } from "../../src/commands/auth/status.ts";
import { command as tokenCommand } from "../../src/commands/auth/token.ts";
import type { Context } from "../../src/context.ts";
import { freshSession } from "../../src/session/authenticated.ts";
import { requireSession } from "../../src/session/session.ts";

const me = (ctx: Context, options = { json: false }) => meCommand.run(ctx, options);
const status = (ctx: Context, options = { json: false }) => statusCommand.run(ctx, options);
const token = (ctx: Context) => tokenCommand.run(ctx, {});

import { CliError, RELOGIN_HINT } from "../../src/errors.ts";
import { runBinary } from "../helpers/binary.ts";
import { configFolderEntries, testContext } from "../helpers/context.ts";
import { loginWithAuthorizationCode, type TokenSet } from "../helpers/flows.ts";

// bunfig.toml's [test] timeout is not a Bun setting; servers and binaries need more than the 5 s default under load.
setDefaultTimeout(30_000);

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ port: 0 });
});
afterAll(() => server?.close());

const PAST = "2020-01-01T00:00:00Z";
const GO_KEYS = { settings: { output: "table" }, version: "1.0.0" };

/** A fresh login (its own grant at the server) stored in a temp HOME, plus what it takes to inspect it. */
async function session(fields: (tokens: TokenSet) => Record<string, unknown>, env: Record<string, string> = {}) {
  const tokens = await loginWithAuthorizationCode(server);
  const ctx = testContext({ env });
  const path = join(ctx.homedir, ".pipeops.json");
  writeFileSync(path, `${JSON.stringify({ api_url: server.url, ...fields(tokens) }, null, 2)}\n`, { mode: 0o600 });
  return { tokens, ctx, path, stored: () => JSON.parse(readFileSync(path, "utf8")), text: () => readFileSync(path, "utf8") };
}

async function userinfoStatus(accessToken: string): Promise<number> {
  const response = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.body?.cancel();
  return response.status;
}

/** Counts what the server saw during `work`. */
async function counting<T>(work: () => Promise<T>) {
  const before = { ...server.stats };
  const value = await work();
  return {
    value,
    refreshGrants: server.stats.refreshGrants - before.refreshGrants,
    reuse: server.stats.refreshReuseDetected - before.refreshReuseDetected,
  };
}

/** A context whose token-endpoint requests are answered by `answer` instead of the server. */
function interceptTokenEndpoint(ctx: ReturnType<typeof testContext>, answer: (request: Request) => Promise<Response>) {
  const realFetch = ctx.fetch;
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (request.method === "POST" && new URL(request.url).pathname === "/token") return answer(request);
    return realFetch(request);
  }) as typeof globalThis.fetch;
  return { ...ctx, fetch };
}

describe("refresh before the request", () => {
  test("an expired token is refreshed; the rotated tokens are saved 0600, every other key untouched", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST, ...GO_KEYS }));
    const { value: result, refreshGrants, reuse } = await counting(() => me(s.ctx, { json: false }));
    expect(result.user.email).toBe("user@example.com");
    expect(refreshGrants).toBe(1);
    expect(reuse).toBe(0);

    const stored = s.stored();
    expect(Object.keys(stored).sort()).toEqual(["api_url", "auth_token", "expires_at", "refresh_token", "settings", "version"]);
    expect(stored).toMatchObject({ api_url: server.url, ...GO_KEYS });
    expect(stored.auth_token).not.toBe(s.tokens.access_token);
    expect(stored.refresh_token).not.toBe(s.tokens.refresh_token);
    expect(Math.abs(Date.parse(stored.expires_at) - (Date.now() + 3600_000))).toBeLessThan(15_000);
    expect(statSync(s.path).mode & 0o777).toBe(0o600);
    // No lock or temp file left behind.
    expect(configFolderEntries(dirname(s.path))).toEqual([".pipeops.json"]);
    expect(await userinfoStatus(stored.auth_token)).toBe(200);
  });

  test("a token expiring within 60 s is refreshed; one with minutes left is used as it is", async () => {
    const soon = await session((t) => ({
      auth_token: t.access_token,
      refresh_token: t.refresh_token,
      expires_at: new Date(Date.now() + 30_000).toISOString(),
    }));
    const refreshed = await counting(() => token(soon.ctx));
    expect(refreshed.refreshGrants).toBe(1);
    expect(refreshed.value.token).toBe(soon.stored().auth_token);
    expect(refreshed.value.token).not.toBe(soon.tokens.access_token);

    const later = await session((t) => ({
      auth_token: t.access_token,
      refresh_token: t.refresh_token,
      expires_at: new Date(Date.now() + 5 * 60_000).toISOString(),
    }));
    const before = later.text();
    const kept = await counting(() => token(later.ctx));
    expect(kept.refreshGrants).toBe(0);
    expect(kept.value.token).toBe(later.tokens.access_token);
    expect(later.text()).toBe(before);
  });

  test("auth status reports the refreshed expiry", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST }));
    const result = await status(s.ctx, { json: true });
    if (!result.authenticated) throw new Error("expected an authenticated status");
    expect(result.problem).toBeNull();
    expect(result.expiresAt?.toISOString().replace(/\.\d+Z$/, "Z")).toBe(s.stored().expires_at);
    expect(result.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  test("auth token via the binary prints a token that works", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST }));
    const result = await runBinary(["auth", "token"], { env: { HOME: s.ctx.homedir } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`${s.stored().auth_token}\n`);
    expect(await userinfoStatus(result.stdout.trim())).toBe(200);
  });

  test("another process's refresh made while we waited is used, not repeated", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST }));
    const ours = await requireSession(s.ctx);
    // Another process refreshes first...
    const other = testContext({ home: s.ctx.homedir });
    const theirs = await counting(() => token(other));
    expect(theirs.refreshGrants).toBe(1);
    // ...then we, still holding the expired session we read before, get theirs without a grant.
    const { value: fresh, refreshGrants, reuse } = await counting(() => freshSession(s.ctx, ours));
    expect(refreshGrants).toBe(0);
    expect(reuse).toBe(0);
    expect(fresh.accessToken).toBe(theirs.value.token);
  });
});

describe("a 401 on a token that looked valid", () => {
  test("refreshes once and retries once", async () => {
    const s = await session((t) => ({ auth_token: "revoked-elsewhere", refresh_token: t.refresh_token, expires_at: "2099-01-01T00:00:00Z" }));
    const { value: result, refreshGrants } = await counting(() => me(s.ctx, { json: false }));
    expect(result.user.id).toBe("usr_1234567890");
    expect(refreshGrants).toBe(1);
    expect(s.stored().auth_token).not.toBe("revoked-elsewhere");
  });

  test("without a refresh token it is the spec's invalid-token error", async () => {
    const s = await session(() => ({ auth_token: "revoked-elsewhere", expires_at: "2099-01-01T00:00:00Z" }));
    const { refreshGrants } = await counting(async () => {
      await expect(me(s.ctx, { json: false })).rejects.toThrow("invalid authentication token");
    });
    expect(refreshGrants).toBe(0);
  });
});

describe("when the refresh fails", () => {
  test("invalid_grant: the spec's expired-token error and hint, exit 1, credentials left as they were", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: "spent-or-revoked", expires_at: PAST }));
    const before = s.text();
    const error = await token(s.ctx).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe("authentication token has expired");
    expect((error as CliError).hint).toBe(RELOGIN_HINT);

    for (const command of ["status", "token"]) {
      const result = await runBinary(["auth", command], { env: { HOME: s.ctx.homedir } });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n",
      });
    }
    expect(s.text()).toBe(before);
  });

  test("a network error is transient: a clear error, and the stored tokens kept", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST }));
    const before = s.text();
    // The token endpoint alone is unreachable: port 9 on loopback refuses connections.
    const ctx = interceptTokenEndpoint(s.ctx, (request) => fetch(new Request("http://127.0.0.1:9/token", request)));
    const error = (await token(ctx).catch((caught: unknown) => caught)) as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toBe(`could not refresh the access token: could not reach ${server.url}: connection refused`);
    expect(error.hint).toBe("Your session was kept; check your connection and try again");
    expect(s.text()).toBe(before);
    // Still refreshable once the server is back.
    const { refreshGrants } = await counting(() => token(s.ctx));
    expect(refreshGrants).toBe(1);
  });

  test("a 5xx is transient: a clear error, and the stored tokens kept", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST }));
    const before = s.text();
    const ctx = interceptTokenEndpoint(s.ctx, async () => new Response("upstream down", { status: 503 }));
    // auth status reports the failure as its result (exit 1), so --json still prints one document.
    const error = (await status(ctx, { json: false })).problem as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toBe(`could not refresh the access token: ${server.url} failed (HTTP 503)`);
    expect(s.text()).toBe(before);
    expect(s.ctx.err()).toBe("");
  });
});

describe("whose credentials are refreshed", () => {
  test("PIPEOPS_AUTH_TOKEN is never refreshed nor written", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST }), {
      PIPEOPS_AUTH_TOKEN: "ci-token",
    });
    const before = s.text();
    const { value, refreshGrants } = await counting(() => token(s.ctx));
    expect(value.token).toBe("ci-token");
    expect(refreshGrants).toBe(0);
    expect(s.text()).toBe(before);
  });

  test("the Go CLI's nested credentials: refreshed into our top-level keys and into theirs, so its next run has the live session (a spent refresh token there would end it)", async () => {
    const s = await session((t) => ({
      oauth: { access_token: t.access_token, refresh_token: t.refresh_token, expires_at: PAST, token_type: "Bearer" },
      ...GO_KEYS,
    }));
    const goBefore = s.stored().oauth;
    const { value: result, refreshGrants } = await counting(() => me(s.ctx, { json: false }));
    expect(result.user.email).toBe("user@example.com");
    expect(refreshGrants).toBe(1);
    const stored = s.stored();
    expect(stored.oauth).toEqual({
      ...goBefore,
      access_token: stored.auth_token,
      refresh_token: stored.refresh_token,
      expires_at: stored.expires_at,
    });
    expect(stored).toMatchObject(GO_KEYS);
    expect(typeof stored.auth_token).toBe("string");
    expect(stored.refresh_token).not.toBe(goBefore.refresh_token);
    expect(Date.parse(stored.expires_at)).toBeGreaterThan(Date.now());
    // The next run uses our keys and does not refresh again.
    expect((await counting(() => me(testContext({ home: s.ctx.homedir }), { json: false }))).refreshGrants).toBe(0);
  });

  test("an expired session without a refresh token is not refreshed", async () => {
    const s = await session((t) => ({ auth_token: t.access_token, expires_at: PAST }));
    const { refreshGrants } = await counting(async () => {
      await expect(token(s.ctx)).rejects.toThrow("authentication token has expired");
    });
    expect(refreshGrants).toBe(0);
    expect(existsSync(`${s.path}.lock`)).toBe(false);
  });
});
