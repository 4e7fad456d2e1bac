/**
 * The PipeOps API's dialect: everything it does differently from a standards server, in one place.
 * The official clients are the record of it:
 * - no discovery metadata; sign-in at `{console}/auth/signin` with `oauth=true`, redirecting to
 *   `http://localhost:<port>/callback` (PipeOpsHQ/pipeops-cli internal/auth/oauth.go, Login and
 *   findAvailablePort; the console's URL from internal/config/config.go);
 * - `POST {api}/oauth/token` and `GET {api}/oauth/userinfo` (PipeOpsHQ/pipeops-go-sdk pipeops/oauth.go);
 * - the code exchange asks for `token_format: "jwt"`; token answers in RFC 6749 fields or in `data.token`, with no `refresh_token` on a refresh that
 *   does not rotate, and refusals as `{status: "error", message}` or plain text
 *   (pipeops-cli internal/auth/oauth.go, exchangeCodeForToken and Refresh);
 * - bodies in the `{status, message, data}` envelope (pipeops-go-sdk pipeops/client.go, CheckResponse);
 * - `GET {api}/profile/data` for the account (pipeops-go-sdk pipeops/users.go, GetProfile);
 * - the access token itself may come back on the callback, beside the state;
 * - no device grant and no revocation endpoint: none is guessed.
 */
import type * as oauth from "oauth4webapi";
import * as v from "valibot";
import { authFailed, invalidBody, signInRefused, stateMismatch, tokenExpired } from "../errors.ts";
import { builtOnFirstUse } from "../schemas.ts";
import { VERSION } from "../version.ts";
import { parseProfile, parseUserInfo } from "./account.ts";
import { isBearerToken } from "./bearer.ts";
import type { Grant, IssuedTokens, ServerDialect } from "./dialect.ts";
import { issueKey, jsonBody, okJson, serverMessage, unwrapEnvelope } from "./responses.ts";
import type { DialectBase } from "./standard.ts";
import { sameState } from "./state.ts";

/** A path under a base URL (which may have a path of its own). */
export function endpointUnder(base: URL, path: string): URL {
  return new URL(path, base.href.endsWith("/") ? base : `${base.href}/`);
}

/** The authorization server the PipeOps API is, as the official clients use it. */
export function pipeopsAuthorizationServer(apiUrl: URL, consoleUrl: URL): oauth.AuthorizationServer {
  return {
    issuer: apiUrl.href,
    authorization_endpoint: endpointUnder(consoleUrl, "auth/signin").href,
    token_endpoint: endpointUnder(apiUrl, "oauth/token").href,
    userinfo_endpoint: endpointUnder(apiUrl, "oauth/userinfo").href,
    code_challenge_methods_supported: ["S256"],
  };
}

export function pipeopsDialect(base: DialectBase & { readonly apiUrl: URL }): ServerDialect {
  const { server } = base;
  return {
    redirect: "localhost",
    authorizationParameters: { oauth: "true" },
    // The official CLI asks for a JWT (pipeops-cli internal/auth/oauth.go, exchangeCodeForToken). Sent
    // in the form the SDK uses (pipeops-go-sdk pipeops/oauth.go, ExchangeCodeForToken), which the
    // API reads as it reads the CLI's JSON. The answer's redirect_url is never followed or shown.
    codeExchangeParameters: { token_format: "jwt" },
    profileEndpoint: endpointUnder(base.apiUrl, "profile/data"),
    async checkAuthorizationResponse(params, state) {
      const returned = params.get("state");
      if (returned === null || !sameState(returned, state)) throw stateMismatch(server);
      const error = params.get("error");
      if (error) throw authFailed(error, params.get("error_description"));
      // The token itself, which oauth4webapi would refuse as an implicit grant: taken only with a matching state.
      const token = params.get("token") || params.get("access_token");
      if (token) return { token };
      // The padding-free state we sent, so the code grant sees exactly what it expects.
      const withState = new URLSearchParams(params);
      withState.set("state", state);
      // A code is checked as any server's is, through oauth4webapi: loaded for a sign-in only.
      return (await import("./standard.ts")).checkCodeResponse(base, withState, state);
    },
    processTokenResponse: (grant, response) => processTokenAnswer(response, grant, server),
    // An API call (pipeops-go-sdk pipeops/oauth.go, GetUserInfo), made as `pipeops api` makes one: no OAuth code loads for it.
    userInfoRequest: (accessToken) => apiGet(base.fetch, endpointUnder(base.apiUrl, "oauth/userinfo"), accessToken),
    processUserInfoResponse: async (response) => parseUserInfo(await okJson(response, server), server),
    async processProfileResponse(response) {
      // Userinfo already says who the user is: a profile that cannot be had now adds nothing.
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      const body = await jsonBody(response);
      return body === undefined ? undefined : parseProfile(body, server);
    },
  };
}

/** A GET of a PipeOps API endpoint with the bearer token (RFC 6750 §2.1), asking for JSON, as the SDK's requests do (pipeops-go-sdk pipeops/client.go, NewRequest). */
export function apiGet(fetch: DialectBase["fetch"], url: URL, accessToken: string): Promise<Response> {
  return fetch(url, { headers: { accept: "application/json", authorization: `Bearer ${accessToken}`, "user-agent": `pipeops/${VERSION}` } });
}

const tokensSchema = builtOnFirstUse(() => {
  const token = v.pipe(v.string(), v.check(isBearerToken, "must be a bearer token"));
  const seconds = v.union([v.pipe(v.number(), v.finite(), v.minValue(0)), v.pipe(v.string(), v.regex(/^\d{1,10}$/), v.transform(Number))]);
  return v.looseObject({
    access_token: v.optional(token),
    token: v.optional(token),
    refresh_token: v.optional(v.nullable(token)),
    expires_in: v.optional(v.nullable(seconds)),
  });
});

/** The tokens in a PipeOps token answer: RFC 6749 fields, or the token in the envelope's `data`. */
export function parsePipeOpsTokens(body: unknown, server: string): IssuedTokens {
  const top = v.safeParse(tokensSchema(), body);
  const inner = top.success && (top.output.access_token || top.output.token) ? top : v.safeParse(tokensSchema(), unwrapEnvelope(body));
  const accessToken = inner.success ? (inner.output.access_token ?? inner.output.token) : undefined;
  if (!inner.success || !accessToken) throw invalidBody(server, "token response", inner.success ? "access_token" : (issueKey(inner.issues) ?? "access_token"));
  const { refresh_token, expires_in } = inner.output;
  return { accessToken, ...(refresh_token ? { refreshToken: refresh_token } : {}), ...(typeof expires_in === "number" ? { expiresIn: expires_in } : {}) };
}

async function processTokenAnswer(response: Response, grant: Grant, server: string): Promise<IssuedTokens> {
  const status = response.status;
  if (status >= 400 && status < 500 && status !== 404 && status !== 429) {
    const message = serverMessage(await response.text());
    // A refresh token the server no longer honours ends the session: the spec's expired-token error.
    if (grant === "refresh_token") throw tokenExpired(message);
    throw signInRefused("PipeOps", message ?? `HTTP ${status}`);
  }
  return parsePipeOpsTokens(await okJson(response, server), server);
}
