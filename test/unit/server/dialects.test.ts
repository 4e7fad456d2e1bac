/**
 * The two server dialects, fed Responses built in the test: no network, no fake fetch. Where
 * PipeOps and a standards server differ, both are asked the same question side by side.
 */
import { describe, expect, test } from "bun:test";
import { CliError } from "../../../src/errors.ts";
import type { ServerDialect } from "../../../src/server/dialect.ts";
import { pipeopsAuthorizationServer, pipeopsDialect } from "../../../src/server/pipeops.ts";
import { standardDialect } from "../../../src/server/standard.ts";

const API = new URL("https://api.pipeops.test");
const client = { client_id: "pipeops_public_client" };
const standard = standardDialect({
  as: { issuer: "https://api.pipeops.test/", token_endpoint: "https://api.pipeops.test/token" },
  client,
  server: "https://api.pipeops.test",
  fetch,
});
const pipeops = pipeopsDialect({
  as: pipeopsAuthorizationServer(API, new URL("https://console.pipeops.test")),
  client,
  server: "https://api.pipeops.test",
  apiUrl: API,
  fetch,
});
const STATE = "st_abcdefghijklmnopqrstuvwxyz012345";

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<CliError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error("expected a CliError");
}

const json = (body: unknown, status = 200) => Response.json(body, { status, headers: { "cache-control": "no-store" } });

describe("token responses", () => {
  test("both read RFC 6749 fields", async () => {
    const body = { access_token: "at_1", refresh_token: "rt_1", token_type: "Bearer", expires_in: 3600 };
    for (const dialect of [standard, pipeops]) {
      expect(await dialect.processTokenResponse("authorization_code", json(body))).toEqual({ accessToken: "at_1", refreshToken: "rt_1", expiresIn: 3600 });
    }
  });

  test("PipeOps: the token inside the envelope, with no refresh token; a standards server refuses that shape", async () => {
    const envelope = { status: "success", message: "ok", data: { token: "at_2" } };
    expect(await pipeops.processTokenResponse("authorization_code", json(envelope))).toEqual({ accessToken: "at_2" });
    expect((await failure(standard.processTokenResponse("authorization_code", json(envelope)))).code).toBe("server");
  });

  test("a refused refresh token ends the session in both: the spec's expired-token error", async () => {
    const standardAnswer = json({ error: "invalid_grant", error_description: "grant revoked" }, 400);
    const pipeopsAnswer = json({ status: "error", message: "refresh token expired" }, 401);
    for (const [dialect, response] of [
      [standard, standardAnswer],
      [pipeops, pipeopsAnswer],
    ] as const) {
      const error = await failure(dialect.processTokenResponse("refresh_token", response));
      expect([error.code, error.message, error.hint]).toEqual([
        "token_expired",
        "authentication token has expired",
        "Run 'pipeops auth login' to re-authenticate",
      ]);
    }
  });

  test("a refused code: the server's own words, as a refused sign-in", async () => {
    const refusedStandard = await failure(
      standard.processTokenResponse("authorization_code", json({ error: "invalid_grant", error_description: "code used" }, 400)),
    );
    expect([refusedStandard.code, refusedStandard.message]).toEqual(["auth_denied", "https://api.pipeops.test refused the sign-in: code used"]);
    const plainText = new Response("invalid or expired authorization code", { status: 400 });
    const refusedPipeOps = await failure(pipeops.processTokenResponse("authorization_code", plainText));
    expect([refusedPipeOps.code, refusedPipeOps.message]).toEqual(["auth_denied", "PipeOps refused the sign-in: invalid or expired authorization code"]);
  });

  test("a token that cannot be a bearer token is refused before it is stored", async () => {
    for (const dialect of [standard, pipeops]) {
      const error = await failure(dialect.processTokenResponse("authorization_code", json({ access_token: "a b\nc", token_type: "Bearer" })));
      expect(error.message).toBe("https://api.pipeops.test sent an invalid token response (access_token)");
    }
  });
});

describe("userinfo and profile", () => {
  test("claims bare or in the envelope", async () => {
    const claims = { sub: "42", email: "user@example.com", name: "A User" };
    expect(await standard.processUserInfoResponse(json(claims))).toMatchObject({ id: "42", email: "user@example.com", name: "A User" });
    expect(await pipeops.processUserInfoResponse(json({ status: "success", data: claims }))).toMatchObject({ id: "42", email: "user@example.com" });
  });

  test("PipeOps' profile adds to userinfo; a failing profile adds nothing; a standards server has none", async () => {
    expect(pipeops.profileEndpoint?.href).toBe("https://api.pipeops.test/profile/data");
    expect(standard.profileEndpoint).toBeUndefined();
    const profile = json({ status: "success", data: { user: { id: 7, email: "p@example.com", first_name: "Pat", last_name: "Doe" } } });
    expect(await pipeops.processProfileResponse(profile)).toMatchObject({ id: "7", email: "p@example.com", first_name: "Pat" });
    expect(await pipeops.processProfileResponse(json({ status: "error", message: "down" }, 503))).toBeUndefined();
  });
});

describe("authorization responses", () => {
  const check = (dialect: ServerDialect, query: string) => dialect.checkAuthorizationResponse(new URLSearchParams(query), STATE);

  test("a code with the state sent: both", async () => {
    for (const dialect of [standard, pipeops]) expect(await check(dialect, `code=c1&state=${STATE}`)).toEqual({ code: expect.any(URLSearchParams) });
  });

  test("PipeOps: the token on the callback, and a state without its base64 padding", async () => {
    expect(await check(pipeops, `token=at_9&state=${STATE}`)).toEqual({ token: "at_9" });
    const padded = "st_pad==";
    expect(await pipeops.checkAuthorizationResponse(new URLSearchParams("code=c2&state=st_pad"), padded)).toEqual({ code: expect.any(URLSearchParams) });
  });

  test("a standards server never takes a token from the callback (that would be the implicit grant)", async () => {
    expect((await failure(() => check(standard, `token=at_9&state=${STATE}`))).code).toBe("server");
  });

  test("the user's refusal carries the reason the callback page is chosen by", async () => {
    for (const dialect of [standard, pipeops]) {
      const error = await failure(() => check(dialect, `error=access_denied&state=${STATE}`));
      expect([error.code, error.reason, error.message]).toEqual(["auth_denied", "access_denied", "authentication was denied"]);
    }
  });

  test("another sign-in's state, and an answer from another issuer", async () => {
    expect((await failure(() => check(pipeops, "code=c1&state=someone-else"))).message).toBe(
      "the authorization response from https://api.pipeops.test is for another sign-in (state mismatch)",
    );
    const otherIssuer = await failure(() => check(standard, `code=c1&state=${STATE}&iss=https://evil.test/`));
    expect([otherIssuer.code, otherIssuer.message]).toEqual([
      "server_changed",
      "the authorization response did not come from https://api.pipeops.test (issuer mismatch)",
    ]);
  });

  test("PipeOps asks its console for the sign-in with oauth=true and a localhost redirect", () => {
    expect(pipeops.authorizationParameters).toEqual({ oauth: "true" });
    expect(pipeops.redirect).toBe("localhost");
    expect(standard.authorizationParameters).toEqual({});
    expect(standard.redirect).toBe("127.0.0.1");
  });
});
