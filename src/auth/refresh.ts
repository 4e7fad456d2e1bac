import * as oauth from "oauth4webapi";
import type { Context } from "../context.ts";
import { CliError, tokenExpired } from "../errors.ts";
import type { ServerClock } from "./clock.ts";
import { type ServerConnection, oauthError } from "../api/server.ts";
import { serverName } from "../api/server-url.ts";

/** What a refresh grant returns, ready to be stored. */
export interface RefreshedTokens {
  accessToken: string;
  /** The rotated refresh token, or the one we sent when the server did not rotate it (RFC 6749 §6). */
  refreshToken: string;
  /** In server time; undefined when the server gave no expires_in. */
  expiresAt?: Date;
}

const TRANSIENT_HINT = "Your session was kept; check your connection and try again";

/**
 * The refresh token grant (RFC 6749 §6). `invalid_grant` ends the session (the spec's expired-token
 * error); a network failure or a 5xx is transient and leaves the stored tokens alone.
 */
export async function refreshTokens(
  ctx: Context,
  conn: ServerConnection,
  refreshToken: string,
  clock: ServerClock,
): Promise<RefreshedTokens> {
  const server = serverName(conn.apiUrl);
  const sentAt = ctx.now();
  let response: Response;
  try {
    response = await oauth.refreshTokenGrantRequest(conn.as, conn.client, conn.clientAuth, refreshToken, conn.http);
  } catch (error) {
    if (error instanceof CliError && (error.code === "network" || error.code === "timeout")) throw transient(error.message, error);
    throw oauthError(error, server);
  }
  clock.observe(response, sentAt);
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    throw transient(`${server} failed (HTTP ${response.status})`);
  }
  // ID Token times are checked against the server's clock too (oauth4webapi's clockSkew is in seconds).
  const client: oauth.Client = { ...conn.client, [oauth.clockSkew]: Math.round(clock.offsetMs / 1000) };
  let tokens: oauth.TokenEndpointResponse;
  try {
    tokens = await oauth.processRefreshTokenResponse(conn.as, client, response);
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.error === "invalid_grant") {
      const expired = tokenExpired();
      throw new CliError(expired.code, expired.message, expired.hint, { cause: error });
    }
    throw oauthError(error, server);
  }
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? refreshToken,
    expiresAt: clock.expiresAt(tokens.expires_in, sentAt),
  };
}

function transient(reason: string, cause?: unknown): CliError {
  const code = cause instanceof CliError ? cause.code : "server";
  return new CliError(code, `could not refresh the access token: ${reason}`, TRANSIENT_HINT, { cause });
}
