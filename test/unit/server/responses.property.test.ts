/**
 * Property tests for everything that validates a server's answer: discovery metadata (through
 * connect and the HTTP client), userinfo, the token endpoint (authorization code, device code),
 * device authorization and revocation. Random and malformed bodies, statuses, content types and
 * WWW-Authenticate headers must give a typed value or a CliError whose message is one clean line;
 * never another exception, never a control character from the server on the terminal.
 * Seeded: set PIPEOPS_FUZZ_SEED to replay another run.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import * as oauth from "oauth4webapi";
import { UNPRINTABLE } from "../../../src/cli-error.ts";
import { CredentialStore } from "../../../src/config/store.ts";
import type { Context } from "../../../src/context.ts";
import { CliError } from "../../../src/errors.ts";
import { parseDeviceAuthorization, processDeviceTokenResponse } from "../../../src/oauth/device.ts";
import { refreshTokens } from "../../../src/oauth/refresh.ts";
import { processRevocationResponse } from "../../../src/oauth/revocation.ts";
import { fetchUserInfo } from "../../../src/oauth/userinfo.ts";
import { parseUserInfo, type UserInfo } from "../../../src/server/account.ts";
import { ServerClock } from "../../../src/server/clock.ts";
import { connect, type ServerConnection } from "../../../src/server/connect.ts";
import type { IssuedTokens } from "../../../src/server/dialect.ts";
import { oauthError } from "../../../src/server/oauth.ts";
import { pipeopsAuthorizationServer, pipeopsDialect } from "../../../src/server/pipeops.ts";
import { standardDialect } from "../../../src/server/standard.ts";
import { tempDir, testContext } from "../../helpers/context.ts";

// Each property takes well under a second alone; the limit allows for a machine busy with other runs.
setDefaultTimeout(60_000);

const SEED = Number(process.env.PIPEOPS_FUZZ_SEED ?? 20_240_601);
const RESPONSE_CASES = {
  metadata: 1200,
  userinfoHttp: 1200,
  userinfoClaims: 1000,
  codeGrant: 800,
  refreshGrant: 800,
  deviceAuthorization: 800,
  deviceCodeGrant: 800,
  revocation: 400,
  dialectTokens: 600,
  devicePoll: 600,
  ourRevocation: 300,
};

const API_URL = new URL("http://127.0.0.1:4010");
const SERVER = "http://127.0.0.1:4010";

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** A CliError with one clean line: the only thing a failure may become. */
function expectTypedError(error: unknown): CliError {
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`, { cause: error });
  expect(error.message).not.toMatch(CONTROL);
  expect(error.hint ?? "").not.toMatch(CONTROL);
  expect(error.message.length).toBeLessThan(600);
  // The runner's catch-all: reaching it means an error type nobody mapped.
  expect(error.message).not.toStartWith("unexpected failure");
  return error;
}

/** Runs oauth4webapi's processing and maps failures the way the CLI does. */
async function processed<T>(work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: CliError }> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: expectTypedError(oauthError(error, SERVER)) };
  }
}

async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function expectCleanText(value: unknown): void {
  if (value === undefined || value === null) return;
  expect(typeof value).toBe("string");
  expect(value as string).not.toMatch(CONTROL);
}

// ---------------------------------------------------------------------------
// Random responses.

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype", "toString"];

/** Text a hostile server may send: terminal escapes, bidi overrides, newlines, very long runs. */
const hostileText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "\u001b[31mred\u001b[0m",
      "\u001b]0;pwned\u0007",
      "\u009b2J",
      "line one\nError: fake second line",
      "\u202eevil",
      "\r\u001b[2Kfake prompt$ ",
      "x".repeat(5000),
      "",
    ),
  },
  { weight: 1, arbitrary: fc.webUrl() },
);

const { jsonValue } = fc.letrec<{ jsonValue: unknown }>((tie) => ({
  jsonValue: fc.oneof(
    { depthSize: "small" },
    hostileText,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("jsonValue"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("jsonValue"), { maxKeys: 3 }),
  ),
}));

/** A JSON object whose keys are mostly the ones the validator looks for, with values of any type. */
function objectWith(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const names = Object.keys(fields);
  const entry = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...names)
        .chain((name) => fc.tuple(fc.constant(name), fc.oneof({ weight: 4, arbitrary: fields[name]! }, { weight: 1, arbitrary: jsonValue }))),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), jsonValue) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), jsonValue) },
  );
  // Mostly every field present (near-valid), sometimes a random subset.
  const complete = fc.tuple(...names.map((name) => fields[name]!)).map((values) => names.map((name, i) => [name, values[i]] as [string, unknown]));
  return (
    fc
      .oneof(
        complete,
        fc.array(entry, { maxLength: 8 }),
        fc.tuple(complete, fc.array(entry, { maxLength: 3 })).map(([a, b]) => [...a, ...b]),
      )
      // undefined leaves the member out, as a server that omits an optional one would.
      .map(
        (entries) =>
          `{${entries
            .filter(([, value]) => value !== undefined)
            .map(([k, value]) => `${JSON.stringify(k)}:${JSON.stringify(value)}`)
            .join(",")}}`,
      )
  );
}

const HTML_PAGE = "<!DOCTYPE html><html><head><title>Down for maintenance</title></head><body><h1>We'll be back soon</h1></body></html>";

/** Any body: a near-valid object, other JSON, broken JSON, HTML, bytes that are not UTF-8. */
function bodyFrom(near: fc.Arbitrary<string>): fc.Arbitrary<string | Uint8Array> {
  return fc.oneof(
    { weight: 8, arbitrary: near },
    { weight: 2, arbitrary: objectWith({ error: hostileText, error_description: hostileText, error_uri: hostileText }) },
    { weight: 1, arbitrary: fc.json() },
    { weight: 1, arbitrary: near.chain((text) => fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut))) },
    { weight: 1, arbitrary: fc.constantFrom(HTML_PAGE, "", "null", "[]", '"token"', "{", "}{", "\u0000") },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
}

interface ResponseSpec {
  status: number;
  contentType: string | null;
  body: string | Uint8Array;
  wwwAuthenticate: string | null;
  /** A Date header (the server's clock); none when absent. */
  date?: string;
}

const status = fc.oneof(
  { weight: 6, arbitrary: fc.constant(200) },
  { weight: 4, arbitrary: fc.constantFrom(201, 204, 301, 302, 400, 401, 403, 404, 405, 410, 429, 500, 502, 503) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
);
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "text/html; charset=utf-8",
      "text/plain",
      "application/jwt",
      "application/problem+json",
      "APPLICATION/JSON",
    ),
  },
  { weight: 1, arbitrary: fc.constant(null) },
);
const wwwAuthenticate = fc.oneof(
  { weight: 8, arbitrary: fc.constant(null) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("Bearer", "DPoP", "Basic", "bearer"), fc.constantFrom("invalid_token", "insufficient_scope", "\u001b[2J"), hostileText)
      .map(([scheme, error, description]) => `${scheme} error="${error}", error_description="${description.replace(/["\\]/g, "")}"`),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 40 }).map((text) => text.replace(/[\r\n\0]/g, "")) },
);

