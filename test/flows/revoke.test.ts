/**
 * `auth logout --revoke` (RFC 7009) against the real local authorization server: the server stops
 * honouring the tokens; a failed revocation is a warning and the local logout still happens.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEV_CLIENT_ID, type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { command as logoutCommand } from "../../src/commands/auth/logout.ts";

const logout = logoutCommand.run;

import { runBinary } from "../helpers/binary.ts";
import { tempDir, testContext } from "../helpers/context.ts";
import { startFaultServer } from "../helpers/fault-server.ts";
import { loginWithAuthorizationCode, type TokenSet } from "../helpers/flows.ts";

// bunfig.toml's [test] timeout is not a Bun setting; servers and binaries need more than the 5 s default under load.
setDefaultTimeout(30_000);

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ port: 0 });
});
afterAll(() => server?.close());

const OTHER_KEYS = { settings: { output: "table" }, version: "1.0.0" };
const REVOKE_HINT = "The tokens stay valid until they expire; to revoke them now, use the web console: Settings > Security > Authorized Applications";

async function loggedIn(apiUrl?: string) {
  const tokens = await loginWithAuthorizationCode(server);
  const home = tempDir();
  const path = join(home, ".pipeops.json");
  const file = {
    auth_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: "2099-01-01T00:00:00Z",
    api_url: apiUrl ?? server.url,
    ...OTHER_KEYS,
  };
  writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
  return { tokens, home, path, stored: () => JSON.parse(readFileSync(path, "utf8")) };
}

async function userinfoStatus(tokens: TokenSet): Promise<number> {
  const response = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  await response.body?.cancel();
  return response.status;
}

async function refreshError(tokens: TokenSet): Promise<string | undefined> {
  const response = await fetch(`${server.url}/token`, {
    method: "POST",
    body: new URLSearchParams({ client_id: DEV_CLIENT_ID, grant_type: "refresh_token", refresh_token: tokens.refresh_token! }),
  });
  return ((await response.json()) as { error?: string }).error;
}

describe("auth logout --revoke", () => {
  test("revokes the refresh and the access token at the server, then removes the local credentials", async () => {
    const s = await loggedIn();
    const before = server.stats.revocations;
    const result = await runBinary(["auth", "logout", "--force", "--revoke"], { env: { HOME: s.home } });
    expect(result).toEqual({ code: 0, stdout: "✓ Revoked the tokens at the server\n✓ Successfully logged out\n", stderr: "" });
    expect(server.stats.revocations - before).toBe(2);
    expect(await userinfoStatus(s.tokens)).toBe(401);
    expect(await refreshError(s.tokens)).toBe("invalid_grant");
    expect(s.stored()).toEqual(OTHER_KEYS);
  });

  test("after the prompt, as in-process run() does", async () => {
    const s = await loggedIn();
    const ctx = testContext({ home: s.home, stdin: "y\n" });
    const result = await logout(ctx, { force: false, revoke: true });
    expect(result).toEqual({ outcome: "logged_out", revocation: { revoked: true } });
    expect(await userinfoStatus(s.tokens)).toBe(401);
  });

  test("a cancelled logout revokes nothing", async () => {
    const s = await loggedIn();
    const before = server.stats.revocations;
    const result = await logout(testContext({ home: s.home, stdin: "n\n" }), { force: false, revoke: true });
    expect(result.outcome).toBe("cancelled");
    expect(server.stats.revocations).toBe(before);
    expect(await userinfoStatus(s.tokens)).toBe(200);
  });

  test("without --revoke, no server call: the tokens stay valid at the server", async () => {
    const s = await loggedIn();
    const before = server.stats.revocations;
    const result = await runBinary(["auth", "logout", "--force"], { env: { HOME: s.home } });
    expect(result).toEqual({ code: 0, stdout: "✓ Successfully logged out\n", stderr: "" });
    expect(server.stats.revocations).toBe(before);
    expect(await userinfoStatus(s.tokens)).toBe(200);
    expect(s.stored()).toEqual(OTHER_KEYS);
  });
});

describe("a failed revocation is a warning; the local logout still happens", () => {
  test("an unreachable server", async () => {
    const s = await loggedIn("http://127.0.0.1:9");
    const result = await runBinary(["auth", "logout", "--force", "--revoke"], { env: { HOME: s.home } });
    expect(result).toEqual({
      code: 0,
      stdout: "✓ Successfully logged out\n",
      stderr: `Warning: could not revoke the tokens at the server: could not reach http://127.0.0.1:9: connection refused\n${REVOKE_HINT}\n`,
    });
    expect(s.stored()).toEqual(OTHER_KEYS);
  });

  test("a server that advertises no revocation_endpoint", async () => {
    const requests: string[] = [];
    const bare = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        const url = new URL(request.url);
        requests.push(`${request.method} ${url.pathname}`);
        if (url.pathname === "/.well-known/oauth-authorization-server") {
          return Response.json({ issuer: url.origin, token_endpoint: `${url.origin}/token` });
        }
        return new Response("not found", { status: 404 });
      },
    });
    try {
      const origin = `http://127.0.0.1:${bare.port}`;
      const s = await loggedIn(origin);
      const result = await runBinary(["auth", "logout", "--force", "--revoke"], { env: { HOME: s.home } });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("✓ Successfully logged out\n");
      expect(result.stderr).toBe(`Warning: could not revoke the tokens at the server: ${origin} does not support token revocation\n${REVOKE_HINT}\n`);
      expect(requests).toEqual(["GET /.well-known/oauth-authorization-server"]);
      expect(s.stored()).toEqual(OTHER_KEYS);
    } finally {
      bare.stop(true);
    }
  });

  test("the server refusing the request (a real refusal, from the fault proxy in front of the server): logged out, with the server's words", async () => {
    const proxy = await startFaultServer(server.url);
    try {
      proxy.use({
        path: "/token/revocation",
        fault: {
          kind: "answer",
          status: 401,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: "invalid_client", error_description: "client authentication failed" }),
        },
      });
      const s = await loggedIn(proxy.url);
      const result = await runBinary(["auth", "logout", "--force", "--revoke"], { env: { HOME: s.home } });
      expect(result).toEqual({
        code: 0,
        stdout: "✓ Successfully logged out\n",
        stderr: `Warning: could not revoke the tokens at the server: ${proxy.url} rejected the request (invalid_client: client authentication failed)\n${REVOKE_HINT}\n`,
      });
      expect(proxy.requests.filter((request) => request.path === "/token/revocation")).toHaveLength(1);
      expect(s.stored()).toEqual(OTHER_KEYS);
    } finally {
      await proxy.close();
    }
  });
});
