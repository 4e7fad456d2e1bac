import * as oauth from "oauth4webapi";
import * as v from "valibot";
import { type ServerConnection, oauthError } from "./server.ts";
import { serverName } from "./server-url.ts";
import { formatRfc3339, parseRfc3339 } from "../config/time.ts";
import { CliError, invalidToken, sanitize } from "../errors.ts";

/** The account behind a token, as `auth me` shows it. */
export interface UserInfo {
  id: string;
  email?: string;
  name?: string;
  organization?: string;
  role?: string;
  created_at?: string;
}

const text = v.pipe(v.string(), v.maxLength(1000), v.transform((value) => sanitize(value, 1000)));
const createdAt = v.union([
  v.pipe(v.string(), v.check((value) => parseRfc3339(value) !== undefined, "created_at must be an RFC 3339 date-time")),
  // OpenID claims such as updated_at are seconds since the epoch; accept that form too.
  v.pipe(
    v.number(),
    v.check((seconds) => Number.isFinite(new Date(seconds * 1000).getTime()), "created_at must be a date"),
  ),
]);

const UserInfoSchema = v.looseObject({
  sub: text,
  email: v.optional(v.nullable(text)),
  name: v.optional(v.nullable(text)),
  organization: v.optional(v.nullable(v.union([text, v.looseObject({ name: text })]))),
  role: v.optional(v.nullable(text)),
  created_at: v.optional(v.nullable(createdAt)),
});

/** Validates userinfo claims (OpenID Connect Core §5.3.2) into a UserInfo. */
export function parseUserInfo(claims: unknown, server: string): UserInfo {
  const result = v.safeParse(UserInfoSchema, claims);
  if (!result.success) {
    const issue = result.issues[0];
    const key = issue ? v.getDotPath(issue) : null;
    throw new CliError("server", `${server} sent an invalid user profile${key ? ` (${key})` : ""}`);
  }
  const { sub, email, name, organization, role, created_at } = result.output;
  const created =
    typeof created_at === "number" ? formatRfc3339(new Date(created_at * 1000)) : created_at ?? undefined;
  return {
    id: sub,
    email: email ?? undefined,
    name: name ?? undefined,
    organization: typeof organization === "object" && organization ? organization.name : organization ?? undefined,
    role: role ?? undefined,
    created_at: created,
  };
}

/** GET userinfo with the bearer token (RFC 6750); a 401 means the token is not (or no longer) valid. */
export async function fetchUserInfo(conn: ServerConnection, accessToken: string): Promise<UserInfo> {
  const server = serverName(conn.apiUrl);
  let claims: unknown;
  try {
    const response = await oauth.userInfoRequest(conn.as, conn.client, accessToken, conn.http);
    if (response.status === 401) throw invalidToken();
    claims = await oauth.processUserInfoResponse(conn.as, conn.client, oauth.skipSubjectCheck, response);
  } catch (error) {
    throw oauthError(error, server);
  }
  return parseUserInfo(claims, server);
}