function responseSpec(near: fc.Arbitrary<string>): fc.Arbitrary<ResponseSpec> {
  return fc.record({ status, contentType, body: bodyFrom(near), wwwAuthenticate });
}

/** A fresh Response each time (bodies are read once); statuses without a body get none. */
function toResponse(spec: ResponseSpec): Response {
  const headers = new Headers();
  if (spec.contentType) headers.set("content-type", spec.contentType);
  if (spec.date) headers.set("date", spec.date);
  if (spec.wwwAuthenticate) {
    try {
      headers.set("www-authenticate", spec.wwwAuthenticate);
    } catch {
      // Not a valid header value: a real server could not send it either.
    }
  }
  const nullBody = spec.status === 204 || spec.status === 205 || spec.status === 304;
  return new Response(nullBody ? null : (spec.body as BodyInit), { status: spec.status, headers });
}

const token = fc.stringMatching(/^[A-Za-z0-9._~+/-]{1,60}$/);
const expiresIn = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 86_400 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 1e300, 1e12, "3600", "soon", 1.5, Number.MAX_SAFE_INTEGER) },
);
// Mostly absent (the CLI asks for none on refresh); otherwise not a valid ID Token.
const idToken = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "a.b.c", "") },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);
const tokenResponse = objectWith({
  access_token: token,
  token_type: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("Bearer", "bearer") },
    { weight: 1, arbitrary: fc.constantFrom("DPoP", "mac", "", "\u001b[2J") },
  ),
  expires_in: expiresIn,
  refresh_token: fc.oneof(token, fc.constant(undefined)),
  scope: fc.constantFrom("openid email profile offline_access", "", "openid"),
  id_token: idToken,
});

