import { afterEach, describe, expect, test } from "bun:test";
import { CliError } from "../../../src/errors.ts";
import { createHttpFetch, retryAfterMs } from "../../../src/server/http.ts";
import { assertSecureUrl, isLoopbackHost } from "../../../src/server/url.ts";
import { testContext } from "../../helpers/context.ts";

const servers: { stop(force?: boolean): unknown }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.stop(true);
});

function serve(handler: (request: Request, hits: number) => Response | Promise<Response>) {
  let hits = 0;
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request, ++hits) });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}`, hits: () => hits };
}

/** A server that answers every request with these bytes as they are, then hangs up: HTTP as no framework would send it. */
function serveRaw(...answer: (string | Uint8Array)[]) {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        for (const part of answer) socket.write(part);
        socket.end();
      },
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}` };
}

const noWait = { sleep: async () => {} };
function httpFetch(env: Record<string, string> = {}) {
  const ctx = testContext({ env });
  return createHttpFetch({ ...ctx, ...noWait });
}

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe("loopback and HTTPS", () => {
  test("only loopback hosts may use plain http", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "api.localhost"]) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["10.0.0.1", "example.com", "127.0.0.1.nip.io", "localhost.example.com"]) expect(isLoopbackHost(host)).toBe(false);
    expect(() => assertSecureUrl(new URL("https://api.pipeops.io"))).not.toThrow();
    expect(() => assertSecureUrl(new URL("http://127.0.0.1:9"))).not.toThrow();
    expect(() => assertSecureUrl(new URL("http://api.pipeops.io"))).toThrow(/HTTPS is required/);
  });

  test("an http:// URL to another host is refused before any request", async () => {
    const calls: string[] = [];
    const ctx = testContext();
    const guarded = createHttpFetch({
      ...ctx,
      fetch: (async (input: RequestInfo | URL) => {
        calls.push(String(input));
        return new Response("{}");
      }) as typeof fetch,
    });
    const error = await failure(guarded("http://example.com/userinfo"));
    expect(error.code).toBe("insecure_url");
    expect(calls).toEqual([]);
  });
});

describe("failures are one line that names the server", () => {
  test("connection refused", async () => {
    const error = await failure(httpFetch()("http://127.0.0.1:9/.well-known/openid-configuration"));
    expect(error.message).toBe("could not reach http://127.0.0.1:9: connection refused");
  });

  test("a server that accepts and never answers times out (PIPEOPS_HTTP_TIMEOUT)", async () => {
    const { url } = serve(() => new Promise<Response>(() => {}));
    const started = Date.now();
    const error = await failure(httpFetch({ PIPEOPS_HTTP_TIMEOUT: "0.5" })(`${url}/x`));
    expect(error.message).toBe(`${url} did not respond within 0.5 s`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("a body over 1 MiB is refused", async () => {
    const { url } = serve(() => new Response("x".repeat(1024 * 1024 + 1)));
    expect((await failure(httpFetch()(`${url}/big`))).message).toBe(`the response from ${url} is too large (over 1 MiB)`);
  });

  test("a streamed body over 1 MiB (no content-length) is refused too", async () => {
    const chunk = new Uint8Array(64 * 1024);
    const { url } = serve(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(chunk);
            },
          }),
        ),
    );
    expect((await failure(httpFetch()(`${url}/stream`))).message).toContain("too large");
  });

  test("a gzip body, small on the wire and over 1 MiB unpacked, is refused: only a body read as sent is read at once", async () => {
    const packed = Bun.gzipSync(new Uint8Array(2 * 1024 * 1024));
    const { url } = serve(() => new Response(packed, { headers: { "content-encoding": "gzip" } }));
    expect((await failure(httpFetch()(`${url}/bomb`))).message).toBe(`the response from ${url} is too large (over 1 MiB)`);
  });

  test("a body of declared length ends there, whatever the server sends after it", async () => {
    const { url } = serveRaw(
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello, and 2 MiB more: ",
      new Uint8Array(2 * 1024 * 1024),
    );
    const response = await httpFetch()(`${url}/framed`);
    expect(await response.text()).toBe("hello");
  });

  test("a body shorter than its declared length is a network failure, not a short answer", async () => {
    const { url } = serveRaw("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this");
    const error = await failure(httpFetch()(`${url}/short`));
    expect(error.code).toBe("network");
  });

  test("a bad PIPEOPS_HTTP_TIMEOUT is a usage error", () => {
    expect(() => httpFetch({ PIPEOPS_HTTP_TIMEOUT: "soon" })).toThrow(/PIPEOPS_HTTP_TIMEOUT must be a positive number/);
    // Huge values used to overflow the timer into an immediate timeout.
    for (const huge of ["1e9", "601", "3000000"])
      expect(() => httpFetch({ PIPEOPS_HTTP_TIMEOUT: huge })).toThrow(
        /^PIPEOPS_HTTP_TIMEOUT must be (at most 600 seconds|a positive number of seconds, got '1e9')$/,
      );
    expect(() => httpFetch({ PIPEOPS_HTTP_TIMEOUT: "600" })).not.toThrow();
  });
});

