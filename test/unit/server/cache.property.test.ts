/**
 * Whatever the server cache holds (written by another job, another tool, or an attacker), the
 * connection made from it sends nothing off the API's origin: every endpoint a token, a code or a
 * verifier would go to is the API's own. Random cache files against the real local server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { type DevServer, startDevServer } from "../../../scripts/dev-server.ts";
import { connect } from "../../../src/server/connect.ts";
import { tempDir, testContext } from "../../helpers/context.ts";

const SEED = Number(process.env.PIPEOPS_FUZZ_SEED ?? 20_240_601);
const CASES = 200;

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer({ port: 0 });
});
afterAll(async () => {
  await server?.close();
});

describe("random cache contents", () => {
  test(`a connection made from any cache file sends nothing off the API's origin (${CASES} cases)`, async () => {
    const home = tempDir();
    const cacheDir = join(home, ".cache", "pipeops");
    const origin = new URL(server.url).origin;
    let believed = 0;
    // Endpoints as a cache may name them: the server's own, a decoy's on loopback (which the
    // cache's own schema accepts), or another https host.
    const endpoint = fc.constantFrom(
      `${server.url}/token`,
      `${server.url}/me`,
      `${server.url}/auth`,
      "http://127.0.0.1:9/steal",
      "http://localhost:1/x",
      "https://evil.example/t",
    );
    const metadata = fc.record(
      {
        issuer: fc.constantFrom(`${server.url}/`, server.url, "http://127.0.0.1:9/", "https://evil.example/"),
        authorization_endpoint: endpoint,
        token_endpoint: endpoint,
        userinfo_endpoint: endpoint,
        device_authorization_endpoint: endpoint,
        revocation_endpoint: endpoint,
      },
      { requiredKeys: ["issuer"] },
    );
    // Mostly a well-formed entry for this server (so the cache is believed unless a check refuses
    // it); sometimes the PipeOps kind, random entries, or text that is no cache at all.
    const entry = (facts: fc.Arbitrary<unknown>) =>
      fc.record({ facts, learned_at: fc.constant(Date.now()), clock_offset_ms: fc.integer({ min: -5000, max: 5000 }) });
    const cacheFile = fc.oneof(
      {
        weight: 6,
        arbitrary: entry(metadata.map((m) => ({ kind: "standard", metadata: m }))).map((e) => JSON.stringify({ version: 1, servers: { [server.url]: e } })),
      },
      { weight: 1, arbitrary: entry(fc.constant({ kind: "pipeops" })).map((e) => JSON.stringify({ version: 1, servers: { [server.url]: e } })) },
      {
        weight: 1,
        arbitrary: fc.dictionary(fc.string({ maxLength: 30 }), entry(fc.anything()), { maxKeys: 3 }).map((servers) => JSON.stringify({ version: 1, servers })),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    );
    await fc.assert(
      fc.asyncProperty(cacheFile, async (text) => {
        mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
        writeFileSync(join(cacheDir, "servers.json"), text, { mode: 0o600 });
        const ctx = testContext({ home, env: { PIPEOPS_API_URL: server.url } });
        const conn = await connect(ctx, new URL(server.url));
        if (conn.cached) believed++;
        for (const key of ["token_endpoint", "userinfo_endpoint", "device_authorization_endpoint", "revocation_endpoint"] as const) {
          const value = conn.as[key];
          if (typeof value === "string") expect(new URL(value).origin).toBe(origin);
        }
        expect(new URL(conn.as.issuer).origin).toBe(origin);
        // The sign-in page: the API's origin, or the console's (production's, by default).
        const signIn = conn.as.authorization_endpoint;
        if (signIn) expect([origin, "https://console.pipeops.io"]).toContain(new URL(signIn).origin);
      }),
      { seed: SEED + 30, numRuns: CASES },
    );
    // The cases reached the check: many caches were believed, so many were refused by it.
    expect(believed).toBeGreaterThan(CASES / 20);
  }, 120_000);
});