// ---------------------------------------------------------------------------
// A context whose fetch answers from the test; connect() and the HTTP client run unchanged.

function fakeServer(answer: (url: URL) => ResponseSpec): Context {
  return {
    ...testContext(),
    sleep: async () => {},
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => toResponse(answer(new URL(new Request(input, init).url)))) as typeof fetch,
  };
}

const GOOD_METADATA = {
  issuer: API_URL.href,
  authorization_endpoint: `${SERVER}/auth`,
  token_endpoint: `${SERVER}/token`,
  userinfo_endpoint: `${SERVER}/me`,
  device_authorization_endpoint: `${SERVER}/device/auth`,
  revocation_endpoint: `${SERVER}/token/revocation`,
  code_challenge_methods_supported: ["S256"],
};

const endpointUrl = fc.oneof(
  fc.constantFrom(
    `${SERVER}/token`,
    "https://auth.example.com/oauth/token",
    "http://auth.example.com/token",
    "http://localhost:8080/x",
    "javascript:alert(1)",
    "/relative",
    "http://[::1]:9/x",
    "file:///etc/passwd",
  ),
  fc.webUrl(),
  hostileText,
);
const metadata = objectWith({
  issuer: fc.oneof({ weight: 5, arbitrary: fc.constant(API_URL.href) }, { weight: 1, arbitrary: fc.constantFrom(SERVER, "https://evil.example/", "") }),
  authorization_endpoint: endpointUrl,
  token_endpoint: endpointUrl,
  userinfo_endpoint: endpointUrl,
  device_authorization_endpoint: endpointUrl,
  revocation_endpoint: endpointUrl,
  code_challenge_methods_supported: fc.oneof(fc.constant(["S256"]), fc.array(hostileText, { maxLength: 2 }), hostileText),
  authorization_response_iss_parameter_supported: fc.oneof(fc.boolean(), hostileText),
});

function isSecureEndpoint(value: string): boolean {
  const url = new URL(value);
  return url.protocol === "https:" || (url.protocol === "http:" && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname));
}

async function goodConnection(answer: (url: URL) => ResponseSpec): Promise<ServerConnection> {
  const ctx = fakeServer((url) =>
    url.pathname.startsWith("/.well-known/")
      ? { status: 200, contentType: "application/json", body: JSON.stringify(GOOD_METADATA), wwwAuthenticate: null }
      : answer(url),
  );
  return connect(ctx, API_URL, {}, { relearn: true });
}

const as = GOOD_METADATA as oauth.AuthorizationServer;
const client: oauth.Client = { client_id: "pipeops_public_client" };