describe("bodies read whole or streamed", () => {
  const streaming = () => createHttpFetch({ ...testContext(), ...noWait }, { stream: true });

  test("streamed, a gzip body is unpacked as it comes, past 1 MiB: only a body of declared, unencoded length is read at once", async () => {
    const unpacked = new Uint8Array(2 * 1024 * 1024).fill(7);
    const { url } = serve(() => new Response(Bun.gzipSync(unpacked), { headers: { "content-encoding": "gzip" } }));
    const body = await (await streaming()(`${url}/packed`)).bytes();
    expect(body.length).toBe(unpacked.length);
    expect(body.every((byte) => byte === 7)).toBe(true);
  });

  test("a HEAD answer that declares a length has no body, and does not wait for one", async () => {
    const { url } = serve(() => new Response("x".repeat(46), { headers: { "content-type": "application/json" } }));
    for (const http of [httpFetch(), streaming()]) {
      const response = await http(`${url}/head`, { method: "HEAD" });
      expect(response.headers.get("content-length")).toBe("46");
      expect((await response.bytes()).length).toBe(0);
    }
  });

  test("a small body of declared length arrives whole, streamed or not", async () => {
    const { url } = serve(() => Response.json({ data: { email: "user@example.com" } }));
    for (const http of [httpFetch(), streaming()]) expect(await (await http(`${url}/small`)).json()).toEqual({ data: { email: "user@example.com" } });
  });
});

describe("retries", () => {
  test("idempotent requests retry 5xx and 429, at most 3 tries", async () => {
    const flaky = serve((_request, hits) => (hits < 3 ? new Response("busy", { status: hits === 1 ? 503 : 429 }) : Response.json({ ok: true })));
    const response = await httpFetch()(`${flaky.url}/x`);
    expect(await response.json()).toEqual({ ok: true });
    expect(flaky.hits()).toBe(3);

    const down = serve(() => new Response("down", { status: 500 }));
    expect((await httpFetch()(`${down.url}/x`)).status).toBe(500);
    expect(down.hits()).toBe(3);
  });

  test("POST is never retried", async () => {
    const down = serve(() => new Response("down", { status: 503 }));
    expect((await httpFetch()(`${down.url}/token`, { method: "POST", body: "a=b" })).status).toBe(503);
    expect(down.hits()).toBe(1);
  });

  test("Retry-After is read as seconds or an HTTP date", () => {
    const now = Date.parse("2024-01-01T00:00:00Z");
    expect(retryAfterMs("2", now)).toBe(2000);
    expect(retryAfterMs("Mon, 01 Jan 2024 00:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs("86400", now)).toBe(86_400_000);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  test("a Retry-After over 10 s is not waited out: the answer is returned at once", async () => {
    const waits: number[] = [];
    const limited = serve(() => new Response("", { status: 429, headers: { "retry-after": "60" } }));
    const ctx = testContext();
    const withClock = createHttpFetch({ ...ctx, sleep: async (ms: number) => void waits.push(ms) });
    expect((await withClock(`${limited.url}/x`)).status).toBe(429);
    expect(limited.hits()).toBe(1);
    expect(waits).toEqual([]);
  });

  test("the wait before a retry is the server's Retry-After", async () => {
    const waits: number[] = [];
    const flaky = serve((_r, hits) => (hits === 1 ? new Response("", { status: 429, headers: { "retry-after": "3" } }) : new Response("ok")));
    const ctx = testContext();
    const withClock = createHttpFetch({ ...ctx, sleep: async (ms: number) => void waits.push(ms) });
    expect(await (await withClock(`${flaky.url}/x`)).text()).toBe("ok");
    expect(waits).toEqual([3000]);
  });
});
