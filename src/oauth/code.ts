/**
 * The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636): the authorization request's
 * URL, the check of its response, and the code exchange as a request/process pair. Waiting for the
 * response is the login's business (src/login/browser.ts).
 */
import * as oauth from "oauth4webapi";
import { noAuthorizationEndpoint, noPkce } from "../errors.ts";
import type { ServerConnection } from "../server/connect.ts";
import type { Authorization, IssuedTokens } from "../server/dialect.ts";
import { oauthError, oauthHttp } from "../server/oauth.ts";
import { serverName } from "../server/url.ts";

/** The authorization request URL (RFC 6749 §4.1.1 with RFC 7636 §4.3), plus what the server asks for besides. */
export function authorizationUrl(conn: ServerConnection, params: { redirectUri: string; scope: string; state: string; codeChallenge: string }): URL {
  const endpoint = conn.as.authorization_endpoint;
  if (!endpoint) throw noAuthorizationEndpoint(serverName(conn.apiUrl));
  const methods = conn.as.code_challenge_methods_supported;
  if (methods && !methods.includes("S256")) throw noPkce(serverName(conn.apiUrl));
  const url = new URL(endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", conn.client.client_id);
  url.searchParams.set("redirect_uri", params.redirectUri);
  url.searchParams.set("scope", params.scope);
  url.searchParams.set("state", params.state);
  url.searchParams.set("code_challenge", params.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  for (const [name, value] of Object.entries(conn.dialect.authorizationParameters)) url.searchParams.set(name, value);
  return url;
}

/** Validates an authorization response (state, error, iss) into a code to exchange or, on PipeOps, the token itself. */
export function checkAuthorizationResponse(conn: ServerConnection, params: URLSearchParams, state: string): Promise<Authorization> {
  return conn.dialect.checkAuthorizationResponse(params, state);
}

/** The code exchange (RFC 6749 §4.1.3, with the RFC 7636 §4.5 verifier). */
export async function codeGrantRequest(conn: ServerConnection, code: URLSearchParams, redirectUri: string, codeVerifier: string): Promise<Response> {
  try {
    const options = { ...oauthHttp(conn), additionalParameters: conn.dialect.codeExchangeParameters };
    return await oauth.authorizationCodeGrantRequest(conn.as, conn.client, oauth.None(), code, redirectUri, codeVerifier, options);
  } catch (error) {
    throw oauthError(error, serverName(conn.apiUrl));
  }
}

export function processCodeResponse(conn: ServerConnection, response: Response): Promise<IssuedTokens> {
  return conn.dialect.processTokenResponse("authorization_code", response);
}
