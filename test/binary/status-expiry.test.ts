/**
 * `auth status --min-remaining` and JWT expiry, on the compiled binary against the PipeOps-shaped
 * server: will the credential last the job? Renewed when it can be, exit 3 when it will not last.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { runBinary } from "../helpers/binary.ts";
import { homeWithSession, tempDir } from "../helpers/context.ts";
import { pipeopsLogin } from "../helpers/flows.ts";

let server: PipeOpsServer;
/** Tokens of 20 minutes, as a server with short sessions issues them. */
let short: PipeOpsServer;

beforeAll(async () => {
  [server, short] = await Promise.all([startPipeOpsServer(), startPipeOpsServer({ accessTokenTtl: 1200 })]);
});
afterAll(async () => {
  await Promise.all([server?.close(), short?.close()]);
});

/** A session whose access token the file says ends in `minutes`. */
async function session(on: PipeOpsServer, minutes: number, withRefresh = true) {
  const tokens = await pipeopsLogin(on);
  const expiresAt = new Date(Date.now() + minutes * 60_000).toISOString();
  return homeWithSession(tokens, on.url, { expires_at: expiresAt, ...(withRefresh ? {} : { refresh_token: undefined }) });
}

const status = (args: string[], env: Record<string, string>) => runBinary(["auth", "status", ...args], { env });

describe("--min-remaining", () => {
  test("a session that would end inside the window is renewed now, under the lock, and passes", async () => {
    const { env, path } = await session(server, 30);
    const grants = server.stats.refreshGrants;
    const result = await status(["--min-remaining", "45m", "--json"], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ authenticated: true, token_valid: true, min_remaining_ok: true });
    expect(document.remaining_seconds).toBeGreaterThan(3500);
    expect(server.stats.refreshGrants).toBe(grants + 1);
    expect(new Date(JSON.parse(readFileSync(path, "utf8")).expires_at).getTime()).toBeGreaterThan(Date.now() + 3500_000);
  });

  test("a session that lasts long enough is left alone", async () => {
    const { env } = await session(server, 50);
    const grants = server.stats.refreshGrants;
    expect((await status(["--min-remaining", "45m"], env)).code).toBe(0);
    expect(server.stats.refreshGrants).toBe(grants);
  });

  test("renewed, but the server's tokens are shorter than the window: exit 3 and a line saying when it expires", async () => {
    const { env } = await session(short, 10);
    const result = await status(["--min-remaining", "1h"], env);
    expect(result.code).toBe(3);
    expect(result.stdout).toStartWith(`✓ Authenticated as ${server.user.email}\nToken expires: `);
    expect(result.stderr).toMatch(
      /^Error: the token expires in (19|20)m, sooner than the 1h --min-remaining asks for\nRun 'pipeops auth login' for a new session, or use a token that lasts longer\n$/,
    );
    const json = await status(["--min-remaining", "1h", "--json"], env);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ token_valid: true, min_remaining_ok: false });
  });

  test("no refresh token: nothing to renew, exit 3 at once, and no grant", async () => {
    const { env } = await session(server, 30, false);
    const grants = server.stats.refreshGrants;
    const result = await status(["--min-remaining", "45m"], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toStartWith("Error: the token expires in 29m, sooner than the 45m --min-remaining asks for\n");
    expect(server.stats.refreshGrants).toBe(grants);
  });

  test("a service-account token never expires: exit 0 for any window, remaining_seconds null", async () => {
    const env = { HOME: tempDir(), PIPEOPS_API_URL: server.url, PIPEOPS_TOKEN: server.issueServiceToken() };
    const result = await status(["--min-remaining", "365d", "--json"], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ token_type: "service_account", remaining_seconds: null, min_remaining_ok: true });
  });

  test("not authenticated stays exit 1; a bad duration is a usage error, exit 2, before anything is read", async () => {
    expect((await status(["--min-remaining", "45m"], { HOME: tempDir(), PIPEOPS_API_URL: server.url })).code).toBe(1);
    for (const bad of ["45", "soon", "-5m", "0s", "400d", "1w"]) {
      const result = await status(["--min-remaining", bad], { HOME: tempDir() });
      expect({ bad, code: result.code }).toEqual({ bad, code: 2 });
      expect(result.stderr).toStartWith("Error: --min-remaining takes a duration such as 90s, 45m, 2h or 1d, got ");
    }
  });
});