describe("server responses on random input", () => {
  test(`discovery metadata: a connection with safe endpoints, or a typed error (${RESPONSE_CASES.metadata} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(responseSpec(metadata), fc.boolean(), async (spec, oidcOnly) => {
        // Sometimes only the OpenID Connect document answers, as with servers that publish just that one.
        const ctx = fakeServer((url) =>
          oidcOnly && url.pathname === "/.well-known/oauth-authorization-server"
            ? { status: 404, contentType: "text/plain", body: "not found", wwwAuthenticate: null }
            : spec,
        );
        // Learned afresh each time, not from what the previous case left in the cache.
        const outcome = await settle(connect(ctx, API_URL, {}, { relearn: true }));
        if (!outcome.ok) return void expectTypedError(outcome.error);
        const conn = outcome.value;
        expect(new URL(conn.as.issuer).href).toBe(API_URL.href);
        for (const key of ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "device_authorization_endpoint", "revocation_endpoint"] as const) {
          const value = conn.as[key];
          if (value !== undefined) expect(isSecureEndpoint(value)).toBe(true);
        }
      }),
      { seed: SEED + 10, numRuns: RESPONSE_CASES.metadata },
    );
  });

  test(`userinfo over HTTP: clean profile fields, or a typed error (${RESPONSE_CASES.userinfoHttp} cases)`, async () => {
    let current: ResponseSpec | undefined;
    const conn = await goodConnection(() => current!);
    const claims = objectWith({
      sub: fc.oneof(fc.constant("usr_1234567890"), hostileText),
      email: fc.oneof(fc.emailAddress(), hostileText),
      name: hostileText,
      organization: fc.oneof(hostileText, fc.record({ name: hostileText })),
      role: hostileText,
      created_at: fc.oneof(fc.constant("2024-01-01T00:00:00Z"), fc.integer(), fc.double(), hostileText),
    });
    await fc.assert(
      fc.asyncProperty(responseSpec(claims), async (spec) => {
        current = spec;
        const outcome = await settle(fetchUserInfo(conn, "access-token-value"));
        if (!outcome.ok) return void expectTypedError(outcome.error);
        for (const value of Object.values(outcome.value)) expectCleanText(value);
      }),
      { seed: SEED + 11, numRuns: RESPONSE_CASES.userinfoHttp },
    );
  });

  test(`userinfo claims of any shape: clean fields or a typed error (${RESPONSE_CASES.userinfoClaims} cases)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(jsonValue, fc.record({ sub: hostileText, name: hostileText, email: jsonValue, organization: jsonValue, created_at: jsonValue })),
        (claims) => {
          let user: UserInfo;
          try {
            user = parseUserInfo(claims, SERVER);
          } catch (error) {
            return void expectTypedError(error);
          }
          for (const value of Object.values(user)) expectCleanText(value);
          if (user.created_at !== undefined) expect(Number.isNaN(Date.parse(user.created_at))).toBe(false);
        },
      ),
      { seed: SEED + 12, numRuns: RESPONSE_CASES.userinfoClaims },
    );
  });

  test(`token endpoint (authorization code): tokens with a storable expiry, or a typed error (${RESPONSE_CASES.codeGrant} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(responseSpec(tokenResponse), async (spec) => {
        const result = await processed(() => oauth.processAuthorizationCodeResponse(as, client, toResponse(spec)));
        if (!result.ok) return;
        expect(result.value.access_token.length).toBeGreaterThan(0);
        const expiresIn = result.value.expires_in;
        if (expiresIn !== undefined) expect(Number.isFinite(expiresIn) && expiresIn >= 0).toBe(true);
      }),
      { seed: SEED + 13, numRuns: RESPONSE_CASES.codeGrant },
    );
  });

  test(`refresh grant over HTTP: tokens with a valid or unknown expiry, or a typed error (${RESPONSE_CASES.refreshGrant} cases)`, async () => {
    let current: ResponseSpec | undefined;
    const conn = await goodConnection(() => current!);
    const dir = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/pipeops-prop-") : tempDir();
    const store = new CredentialStore(join(dir, "c.json"), () => {});
    // Sometimes with a Date header far from ours, which moves the server clock and so the expiry.
    const date = fc.option(
      fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(Date.UTC(9999, 0)) }).map((d) => d.toUTCString()),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(responseSpec(tokenResponse), date, async (spec, serverDate) => {
        current = { ...spec, date: serverDate };
        const outcome = await settle(refreshTokens({ ...conn, clock: new ServerClock(() => Date.now()) }, "refresh-token-value", () => Date.now()));
        if (!outcome.ok) {
          const error = expectTypedError(outcome.error);
          expect(["server", "server_changed", "token_expired", "network", "timeout"]).toContain(error.code);
          return;
        }
        expect(outcome.value.accessToken.length).toBeGreaterThan(0);
        expect(outcome.value.refreshToken.length).toBeGreaterThan(0);
        // Whatever the expiry came to, the session can be stored and read back.
        await store.save(outcome.value);
        const { credentials } = await store.read();
        expect(credentials?.accessToken).toBe(outcome.value.accessToken);
      }),
      { seed: SEED + 17, numRuns: RESPONSE_CASES.refreshGrant },
    );
  });

  test(`device authorization: a code and URL safe to show, or a typed error (${RESPONSE_CASES.deviceAuthorization} cases)`, async () => {
    const deviceResponse = objectWith({
      device_code: token,
      user_code: fc.oneof(fc.constantFrom("WDJB-MJHT", "ABCD-EFGH"), hostileText),
      // Hostile text inside a URL too: escapes, bidi overrides, C1 controls, non-ASCII.
      verification_uri: fc.oneof(
        endpointUrl,
        hostileText.map((text) => `https://api.pipeops.test/device?${text}`),
      ),
      verification_uri_complete: fc.oneof(
        endpointUrl,
        hostileText.map((text) => `https://api.pipeops.test/d/${text}`),
        fc.constant(undefined),
      ),
      expires_in: expiresIn,
      interval: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom(-1, 1e9, "5")),
    });
    await fc.assert(
      fc.asyncProperty(responseSpec(deviceResponse), async (spec) => {
        const result = await processed(async () =>
          parseDeviceAuthorization(await oauth.processDeviceAuthorizationResponse(as, client, toResponse(spec)), SERVER),
        );
        if (!result.ok) return;
        expect(result.value.user_code).toMatch(/^[\x20-\x7e]+$/);
        for (const url of [result.value.verification_uri, result.value.verification_uri_complete]) {
          if (url === undefined) continue;
          expect(isSecureEndpoint(url)).toBe(true);
          // What is shown and encoded: printable, and already in its serialised form.
          expect(url).not.toMatch(UNPRINTABLE);
          expect(new URL(url).href).toBe(url);
        }
      }),
      { seed: SEED + 14, numRuns: RESPONSE_CASES.deviceAuthorization },
    );
  });

  test(`token endpoint (device code polling): tokens, a polling error code, or a typed error (${RESPONSE_CASES.deviceCodeGrant} cases)`, async () => {
    const pollingError = objectWith({
      error: fc.constantFrom("authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_grant"),
      error_description: hostileText,
    });
    await fc.assert(
      fc.asyncProperty(responseSpec(fc.oneof(tokenResponse, pollingError)), async (spec) => {
        const result = await processed(() => oauth.processDeviceCodeResponse(as, client, toResponse(spec)));
        if (result.ok) expect(result.value.access_token.length).toBeGreaterThan(0);
      }),
      { seed: SEED + 15, numRuns: RESPONSE_CASES.deviceCodeGrant },
    );
  });

  test(`revocation: success or a typed error (${RESPONSE_CASES.revocation} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(responseSpec(objectWith({ error: hostileText, error_description: hostileText })), async (spec) => {
        const result = await processed(() => oauth.processRevocationResponse(toResponse(spec)));
        if (result.ok) expect(spec.status).toBe(200);
      }),
      { seed: SEED + 16, numRuns: RESPONSE_CASES.revocation },
    );
  });
});

// ---------------------------------------------------------------------------
// The same random answers through pipeops' own code: both dialects' token processing (RFC 6749
// and PipeOps' envelopes, plain-text errors, sat_ tokens), the device poll's mapping (busy,
// slow_down, expired_token, access_denied) and revocation. A typed value, or a typed CliError.

describe("through pipeops' own wrappers", () => {
  const client = { client_id: "pipeops_public_client" };
  const standard = standardDialect({ as: { issuer: `${SERVER}/`, token_endpoint: `${SERVER}/token` }, client, server: SERVER, fetch });
  const pipeops = pipeopsDialect({
    as: pipeopsAuthorizationServer(API_URL, new URL("http://127.0.0.1:4011")),
    client,
    server: SERVER,
    apiUrl: API_URL,
    fetch,
  });
  /** What the device poll and revocation read of a connection. */
  const conn = { apiUrl: API_URL, as: { issuer: `${SERVER}/`, token_endpoint: `${SERVER}/token` }, client } as unknown as ServerConnection;

  // PipeOps' answers: {status, message, data} envelopes around a token (or anything), sat_ tokens, plain-text errors.
  const pipeopsToken = fc.oneof(
    token,
    token.map((value) => `sat_${value}`),
  );
  const envelope = objectWith({
    status: fc.oneof(fc.constantFrom("success", "error", "fail"), hostileText),
    message: hostileText,
    data: fc.oneof(
      {
        weight: 3,
        arbitrary: objectWith({ token: pipeopsToken, access_token: pipeopsToken, refresh_token: pipeopsToken, expires_in: expiresIn }).map((text) =>
          JSON.parse(text),
        ),
      },
      { weight: 1, arbitrary: jsonValue },
    ),
  });
  const plainText = fc.oneof(hostileText, fc.constantFrom("invalid or expired authorization code", "Unauthorized", ""));
  // Access tokens that are not ones (spaces, escapes, empty): our own check, not the library's, must refuse them.
  const badAccessToken = fc.oneof(hostileText, fc.constantFrom("", "with space", "tok\u001b[2J", "a\nb"));
  const badTokenResponse = objectWith({ access_token: badAccessToken, token_type: fc.constant("Bearer"), expires_in: expiresIn });
  const badEnvelope = objectWith({
    status: fc.constant("success"),
    data: objectWith({ token: badAccessToken, access_token: badAccessToken }).map((text) => JSON.parse(text)),
  });
  const anyTokenAnswer = fc.oneof(
    tokenResponse,
    envelope,
    plainText,
    objectWith({ error: hostileText, error_description: hostileText }),
    badTokenResponse,
    badEnvelope,
  );

  function expectIssued(tokens: IssuedTokens): void {
    expect(typeof tokens.accessToken).toBe("string");
    expect(tokens.accessToken.length).toBeGreaterThan(0);
    expect(tokens.accessToken).not.toMatch(CONTROL);
    if (tokens.refreshToken !== undefined) expect(tokens.refreshToken).not.toMatch(CONTROL);
    if (tokens.expiresIn !== undefined) expect(Number.isFinite(tokens.expiresIn)).toBe(true);
  }

  for (const [name, dialect] of [
    ["the standards dialect", standard],
    ["the PipeOps dialect", pipeops],
  ] as const) {
    test(`${name}: processTokenResponse gives tokens or a typed error, for either grant (${RESPONSE_CASES.dialectTokens} cases)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          responseSpec(anyTokenAnswer),
          fc.constantFrom("authorization_code", "refresh_token") as fc.Arbitrary<"authorization_code" | "refresh_token">,
          async (spec, grant) => {
            const result = await settle(dialect.processTokenResponse(grant, toResponse(spec)));
            if (result.ok) expectIssued(result.value);
            else expectTypedError(result.error);
          },
        ),
        { seed: SEED + (dialect === standard ? 40 : 41), numRuns: RESPONSE_CASES.dialectTokens },
      );
    });
  }

  test(`the device poll: tokens, pending, slow_down, busy (with its Retry-After), or a typed error (${RESPONSE_CASES.devicePoll} cases)`, async () => {
    const pollingError = objectWith({
      error: fc.constantFrom("authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_grant"),
      error_description: hostileText,
    });
    const retryAfter = fc.oneof(fc.constant(undefined), fc.constantFrom("0", "3", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", "-5"));
    await fc.assert(
      fc.asyncProperty(responseSpec(fc.oneof(tokenResponse, pollingError, envelope)), retryAfter, async (spec, after) => {
        const response = toResponse(spec);
        if (after !== undefined) response.headers.set("retry-after", after);
        const result = await settle(processDeviceTokenResponse(conn, response, Date.now()));
        if (!result.ok) {
          const error = expectTypedError(result.error);
          // The user's refusal ends the login in its own words (an RFC 6749 §5.2 error comes with HTTP 400).
          if (spec.status === 400 && spec.contentType === "application/json" && spec.body === '{"error":"access_denied"}')
            expect(error.code).toBe("auth_denied");
          return;
        }
        const poll = result.value;
        if (spec.status === 429 || spec.status >= 500) {
          expect(poll.kind).toBe("busy");
          if (poll.kind === "busy" && poll.retryAfterMs !== undefined) expect(poll.retryAfterMs).toBeGreaterThanOrEqual(0);
        } else if (poll.kind === "tokens") expectIssued(poll.tokens);
        else expect(["authorization_pending", "slow_down"]).toContain(poll.kind);
      }),
      { seed: SEED + 42, numRuns: RESPONSE_CASES.devicePoll },
    );
  });

  test(`revocation, as logout --revoke reads it: success only for a 200, else a typed error (${RESPONSE_CASES.ourRevocation} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(responseSpec(fc.oneof(objectWith({ error: hostileText, error_description: hostileText }), envelope, plainText)), async (spec) => {
        const result = await settle(processRevocationResponse(conn, toResponse(spec)));
        if (result.ok) expect(spec.status).toBe(200);
        else expectTypedError(result.error);
      }),
      { seed: SEED + 43, numRuns: RESPONSE_CASES.ourRevocation },
    );
  });
});
