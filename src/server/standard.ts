/**
 * The dialect of a server that publishes RFC 8414 or OpenID Connect metadata: thin wrappers over
 * oauth4webapi's process* functions, which check what the RFCs ask (RFC 6749 §5.1, RFC 9207 iss,
 * ID Token claims for OpenID servers).
 */
import * as oauth from "oauth4webapi";
import { authFailed, invalidBody, issuerMismatch, noCode, signInRefused, tokenExpired } from "../errors.ts";
import { parseUserInfo } from "./account.ts";
import { isBearerToken } from "./bearer.ts";
import type { Authorization, IssuedTokens, ServerDialect } from "./dialect.ts";
import { oauthError, oauthHttp } from "./oauth.ts";

/** What a dialect is built from: the server's metadata, our client, the server's name for messages, and our fetch for it. */
export interface DialectBase {
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly server: string;
  readonly fetch: typeof fetch;
}

export function standardDialect(base: DialectBase): ServerDialect {
  const { as, client, server } = base;
  return {
    redirect: "127.0.0.1",
    authorizationParameters: {},
    codeExchangeParameters: {},
    checkAuthorizationResponse: async (params, state) => checkCodeResponse(base, params, state),
    async processTokenResponse(grant, response, options = {}) {
      // ID Token times are checked against the server's clock (oauth4webapi's clockSkew is in seconds).
      const checking = options.clockSkewSeconds === undefined ? client : { ...client, [oauth.clockSkew]: options.clockSkewSeconds };
      try {
        const tokens =
          grant === "authorization_code"
            ? await oauth.processAuthorizationCodeResponse(as, checking, response)
            : await oauth.processRefreshTokenResponse(as, checking, response);
        return issuedTokens(tokens, server);
      } catch (error) {
        if (error instanceof oauth.ResponseBodyError && error.error === "invalid_grant") {
          // A refused refresh token ends the session: the spec's expired-token error.
          throw grant === "refresh_token" ? tokenExpired(error) : signInRefused(server, error.error_description || "invalid_grant", error);
        }
        throw oauthError(error, server);
      }
    },
    async userInfoRequest(accessToken) {
      try {
        return await oauth.userInfoRequest(as, client, accessToken, oauthHttp(base));
      } catch (error) {
        throw oauthError(error, server);
      }
    },
    async processUserInfoResponse(response) {
      try {
        return parseUserInfo(await oauth.processUserInfoResponse(as, client, oauth.skipSubjectCheck, response), server);
      } catch (error) {
        throw oauthError(error, server);
      }
    },
    // Standards servers have no profile endpoint; nothing asks them for one.
    processProfileResponse: async (response) => {
      await response.body?.cancel();
      return undefined;
    },
  };
}

/**
 * An authorization response with a code, through oauth4webapi: state, error, and the RFC 9207 iss
 * where the server sends one (or has said it will), compared here rather than read from an error's wording.
 */
export function checkCodeResponse({ as, client, server }: DialectBase, params: URLSearchParams, state: string): Authorization {
  const iss = params.get("iss");
  if ((iss === null && as.authorization_response_iss_parameter_supported) || (iss !== null && iss !== as.issuer)) throw issuerMismatch(server);
  let grant: URLSearchParams;
  try {
    grant = oauth.validateAuthResponse(as, client, params, state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) throw authFailed(error.error, error.error_description);
    throw oauthError(error, server);
  }
  if (!grant.get("code")) throw noCode(server);
  return { code: grant };
}

/** A standard token response (already checked by oauth4webapi), as the CLI keeps it. */
export function issuedTokens(tokens: oauth.TokenEndpointResponse, server: string): IssuedTokens {
  if (!isBearerToken(tokens.access_token)) throw invalidBody(server, "token response", "access_token");
  return {
    accessToken: tokens.access_token,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    ...(tokens.expires_in !== undefined ? { expiresIn: tokens.expires_in } : {}),
  };
}