describe("JWT expiry for tokens that come without one", () => {
  test("PIPEOPS_AUTH_TOKEN holding a JWT: status shows when it expires, by its exp claim", async () => {
    const token = server.issueJwt(3600);
    const env = { HOME: tempDir(), PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: token };
    const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp as number;
    const result = await status(["--json"], env);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.expires_at).toBe(new Date(exp * 1000).toISOString().replace(".000Z", "Z"));
    expect(document.token_expires_in_seconds).toBeGreaterThan(3590);
    expect((await status([], env)).stdout).toMatch(/^✓ Authenticated as \S+\nToken expires: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nServer: /);
  });

  test("--min-remaining judges a JWT from the environment by its exp: never renewed (there is nothing to renew with)", async () => {
    const env = { HOME: tempDir(), PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: server.issueJwt(600) };
    const result = await status(["--min-remaining", "30m"], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toStartWith("Error: the token expires in 9m, sooner than the 30m --min-remaining asks for\n");
    expect((await status(["--min-remaining", "5m"], env)).code).toBe(0);
  });

  test("an opaque token says nothing: no expiry shown, and --min-remaining cannot fail on it", async () => {
    const tokens = await pipeopsLogin(server);
    const env = { HOME: tempDir(), PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: tokens.access_token };
    const result = await status(["--min-remaining", "2h", "--json"], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ expires_at: null, remaining_seconds: null, min_remaining_ok: true });
  });
});

describe("a wrong local clock, on the binary: expiry is judged by the server's clock (its Date header)", () => {
  /** The server behind a proxy whose Date header is `skewMs` ahead of this machine's clock: a local clock that far behind. */
  function skewed(upstream: string, skewMs: number) {
    return Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        const url = new URL(request.url);
        const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
          method: request.method,
          headers: request.headers,
          body: request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer(),
        });
        const headers = new Headers(answer.headers);
        headers.set("date", new Date(Date.now() + skewMs).toUTCString());
        headers.delete("content-encoding");
        return new Response(await answer.arrayBuffer(), { status: answer.status, headers });
      },
    });
  }

  test("a token the local clock gives 30 minutes, expired an hour ago by the server's: renewed before use, with one grant", async () => {
    const proxy = skewed(server.url, 90 * 60_000);
    try {
      const url = `http://127.0.0.1:${proxy.port}`;
      const tokens = await pipeopsLogin(server);
      const { env, path } = homeWithSession(tokens, url, { expires_at: new Date(Date.now() + 30 * 60_000).toISOString() });
      const grants = server.stats.refreshGrants;
      const result = await runBinary(["auth", "token"], { env: { ...env, PIPEOPS_API_URL: url } });
      expect(result.code).toBe(0);
      expect(server.stats.refreshGrants).toBe(grants + 1);
      const stored = JSON.parse(readFileSync(path, "utf8"));
      expect(result.stdout).toBe(`${stored.auth_token}\n`);
      expect(stored.auth_token).not.toBe(tokens.access_token);
      // The same session with an honest clock: 30 minutes left, nothing renewed.
      const honest = homeWithSession(tokens, server.url, { expires_at: new Date(Date.now() + 30 * 60_000).toISOString() });
      const before = server.stats.refreshGrants;
      expect((await runBinary(["auth", "token"], { env: honest.env })).stdout).toBe(`${tokens.access_token}\n`);
      expect(server.stats.refreshGrants).toBe(before);
    } finally {
      proxy.stop(true);
    }
  });
});
