/**
 * Property tests for the authorization response on its way in: the loopback callback server's
 * request handling (random paths, hosts, methods, query strings with repeated parameters and odd
 * encodings), the validation of the response parameters, a pasted answer, and the pages that echo
 * server text. Seeded: set PIPEOPS_FUZZ_SEED to replay another run.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { CliError } from "../../../src/errors.ts";
import { CALLBACK_PATH, type CallbackRequest, startCallbackServer } from "../../../src/login/loopback.ts";
import { deniedPage, failedPage, renderPage } from "../../../src/login/pages.ts";
import { parsePastedAnswer } from "../../../src/login/paste.ts";
import { checkAuthorizationResponse } from "../../../src/oauth/code.ts";
import type { ServeOptions } from "../../../src/runtime/index.ts";
import { ServerClock } from "../../../src/server/clock.ts";
import type { ServerConnection } from "../../../src/server/connect.ts";
import { standardDialect } from "../../../src/server/standard.ts";
import { serverName } from "../../../src/server/url.ts";

setDefaultTimeout(60_000);

const SEED = Number(process.env.PIPEOPS_FUZZ_SEED ?? 20_240_601);
const CALLBACK_CASES = { loopback: 1000, validation: 1000, pasted: 800, pages: 500 };

const STATE = "st_0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
const ISSUER = "http://127.0.0.1:4010/";
const PORT = 5555;

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function connection(issParameter: boolean): ServerConnection {
  const as = { issuer: ISSUER, authorization_response_iss_parameter_supported: issParameter };
  const client = { client_id: "pipeops_public_client" };
  return {
    apiUrl: new URL(ISSUER),
    as,
    client,
    fetch,
    clock: new ServerClock(() => Date.now()),
    dialect: standardDialect({ as, client, server: serverName(new URL(ISSUER)), fetch }),
    cached: false,
    remembered: { facts: { kind: "pipeops" }, clockOffsetMs: 0 },
  };
}

// ---------------------------------------------------------------------------
// Query strings as a browser, a hostile page or a confused user may produce them.

const hostileValue = fc.oneof(
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom("", "\u001b[2J", "<script>alert(1)</script>", "a&b=c", "%", "%ZZ", "%ED%A0%80", "+", "%2B", "\u202e", "x".repeat(3000)),
);
const paramName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("code", "state", "error", "error_description", "error_uri", "iss", "session_state") },
  { weight: 1, arbitrary: fc.constantFrom("STATE", "state ", "code[]", "__proto__", "") },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
const paramValue = fc.oneof(
  { weight: 3, arbitrary: fc.constant(STATE) },
  { weight: 1, arbitrary: fc.constantFrom(`${STATE}x`, STATE.slice(1), STATE.toUpperCase(), ISSUER, "http://evil.example/", "access_denied", "abc123") },
  { weight: 3, arbitrary: hostileValue },
);
const encoding = fc.constantFrom("component", "raw", "double", "plus");

function encode(text: string, how: string): string {
  if (how === "raw") return text.replace(/[#\s]/g, "");
  if (how === "double") return encodeURIComponent(encodeURIComponent(text));
  if (how === "plus") return encodeURIComponent(text).replace(/%20/g, "+");
  return encodeURIComponent(text);
}

const safeEncode = (text: string, how: string) => {
  try {
    return encode(text, how);
  } catch {
    // encodeURIComponent refuses lone surrogates; send them the way a broken client would.
    return "%ED%A0%80";
  }
};

const queryString = fc
  .array(fc.tuple(paramName, paramValue, encoding), { maxLength: 8 })
  .map((params) => params.map(([name, value, how]) => `${safeEncode(name, how)}=${safeEncode(value, how)}`).join("&"));

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constant(CALLBACK_PATH) },
  { weight: 1, arbitrary: fc.constantFrom("/", "/callback/", "/CALLBACK", "/callback/../callback", "//callback", "/callback%2F", "/favicon.ico") },
);
const host = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(`127.0.0.1:${PORT}`, `localhost:${PORT}`, `LOCALHOST:${PORT}`) },
  { weight: 1, arbitrary: fc.constantFrom(`evil.example:${PORT}`, "127.0.0.1", `127.0.0.1:${PORT + 1}`, `[::1]:${PORT}`, "") },
);
const method = fc.oneof({ weight: 6, arbitrary: fc.constant("GET") }, { weight: 1, arbitrary: fc.constantFrom("POST", "HEAD", "PUT", "OPTIONS") });

/** The server with a fake `serve`: its request handler is called directly, no socket involved. */
function callbackServer() {
  let handler: ServeOptions["fetch"] | undefined;
  const server = startCallbackServer((options) => {
    handler = options.fetch;
    return { port: PORT, stop: async () => {} };
  }, STATE);
  let delivered: CallbackRequest | undefined;
  void server.callback.then((request) => (delivered = request));
  return { server, handle: (request: Request) => handler!(request), delivered: () => delivered };
}

