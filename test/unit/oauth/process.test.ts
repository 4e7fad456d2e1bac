/**
 * The process half of each endpoint's request/process pair, fed a Response built in the test: what
 * the CLI makes of an answer, with no network and no fake fetch.
 */
import { describe, expect, test } from "bun:test";
import { CliError } from "../../../src/errors.ts";
import { processDeviceTokenResponse } from "../../../src/oauth/device.ts";
import { processRefreshResponse } from "../../../src/oauth/refresh.ts";
import { processProfileResponse, processUserInfoResponse } from "../../../src/oauth/userinfo.ts";
import { ServerClock } from "../../../src/server/clock.ts";
import type { ServerConnection } from "../../../src/server/connect.ts";
import { pipeopsAuthorizationServer, pipeopsDialect } from "../../../src/server/pipeops.ts";
import { standardDialect } from "../../../src/server/standard.ts";

const API = new URL("https://api.pipeops.test");
const client = { client_id: "pipeops_public_client" };
const NOW = Date.UTC(2030, 0, 1);

function connection(kind: "standard" | "pipeops", offsetMs = 0): ServerConnection {
  const as =
    kind === "pipeops"
      ? pipeopsAuthorizationServer(API, new URL("https://console.pipeops.test"))
      : {
          issuer: "https://api.pipeops.test/",
          token_endpoint: "https://api.pipeops.test/token",
          device_authorization_endpoint: "https://api.pipeops.test/device",
        };
  const base = { as, client, server: "https://api.pipeops.test", fetch };
  return {
    apiUrl: API,
    as,
    client,
    fetch,
    clock: new ServerClock(() => NOW, offsetMs),
    dialect: kind === "pipeops" ? pipeopsDialect({ ...base, apiUrl: API }) : standardDialect(base),
    cached: false,
    remembered: { facts: { kind: "pipeops" }, clockOffsetMs: 0 },
  };
}

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

describe("userinfo and profile", () => {
  test("a 401 is the spec's invalid-token error, for both kinds of server", async () => {
    for (const kind of ["standard", "pipeops"] as const) {
      for (const process of [processUserInfoResponse, processProfileResponse]) {
        const error = await failure(process(connection(kind), new Response("nope", { status: 401 })));
        expect([error.code, error.message]).toEqual(["invalid_token", "invalid authentication token"]);
      }
    }
  });

  test("a 419 is a session the server ended: the spec's expired-token error, marked as worth one refresh", async () => {
    for (const kind of ["standard", "pipeops"] as const) {
      for (const process of [processUserInfoResponse, processProfileResponse]) {
        const error = await failure(process(connection(kind), Response.json({ message: "session expired" }, { status: 419 })));
        expect([error.code, error.reason, error.message]).toEqual(["token_expired", "session_ended", "authentication token has expired"]);
      }
    }
  });

  test("a 5xx from userinfo says the server is unavailable, in both", async () => {
    for (const kind of ["standard", "pipeops"] as const) {
      const error = await failure(processUserInfoResponse(connection(kind), Response.json({ status: "error" }, { status: 503 })));
      expect(error.message).toBe("https://api.pipeops.test is unavailable (HTTP 503)");
    }
  });
});

describe("refresh", () => {
  const sent = { refreshToken: "rt_old", sentAt: NOW };

  test("a server that does not rotate: the refresh token sent is kept, expiry in server time", async () => {
    const conn = connection("pipeops", 60_000);
    const tokens = await processRefreshResponse(conn, Response.json({ data: { token: "at_new", expires_in: 600 }, status: "success" }), sent);
    expect(tokens).toEqual({ accessToken: "at_new", refreshToken: "rt_old", expiresAt: new Date(NOW + 60_000 + 600_000) });
  });

  test("a rotated refresh token replaces the old one", async () => {
    const body = { access_token: "at_new", refresh_token: "rt_new", token_type: "Bearer" };
    expect(await processRefreshResponse(connection("standard"), Response.json(body), sent)).toEqual({
      accessToken: "at_new",
      refreshToken: "rt_new",
      expiresAt: undefined,
    });
  });

  test("a busy or failing server is transient: the session is kept", async () => {
    for (const status of [429, 500, 503]) {
      const error = await failure(processRefreshResponse(connection("standard"), new Response("", { status }), sent));
      expect([error.code, error.message, error.hint]).toEqual([
        "server",
        `could not refresh the access token: https://api.pipeops.test failed (HTTP ${status})`,
        "Your session was kept; check your connection and try again",
      ]);
    }
  });
});

describe("one device-grant poll", () => {
  const poll = (body: unknown, status = 400, headers: HeadersInit = {}) =>
    processDeviceTokenResponse(connection("standard"), Response.json(body, { status, headers }), NOW);

  test("pending and slow_down keep polling; tokens end it", async () => {
    expect(await poll({ error: "authorization_pending" })).toEqual({ kind: "authorization_pending" });
    expect(await poll({ error: "slow_down" })).toEqual({ kind: "slow_down" });
    expect(await poll({ access_token: "at_d", token_type: "Bearer" }, 200)).toEqual({ kind: "tokens", tokens: { accessToken: "at_d" } });
  });

  test("a busy server is asked again after its Retry-After", async () => {
    expect(await poll({}, 503, { "retry-after": "7" })).toEqual({ kind: "busy", retryAfterMs: 7000 });
    expect(await poll({}, 429)).toEqual({ kind: "busy", retryAfterMs: undefined });
  });

  test("the user's refusal and an expired code end the login", async () => {
    const denied = await failure(poll({ error: "access_denied" }));
    expect([denied.code, denied.reason]).toEqual(["auth_denied", "access_denied"]);
    expect((await failure(poll({ error: "expired_token" }))).message).toBe("the login code expired before authentication completed");
  });
});
