/** Token revocation (RFC 7009), where the server offers it. */
import * as oauth from "oauth4webapi";
import { noRevocation } from "../errors.ts";
import type { ServerConnection } from "../server/connect.ts";
import { oauthError, oauthHttp } from "../server/oauth.ts";
import { serverName } from "../server/url.ts";

export type TokenTypeHint = "refresh_token" | "access_token";

export async function revocationRequest(conn: ServerConnection, token: string, hint: TokenTypeHint): Promise<Response> {
  const server = serverName(conn.apiUrl);
  if (!conn.as.revocation_endpoint) throw noRevocation(server);
  try {
    return await oauth.revocationRequest(conn.as, conn.client, oauth.None(), token, { ...oauthHttp(conn), additionalParameters: { token_type_hint: hint } });
  } catch (error) {
    throw oauthError(error, server);
  }
}

export async function processRevocationResponse(conn: ServerConnection, response: Response): Promise<void> {
  try {
    await oauth.processRevocationResponse(response);
  } catch (error) {
    throw oauthError(error, serverName(conn.apiUrl));
  }
}

/**
 * Revokes the refresh token first (which ends the whole grant at most servers), then the access
 * token. The first failure is thrown.
 */
export async function revokeTokens(conn: ServerConnection, tokens: { accessToken: string; refreshToken?: string }): Promise<void> {
  const server = serverName(conn.apiUrl);
  if (!conn.as.revocation_endpoint) throw noRevocation(server);
  const pairs = [
    ["refresh_token", tokens.refreshToken],
    ["access_token", tokens.accessToken],
  ] as const;
  for (const [hint, token] of pairs) {
    if (token) await processRevocationResponse(conn, await revocationRequest(conn, token, hint));
  }
}