describe("authorization responses on random input", () => {
  test(`the loopback server settles the login only for GET /callback on our host with our state (${CALLBACK_CASES.loopback} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(path, host, method, queryString, async (pathname, hostHeader, verb, query) => {
        const { handle, delivered, server } = callbackServer();
        const url = `http://127.0.0.1:${PORT}${pathname}${query ? `?${query}` : ""}`;
        const request = new Request(url, { method: verb, headers: hostHeader ? { host: hostHeader } : {} });
        const parsed = new URL(request.url);
        const shouldDeliver =
          ["127.0.0.1", "localhost", "[::1]"].includes(hostHeader.toLowerCase().replace(`:${PORT}`, "")) &&
          hostHeader.toLowerCase().endsWith(`:${PORT}`) &&
          parsed.pathname === CALLBACK_PATH &&
          verb === "GET" &&
          // Base64 padding is ignored: PipeOps may return the state without it.
          parsed.searchParams.get("state")?.replace(/=+$/, "") === STATE;
        const answer = handle(request);
        await Promise.resolve();
        await Promise.resolve();
        const callback = delivered();
        expect(callback !== undefined).toBe(shouldDeliver);
        if (callback) {
          // The parameters reach the login exactly as sent; the browser waits for the final page.
          expect(callback.params.toString()).toBe(parsed.searchParams.toString());
          callback.answer(failedPage("done"));
        }
        const response = await answer;
        if (!shouldDeliver) expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
        const html = await response.text();
        expect(html).not.toContain("<script");
        server.close();
      }),
      { seed: SEED + 20, numRuns: CALLBACK_CASES.loopback },
    );
  });

  test(`response parameters give a code or a typed one-line error (${CALLBACK_CASES.validation} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(queryString, fc.boolean(), async (query, issParameter) => {
        const params = new URLSearchParams(query);
        let grant: URLSearchParams;
        try {
          const granted = await checkAuthorizationResponse(connection(issParameter), params, STATE);
          // A standards server's response never hands over a token itself (oauth4webapi refuses implicit grants).
          if (!("code" in granted)) throw new Error("a standards server's response gave a token");
          grant = granted.code;
        } catch (error) {
          if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`, { cause: error });
          expect(["auth_denied", "server", "server_changed"]).toContain(error.code);
          expect(error.message).not.toMatch(CONTROL);
          expect(error.message.length).toBeLessThan(400);
          expect(error.message).not.toStartWith("unexpected failure");
          return;
        }
        // Accepted only with exactly our state, no error, a code, and our issuer when there is one
        // (RFC 9207); a repeated code is refused by oauth4webapi when the code is exchanged.
        expect(params.getAll("state")).toEqual([STATE]);
        expect(params.get("code")).toBeTruthy();
        expect(params.has("error")).toBe(false);
        const iss = params.getAll("iss");
        expect(iss.length === 0 ? !issParameter : iss.length === 1 && iss[0] === ISSUER).toBe(true);
        expect(grant.toString()).toBe(params.toString());
      }),
      { seed: SEED + 21, numRuns: CALLBACK_CASES.validation },
    );
  });

  test(`a pasted line is a response for this login, a bare code, or politely unrecognised (${CALLBACK_CASES.pasted} cases)`, () => {
    const line = fc.oneof(
      queryString,
      queryString.map((query) => `http://127.0.0.1:${PORT}/callback?${query}`),
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.stringMatching(/^[A-Za-z0-9_-]{10,40}$/),
    );
    fc.assert(
      fc.property(line, fc.boolean(), (text, issParameter) => {
        const answer = parsePastedAnswer(text, connection(issParameter), STATE);
        // Refused as another login's only when it is an authorization response (it carries one of its keys).
        if (answer.kind === "wrong_state") expect(text).toMatch(/(^|[?&])(code|error|token|access_token)=/);
        // A bare code (what a user may copy from a page) is taken as the code of this login.
        if (/^[A-Za-z0-9_-]{10,40}$/.test(text)) expect(answer.kind === "params" && answer.params.get("code")).toBe(text);
        if (answer.kind !== "params") return;
        expect(answer.params.get("state")).toBe(STATE);
        expect(["code", "error", "token", "access_token"].some((key) => answer.params.has(key))).toBe(true);
      }),
      { seed: SEED + 22, numRuns: CALLBACK_CASES.pasted },
    );
  });

  test(`pages echo server text only as escaped text (${CALLBACK_CASES.pages} cases)`, () => {
    fc.assert(
      fc.property(hostileValue, fc.boolean(), (detail, denied) => {
        const html = renderPage(denied ? deniedPage(detail) : failedPage(detail));
        const echoed = /<code>([\s\S]*)<\/code>/.exec(html)?.[1] ?? "";
        expect(echoed).not.toMatch(/[<>"']/);
        expect(html.match(/<script|<img|<iframe/gi)).toBeNull();
      }),
      { seed: SEED + 23, numRuns: CALLBACK_CASES.pages },
    );
  });
});
