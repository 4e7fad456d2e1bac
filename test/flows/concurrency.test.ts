/**
 * Many `pipeops` processes, one credential file, a server that rotates refresh tokens and revokes
 * the whole session when a spent one is replayed: exactly one refresh, nobody logged out.
 * Runs the compiled binary (`npm run build` first; `npm test` does).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, type DevServerOptions, startDevServer } from "../../scripts/dev-server.ts";
import { type RunResult, runBinary } from "../helpers/binary.ts";
import { configFolderEntries, tempDir } from "../helpers/context.ts";
import { loginWithAuthorizationCode } from "../helpers/flows.ts";

let server: DevServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A dev server and a fresh login stored in a temp HOME, with its expiry set by `expiresAt`. */
async function loggedIn(options: DevServerOptions, expiresAt: (expiresIn: number) => string) {
  server = await startDevServer({ port: 0, ...options });
  const tokens = await loginWithAuthorizationCode(server);
  const home = tempDir();
  const path = join(home, ".pipeops.json");
  const file = { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: expiresAt(tokens.expires_in), api_url: server.url };
  writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
  return { server, home, path, tokens };
}

/** `count` processes of `pipeops auth status`, all spawned before any is awaited. */
function statusProcesses(home: string, count: number): Promise<RunResult[]> {
  return Promise.all(Array.from({ length: count }, () => runBinary(["auth", "status"], { env: { HOME: home }, timeoutMs: 45_000 })));
}

const AUTHENTICATED = /^✓ Authenticated as user@example\.com\nToken expires: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nServer: http:\/\/127\.0\.0\.1:\d+\n$/;

function failures(results: RunResult[]): RunResult[] {
  return results.filter((result) => result.code !== 0 || !AUTHENTICATED.test(result.stdout) || result.stderr !== "");
}

describe("one expired session, many processes", () => {
  test("8 `auth status` at once: all succeed, the server sees one refresh grant and no reuse", async () => {
    const { server, home, path, tokens } = await loggedIn({}, () => "2020-01-01T00:00:00Z");
    const results = await statusProcesses(home, 8);
    expect(failures(results)).toEqual([]);
    expect(server.stats.refreshGrants).toBe(1);
    expect(server.stats.refreshReuseDetected).toBe(0);
    expect(server.stats.revocations).toBe(0);

    const stored = JSON.parse(readFileSync(path, "utf8"));
    expect(stored.auth_token).not.toBe(tokens.access_token);
    expect(stored.refresh_token).not.toBe(tokens.refresh_token);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(configFolderEntries(home)).toEqual([".pipeops.json"]);

    // Every process reported the one refreshed expiry.
    expect(new Set(results.map((result) => result.stdout)).size).toBe(1);
    // The session is still alive afterwards.
    const later = await runBinary(["auth", "status"], { env: { HOME: home } });
    expect(failures([later])).toEqual([]);
    expect(server.stats.refreshGrants).toBe(1);
  }, 60_000);

  test("20 rounds of 4 processes with a 2-second token lifetime: no failures", async () => {
    const { server, home } = await loggedIn({ accessTokenTtl: 2 }, (expiresIn) => new Date(Date.now() + expiresIn * 1000).toISOString());
    const failed: RunResult[] = [];
    for (let round = 0; round < 20; round++) failed.push(...failures(await statusProcesses(home, 4)));
    expect(failed).toEqual([]);
    expect(server.stats.refreshReuseDetected).toBe(0);
    expect(server.stats.revocations).toBe(0);
    // Each round found the token within a minute of expiry and refreshed at least once.
    expect(server.stats.refreshGrants).toBeGreaterThanOrEqual(20);
    const later = await runBinary(["auth", "status"], { env: { HOME: home } });
    expect(failures([later])).toEqual([]);
  }, 120_000);

  test("one file reached by two names (a symlink, and PIPEOPS_CONFIG_PATH naming the real file): one lock, one refresh, no reuse", async () => {
    const { server, home, path } = await loggedIn({}, () => "2020-01-01T00:00:00Z");
    // The real file elsewhere; HOME's ~/.pipeops.json a link to it.
    const real = join(tempDir(), "real.json");
    writeFileSync(real, readFileSync(path), { mode: 0o600 });
    const linked = tempDir();
    symlinkSync(real, join(linked, ".pipeops.json"));
    const run = (env: Record<string, string>) => runBinary(["auth", "status"], { env, timeoutMs: 45_000 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? run({ HOME: linked }) : run({ HOME: home, PIPEOPS_CONFIG_PATH: real }))),
    );
    expect(failures(results)).toEqual([]);
    expect(server.stats.refreshGrants).toBe(1);
    expect(server.stats.refreshReuseDetected).toBe(0);
    expect(server.stats.revocations).toBe(0);
  }, 60_000);
});
