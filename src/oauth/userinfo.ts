/**
 * Who a token belongs to: userinfo (OpenID Connect Core §5.3) and, where the server has one, the
 * account profile. Each endpoint is a request/process pair: one function sends and returns the
 * Response, the other reads a Response (testable with `new Response(...)`, no network).
 */
import { type CliError, invalidToken, isUnreachable, sessionEnded } from "../errors.ts";
import type { Profile, UserInfo } from "../server/account.ts";
import type { ServerConnection } from "../server/connect.ts";
import { apiGet } from "../server/pipeops.ts";

/** GET userinfo with the bearer token (RFC 6750), as the server's dialect asks for it. */
export function userInfoRequest(conn: ServerConnection, accessToken: string): Promise<Response> {
  return conn.dialect.userInfoRequest(accessToken);
}

/**
 * What a refusal of the token means, for every authenticated request: a 401, a token that is not
 * (or no longer) valid (RFC 6750 §3.1); a 419, a session the server ended. Undefined otherwise.
 */
export async function tokenRefusal(response: Response): Promise<CliError | undefined> {
  if (response.status !== 401 && response.status !== 419) return undefined;
  await response.body?.cancel();
  return response.status === 419 ? sessionEnded() : invalidToken();
}

/** Userinfo's answer. */
export async function processUserInfoResponse(conn: ServerConnection, response: Response): Promise<UserInfo> {
  const refused = await tokenRefusal(response);
  if (refused) throw refused;
  return conn.dialect.processUserInfoResponse(response);
}

export async function fetchUserInfo(conn: ServerConnection, accessToken: string): Promise<UserInfo> {
  return processUserInfoResponse(conn, await userInfoRequest(conn, accessToken));
}

/** GET the account profile; undefined where the server has none, or cannot be reached for it now. */
export async function profileRequest(conn: ServerConnection, accessToken: string): Promise<Response | undefined> {
  const endpoint = conn.dialect.profileEndpoint;
  if (!endpoint) return undefined;
  try {
    return await apiGet(conn.fetch, endpoint, accessToken);
  } catch (error) {
    // Userinfo already says who the user is: the profile only adds to it.
    if (isUnreachable(error)) return undefined;
    throw error;
  }
}

/** The profile's answer: a refused token is the token's problem, as for userinfo; other failures add nothing. */
export async function processProfileResponse(conn: ServerConnection, response: Response): Promise<Profile | undefined> {
  const refused = await tokenRefusal(response);
  if (refused) throw refused;
  return conn.dialect.processProfileResponse(response);
}

export async function fetchProfile(conn: ServerConnection, accessToken: string): Promise<Profile | undefined> {
  const response = await profileRequest(conn, accessToken);
  return response ? processProfileResponse(conn, response) : undefined;
}
