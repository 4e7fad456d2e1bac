/**
 * The device authorization grant (RFC 8628) as request/process pairs: the device authorization
 * request, and one poll of the token endpoint read into what to do next. The polling loop, with
 * its waits and what the user sees, is the login's (src/login/device.ts).
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import { authDenied, deviceCodeExpired, invalidBody } from "../errors.ts";
import { httpUrl } from "../schemas.ts";
import type { ServerConnection } from "../server/connect.ts";
import type { IssuedTokens } from "../server/dialect.ts";
import { retryAfterMs } from "../server/http.ts";
import { oauthError, oauthHttp } from "../server/oauth.ts";
import { issueKey } from "../server/responses.ts";
import { issuedTokens } from "../server/standard.ts";
import { assertSecureUrl, serverName } from "../server/url.ts";

/** RFC 8628 §3.2: 5 s when the server sends no interval; §3.5: slow_down adds 5 s. */
export const DEFAULT_INTERVAL_S = 5;
export const SLOW_DOWN_STEP_S = 5;
export const MAX_INTERVAL_S = 60;

const DeviceResponseSchema = v.looseObject({
  device_code: v.pipe(v.string(), v.minLength(1)),
  user_code: v.pipe(v.string(), v.minLength(1), v.maxLength(64), v.regex(/^[\x20-\x7e]+$/, "must be printable")),
  verification_uri: httpUrl,
  verification_uri_complete: v.optional(httpUrl),
  expires_in: v.pipe(v.number(), v.minValue(1)),
  interval: v.optional(v.pipe(v.number(), v.minValue(0))),
});

export type DeviceAuthorization = v.InferOutput<typeof DeviceResponseSchema>;

/** Validates the device authorization response beyond oauth4webapi's type checks: URLs we may show. */
export function parseDeviceAuthorization(response: unknown, server: string): DeviceAuthorization {
  const result = v.safeParse(DeviceResponseSchema, response);
  if (!result.success) throw invalidBody(server, "device authorization response", issueKey(result.issues));
  const device = { ...result.output };
  for (const key of ["verification_uri", "verification_uri_complete"] as const) {
    const value = device[key];
    if (value === undefined) continue;
    const url = new URL(value);
    assertSecureUrl(url);
    // What is shown and put in a QR code: the URL as serialised (spaces and non-ASCII percent-encoded).
    device[key] = url.href;
  }
  return device;
}

export async function deviceAuthorizationRequest(conn: ServerConnection, scope: string): Promise<Response> {
  try {
    return await oauth.deviceAuthorizationRequest(conn.as, conn.client, oauth.None(), { scope }, oauthHttp(conn));
  } catch (error) {
    throw oauthError(error, serverName(conn.apiUrl));
  }
}

export async function processDeviceAuthorizationResponse(conn: ServerConnection, response: Response): Promise<DeviceAuthorization> {
  const server = serverName(conn.apiUrl);
  try {
    return parseDeviceAuthorization(await oauth.processDeviceAuthorizationResponse(conn.as, conn.client, response), server);
  } catch (error) {
    throw oauthError(error, server);
  }
}

/** One poll of the token endpoint (RFC 8628 §3.4). A network failure passes through as it is: no answer yet. */
export async function deviceTokenRequest(conn: ServerConnection, deviceCode: string): Promise<Response> {
  try {
    return await oauth.deviceCodeGrantRequest(conn.as, conn.client, oauth.None(), deviceCode, oauthHttp(conn));
  } catch (error) {
    throw oauthError(error, serverName(conn.apiUrl));
  }
}

/** What one poll says: the tokens, wait (slower, for slow_down), or the server is busy (wait longer). */
export type DevicePoll =
  | { kind: "tokens"; tokens: IssuedTokens }
  | { kind: "authorization_pending" | "slow_down" }
  | { kind: "busy"; retryAfterMs: number | undefined };

/** Reads one poll's answer (RFC 8628 §3.5); the user's refusal and an expired code end the login. */
export async function processDeviceTokenResponse(conn: ServerConnection, response: Response, now: number): Promise<DevicePoll> {
  if (response.status === 429 || response.status >= 500) {
    // A busy or failing server has not answered the question either: not a reason to stop polling.
    await response.body?.cancel();
    return { kind: "busy", retryAfterMs: retryAfterMs(response.headers.get("retry-after"), now) };
  }
  const server = serverName(conn.apiUrl);
  try {
    return { kind: "tokens", tokens: issuedTokens(await oauth.processDeviceCodeResponse(conn.as, conn.client, response), server) };
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      switch (error.error) {
        case "authorization_pending":
        case "slow_down":
          return { kind: error.error };
        case "access_denied":
          throw authDenied();
        case "expired_token":
          throw deviceCodeExpired();
      }
    }
    throw oauthError(error, server);
  }
}

/** The next poll interval after an error from the token endpoint (RFC 8628 §3.5). */
export function nextInterval(current: number, error: string): number {
  return error === "slow_down" ? Math.min(current + SLOW_DOWN_STEP_S, MAX_INTERVAL_S) : current;
}
