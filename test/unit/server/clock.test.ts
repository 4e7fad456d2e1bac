/**
 * Clock skew: the server's Date header corrects a wrong local clock, so expiry is judged in server
 * time. Fake responses (the dev server cannot lie about its Date) and an injected local clock.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { offsetFromDate, ServerClock } from "../../../src/server/clock.ts";
import { freshSession } from "../../../src/session/authenticated.ts";
import { expiresSoon, requireSession } from "../../../src/session/session.ts";
import { testContext } from "../../helpers/context.ts";

const HOUR = 3_600_000;
/** The server's "true" time in these tests, on a whole second (Date headers carry seconds). */
const SERVER_NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const httpDate = (ms: number) => new Date(ms).toUTCString();

describe("offsetFromDate", () => {
  test("is 0 when the clocks agree within the header's precision", () => {
    expect(offsetFromDate(httpDate(SERVER_NOW), SERVER_NOW + 200, SERVER_NOW + 900)).toBe(0);
    expect(offsetFromDate(httpDate(SERVER_NOW), SERVER_NOW - 800, SERVER_NOW - 600)).toBe(0);
    expect(offsetFromDate(httpDate(SERVER_NOW), SERVER_NOW - 3000, SERVER_NOW - 2900)).not.toBe(0);
  });

  test("measures a fast and a slow local clock", () => {
    const fast = offsetFromDate(httpDate(SERVER_NOW), SERVER_NOW + HOUR, SERVER_NOW + HOUR + 100)!;
    expect(Math.abs(fast + HOUR)).toBeLessThan(1_000);
    const slow = offsetFromDate(httpDate(SERVER_NOW), SERVER_NOW - 5 * 60_000, SERVER_NOW - 5 * 60_000 + 100)!;
    expect(Math.abs(slow - 5 * 60_000)).toBeLessThan(1_000);
  });

  test("ignores a missing or malformed header", () => {
    expect(offsetFromDate(null, SERVER_NOW, SERVER_NOW)).toBeUndefined();
    expect(offsetFromDate("yesterday", SERVER_NOW, SERVER_NOW)).toBeUndefined();
    expect(offsetFromDate("Mon, 32 Foo 2030 99:00:00 GMT", SERVER_NOW, SERVER_NOW)).toBeUndefined();
  });
});

describe("ServerClock", () => {
  test("a local clock an hour fast: server time and expiry come out in server time", () => {
    const local = SERVER_NOW + HOUR;
    const clock = new ServerClock(() => local);
    expect(clock.now()).toBe(local);
    clock.observe(new Response(null, { headers: { date: httpDate(SERVER_NOW) } }), local - 50);
    expect(Math.abs(clock.now() - SERVER_NOW)).toBeLessThan(1_000);
    const expiry = clock.expiresAt(3600, local - 50)!.getTime();
    expect(Math.abs(expiry - (SERVER_NOW + HOUR))).toBeLessThan(1_000);
    expect(clock.expiresAt(undefined, local)).toBeUndefined();
  });

  test("a response without Date keeps the last measurement", () => {
    const clock = new ServerClock(() => SERVER_NOW - HOUR);
    clock.observe(new Response(null, { headers: { date: httpDate(SERVER_NOW) } }), SERVER_NOW - HOUR);
    clock.observe(new Response(null), SERVER_NOW - HOUR);
    expect(Math.abs(clock.offsetMs - HOUR)).toBeLessThan(1_000);
  });
});

/**
 * An in-process authorization server answering on a loopback URL that is never dialled: metadata
 * and a token endpoint, every response dated by the server's clock.
 */
function fakeServer(serverNow: () => number) {
  const url = "http://127.0.0.1:1";
  const seen: string[] = [];
  let issued = 0;
  const fetch = (async (input: RequestInfo | URL) => {
    const request = input instanceof Request ? input : new Request(input);
    const path = new URL(request.url).pathname;
    seen.push(`${request.method} ${path}`);
    const headers = { date: httpDate(serverNow()), "content-type": "application/json" };
    if (path === "/.well-known/oauth-authorization-server") {
      return new Response(JSON.stringify({ issuer: url, token_endpoint: `${url}/token`, userinfo_endpoint: `${url}/me` }), { headers });
    }
    if (path === "/token" && request.method === "POST") {
      issued += 1;
      const body = { access_token: `at-${issued}`, refresh_token: `rt-${issued}`, token_type: "Bearer", expires_in: 3600 };
      return new Response(JSON.stringify(body), { headers });
    }
    return new Response("{}", { status: 404, headers });
  }) as typeof globalThis.fetch;
  return { url, seen, fetch, tokenRequests: () => seen.filter((line) => line === "POST /token").length };
}

function skewedContext(localNow: number, server: ReturnType<typeof fakeServer>, expiresAt: number) {
  const ctx = { ...testContext({ now: localNow }), fetch: server.fetch };
  const path = join(ctx.homedir, ".pipeops.json");
  const file = { auth_token: "at-0", refresh_token: "rt-0", expires_at: new Date(expiresAt).toISOString(), api_url: server.url };
  writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
  return { ctx, path };
}

describe("refresh decisions in server time", () => {
  test("a local clock an hour fast does not refresh a token with 10 minutes left", async () => {
    const server = fakeServer(() => SERVER_NOW);
    const { ctx } = skewedContext(SERVER_NOW + HOUR, server, SERVER_NOW + 10 * 60_000);
    const session = await requireSession(ctx);
    // Judged by the local clock alone, the token would look long dead.
    expect(expiresSoon(session, ctx.now())).toBe(true);
    expect((await freshSession(ctx, session)).accessToken).toBe("at-0");
    expect(server.tokenRequests()).toBe(0);
  });

  test("a fast clock, after a refresh, stores the server-time expiry and does not refresh again", async () => {
    const server = fakeServer(() => SERVER_NOW);
    const { ctx, path } = skewedContext(SERVER_NOW + HOUR, server, SERVER_NOW - 1_000);
    expect((await freshSession(ctx, await requireSession(ctx))).accessToken).toBe("at-1");
    const stored = JSON.parse(readFileSync(path, "utf8"));
    expect(Math.abs(Date.parse(stored.expires_at) - (SERVER_NOW + HOUR))).toBeLessThanOrEqual(1_000);
    // The next process, same wrong clock: the new token is fresh.
    const next = { ...testContext({ now: SERVER_NOW + HOUR, home: ctx.homedir }), fetch: server.fetch };
    expect((await freshSession(next, await requireSession(next))).accessToken).toBe("at-1");
    expect(server.tokenRequests()).toBe(1);
  });

  test("a local clock an hour slow does not use a token the server considers dead", async () => {
    const server = fakeServer(() => SERVER_NOW);
    const { ctx, path } = skewedContext(SERVER_NOW - HOUR, server, SERVER_NOW - 10_000);
    const session = await requireSession(ctx);
    // By the local clock it has almost an hour left.
    expect(expiresSoon(session, ctx.now())).toBe(false);
    expect((await freshSession(ctx, session)).accessToken).toBe("at-1");
    expect(server.tokenRequests()).toBe(1);
    const stored = JSON.parse(readFileSync(path, "utf8"));
    expect(stored).toMatchObject({ auth_token: "at-1", refresh_token: "rt-1" });
    expect(Math.abs(Date.parse(stored.expires_at) - (SERVER_NOW + HOUR))).toBeLessThanOrEqual(1_000);
  });
});
