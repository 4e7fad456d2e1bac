/** The refresh token grant (RFC 6749 §6), for either kind of server. */
import * as oauth from "oauth4webapi";
import type { Context } from "../context.ts";
import { CliError, isUnreachable } from "../errors.ts";
import { oauthError, type ServerConnection } from "../server/connect.ts";
import { serverName } from "../server/url.ts";
import { processTokenResponse } from "./tokens.ts";

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
 * A refused refresh token ends the session (the spec's expired-token error); a network failure or
 * a 5xx is transient and leaves the stored tokens alone.
 */
export async function refreshTokens(ctx: Context, conn: ServerConnection, refreshToken: string): Promise<RefreshedTokens> {
  const server = serverName(conn.apiUrl);
  const sentAt = ctx.now();
  let response: Response;
  try {
    response = await oauth.refreshTokenGrantRequest(conn.as, conn.client, conn.clientAuth, refreshToken, conn.http);
  } catch (error) {
    if (isUnreachable(error)) throw transient(error.message, error);
    throw oauthError(error, server);
  }
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    throw transient(`${server} failed (HTTP ${response.status})`);
  }
  // ID Token times are checked against the server's clock too (oauth4webapi's clockSkew is in seconds).
  const client: oauth.Client = { ...conn.client, [oauth.clockSkew]: Math.round(conn.clock.offsetMs / 1000) };
  const tokens = await processTokenResponse({ ...conn, client }, "refresh_token", response);
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken ?? refreshToken,
    expiresAt: conn.clock.expiresAt(tokens.expiresIn, sentAt),
  };
}

function transient(reason: string, cause?: unknown): CliError {
  const code = cause instanceof CliError ? cause.code : "server";
  return new CliError(code, `could not refresh the access token: ${reason}`, TRANSIENT_HINT, { cause });
}
