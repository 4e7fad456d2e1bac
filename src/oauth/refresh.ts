/** The refresh token grant (RFC 6749 §6), for either kind of server, as a request/process pair. */
import * as oauth from "oauth4webapi";
import { isUnreachable, refreshFailed } from "../errors.ts";
import type { ServerConnection } from "../server/connect.ts";
import { oauthError, oauthHttp } from "../server/oauth.ts";
import { serverName } from "../server/url.ts";

/** What a refresh grant returns, ready to be stored. */
export interface RefreshedTokens {
  accessToken: string;
  /** The rotated refresh token, or the one we sent when the server did not rotate it (RFC 6749 §6). */
  refreshToken: string;
  /** In server time; undefined when the server gave no expires_in. */
  expiresAt?: Date;
}

/** Sends the grant. A network failure is transient: the stored session stays. */
export async function refreshRequest(conn: ServerConnection, refreshToken: string): Promise<Response> {
  try {
    return await oauth.refreshTokenGrantRequest(conn.as, conn.client, oauth.None(), refreshToken, oauthHttp(conn));
  } catch (error) {
    if (isUnreachable(error)) throw refreshFailed(error.message, error);
    throw oauthError(error, serverName(conn.apiUrl));
  }
}

/**
 * Reads the grant's answer. A refused refresh token ends the session (the spec's expired-token
 * error); a 5xx or 429 is transient and leaves the stored tokens alone. `sentAt`: the local time
 * the request left, from which expires_in counts; `refreshToken`: the one sent, kept when not rotated.
 */
export async function processRefreshResponse(
  conn: ServerConnection,
  response: Response,
  sent: { refreshToken: string; sentAt: number },
): Promise<RefreshedTokens> {
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    throw refreshFailed(`${serverName(conn.apiUrl)} failed (HTTP ${response.status})`);
  }
  const tokens = await conn.dialect.processTokenResponse("refresh_token", response, { clockSkewSeconds: Math.round(conn.clock.offsetMs / 1000) });
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken ?? sent.refreshToken,
    expiresAt: conn.clock.expiresAt(tokens.expiresIn, sent.sentAt),
  };
}

export async function refreshTokens(conn: ServerConnection, refreshToken: string, now: () => number): Promise<RefreshedTokens> {
  const sentAt = now();
  return processRefreshResponse(conn, await refreshRequest(conn, refreshToken), { refreshToken, sentAt });
}
