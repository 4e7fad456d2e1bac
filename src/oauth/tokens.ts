/**
 * What a token endpoint answers, for both kinds of server. A standards server's answer is checked
 * by oauth4webapi (RFC 6749 §5.1, with ID Token claims for OpenID servers). The PipeOps API answers
 * with RFC 6749 fields or with the token in `data.token`, may omit `refresh_token` on a refresh,
 * and says why it refused in `{status: "error", message}` or plain text
 * (PipeOpsHQ/pipeops-cli internal/auth/oauth.go, exchangeCodeForToken and Refresh).
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import { CliError, RETRY_HINT, tokenExpired } from "../errors.ts";
import { isBearerToken } from "../server/bearer.ts";
import { oauthError, type ServerConnection } from "../server/connect.ts";
import { okJson, serverMessage, unwrapEnvelope } from "../server/responses.ts";
import { serverName } from "../server/url.ts";

/** Tokens as a grant issued them, before they are stored. */
export interface IssuedTokens {
  accessToken: string;
  refreshToken?: string;
  /** Seconds, from the response (RFC 6749 §5.1). */
  expiresIn?: number;
}

/** Which grant answered: its refusals mean different things. (The device grant, standards servers only, polls: src/login/device.ts.) */
export type Grant = "authorization_code" | "refresh_token";

const token = v.pipe(v.string(), v.check(isBearerToken, "must be a bearer token"));
const seconds = v.union([v.pipe(v.number(), v.finite(), v.minValue(0)), v.pipe(v.string(), v.regex(/^\d{1,10}$/), v.transform(Number))]);

const PipeOpsTokensSchema = v.looseObject({
  access_token: v.optional(token),
  token: v.optional(token),
  refresh_token: v.optional(v.nullable(token)),
  expires_in: v.optional(v.nullable(seconds)),
});

/** The tokens in a PipeOps token answer: RFC 6749 fields, or the token in the envelope's `data`. */
export function parsePipeOpsTokens(body: unknown, server: string): IssuedTokens {
  const top = v.safeParse(PipeOpsTokensSchema, body);
  const inner = top.success && (top.output.access_token || top.output.token) ? top : v.safeParse(PipeOpsTokensSchema, unwrapEnvelope(body));
  const accessToken = inner.success ? (inner.output.access_token ?? inner.output.token) : undefined;
  if (!inner.success || !accessToken) {
    const key = !inner.success && inner.issues[0] ? v.getDotPath(inner.issues[0]) : "access_token";
    throw new CliError("server", `${server} sent an invalid token response (${key})`);
  }
  const { refresh_token, expires_in } = inner.output;
  return { accessToken, ...(refresh_token ? { refreshToken: refresh_token } : {}), ...(typeof expires_in === "number" ? { expiresIn: expires_in } : {}) };
}

/** The token endpoint's answer to a grant, for either kind of server. */
export async function processTokenResponse(conn: ServerConnection, grant: Grant, response: Response): Promise<IssuedTokens> {
  const server = serverName(conn.apiUrl);
  if (conn.kind === "pipeops") return processPipeOpsAnswer(response, grant, server);
  try {
    const tokens =
      grant === "authorization_code"
        ? await oauth.processAuthorizationCodeResponse(conn.as, conn.client, response)
        : await oauth.processRefreshTokenResponse(conn.as, conn.client, response);
    return issuedTokens(tokens, server);
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.error === "invalid_grant") {
      throw grant === "refresh_token" ? spentSession(error) : refusedSignIn(server, error.error_description || "invalid_grant", error);
    }
    throw oauthError(error, server);
  }
}

/** A standard token response (already checked by oauth4webapi), as the CLI keeps it. */
export function issuedTokens(tokens: oauth.TokenEndpointResponse, server: string): IssuedTokens {
  if (!isBearerToken(tokens.access_token)) throw new CliError("server", `${server} sent an invalid token response (access_token)`);
  return {
    accessToken: tokens.access_token,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    ...(tokens.expires_in !== undefined ? { expiresIn: tokens.expires_in } : {}),
  };
}

async function processPipeOpsAnswer(response: Response, grant: Grant, server: string): Promise<IssuedTokens> {
  const status = response.status;
  if (status >= 400 && status < 500 && status !== 404 && status !== 429) {
    const message = serverMessage(await response.text());
    // A refresh token the server no longer honours ends the session: the spec's expired-token error.
    if (grant === "refresh_token") throw spentSession(message);
    throw refusedSignIn("PipeOps", message ?? `HTTP ${status}`);
  }
  return parsePipeOpsTokens(await okJson(response, server), server);
}

/** "PipeOps refused the sign-in: invalid or expired authorization code" */
function refusedSignIn(name: string, message: string, cause?: unknown): CliError {
  return new CliError("auth_denied", `${name} refused the sign-in: ${message}`, RETRY_HINT, { cause });
}

function spentSession(cause: unknown): CliError {
  const expired = tokenExpired();
  return new CliError(expired.code, expired.message, expired.hint, { cause });
}
