/**
 * The device authorization grant (RFC 8628) through oauth4webapi: show a URL, then poll the token
 * endpoint until the user approves on any device, honouring `interval` and `slow_down`.
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import type { Context } from "../context.ts";
import { CliError, isUnreachable, RETRY_HINT, sanitize } from "../errors.ts";
import { type IssuedTokens, issuedTokens } from "../oauth/tokens.ts";
import { oauthError, type ServerConnection } from "../server/connect.ts";
import { retryAfterMs } from "../server/http.ts";
import { assertSecureUrl, serverName } from "../server/url.ts";
import { authDenied } from "./browser.ts";
import { abortable, type LoginReporter } from "./wait.ts";

export interface DeviceLoginOptions {
  conn: ServerConnection;
  scope: string;
  reporter: LoginReporter;
  signal: AbortSignal;
  deadline: number;
}

/** RFC 8628 §3.2: 5 s when the server sends no interval; §3.5: slow_down adds 5 s. */
export const DEFAULT_INTERVAL_S = 5;
export const SLOW_DOWN_STEP_S = 5;
const MAX_INTERVAL_S = 60;

export const deviceCodeExpired = () => new CliError("auth_timeout", "the login code expired before authentication completed", RETRY_HINT);

const httpUrl = v.pipe(
  v.string(),
  v.maxLength(2048),
  v.check((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), "must be an http(s) URL"),
);

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
  if (!result.success) {
    const key = result.issues[0] ? v.getDotPath(result.issues[0]) : null;
    throw new CliError("server", `${server} sent an invalid device authorization response${key ? ` (${key})` : ""}`);
  }
  for (const key of ["verification_uri", "verification_uri_complete"] as const) {
    const value = result.output[key];
    if (value) assertSecureUrl(new URL(value));
  }
  return result.output;
}

/** The next poll interval after an error from the token endpoint (RFC 8628 §3.5). */
export function nextInterval(current: number, error: string): number {
  return error === "slow_down" ? Math.min(current + SLOW_DOWN_STEP_S, MAX_INTERVAL_S) : current;
}

export async function deviceLogin(ctx: Context, options: DeviceLoginOptions): Promise<IssuedTokens> {
  const { conn, reporter, signal } = options;
  const server = serverName(conn.apiUrl);
  let device: DeviceAuthorization;
  try {
    const response = await abortable(oauth.deviceAuthorizationRequest(conn.as, conn.client, conn.clientAuth, { scope: options.scope }, conn.http), signal);
    device = parseDeviceAuthorization(await oauth.processDeviceAuthorizationResponse(conn.as, conn.client, response), server);
  } catch (error) {
    throw oauthError(error, server);
  }

  if (device.verification_uri_complete) reporter.manualUrl(device.verification_uri_complete);
  else reporter.manualUrl(device.verification_uri, { userCode: sanitize(device.user_code, 64) });
  reporter.waiting(options.deadline);

  const expiresAt = ctx.now() + device.expires_in * 1000;
  let interval = Math.min(Math.max(device.interval ?? DEFAULT_INTERVAL_S, 1), MAX_INTERVAL_S);
  for (;;) {
    await ctx.sleep(interval * 1000, signal);
    if (ctx.now() >= expiresAt) throw deviceCodeExpired();
    try {
      const response = await abortable(oauth.deviceCodeGrantRequest(conn.as, conn.client, conn.clientAuth, device.device_code, conn.http), signal);
      if (response.status === 429 || response.status >= 500) {
        // A busy or failing server has not answered the question either: keep polling, more slowly,
        // until the code expires or --timeout ends the wait (the user may be approving right now).
        await response.body?.cancel();
        const retryAfter = (retryAfterMs(response.headers.get("retry-after"), ctx.now()) ?? 0) / 1000;
        interval = Math.min(Math.max(interval * 2, retryAfter), MAX_INTERVAL_S);
        continue;
      }
      return issuedTokens(await oauth.processDeviceCodeResponse(conn.as, conn.client, response), server);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof oauth.ResponseBodyError) {
        switch (error.error) {
          case "authorization_pending":
          case "slow_down":
            interval = nextInterval(interval, error.error);
            continue;
          case "access_denied":
            throw authDenied();
          case "expired_token":
            throw deviceCodeExpired();
        }
      }
      // §3.5: a connection timeout is no answer; back off and keep polling.
      if (isUnreachable(error)) {
        interval = Math.min(interval * 2, MAX_INTERVAL_S);
        continue;
      }
      throw oauthError(error, server);
    }
  }
}
