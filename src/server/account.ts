/**
 * The account behind a token, as userinfo (OpenID Connect Core §5.3) and PipeOps' profile describe
 * it. One parser per answer takes the standard shape and the PipeOps envelope alike
 * (PipeOpsHQ/pipeops-go-sdk pipeops/oauth.go, UserInfoResponse; pipeops/users.go, GetProfile and
 * parseProfileUser).
 */
import * as v from "valibot";
import { invalidBody, sanitize } from "../errors.ts";
import { builtOnFirstUse } from "../schemas.ts";
import { formatRfc3339, parseRfc3339 } from "../time.ts";
import { issueKey, unwrapEnvelope } from "./responses.ts";

/** The account behind a token, as `auth me` shows it; what the server did not say is undefined. */
export interface UserInfo {
  id: string;
  email?: string;
  name?: string;
  organization?: string;
  role?: string;
  created_at?: string;
}

const text = v.pipe(
  v.string(),
  v.maxLength(1000),
  v.transform((value) => sanitize(value, 1000)),
);
const optionalText = v.optional(v.nullable(text));
// PipeOps ids are numbers or strings (pipeops-go-sdk pipeops/projects.go, jsonID).
const id = v.union([text, v.pipe(v.number(), v.integer(), v.transform(String))]);
const createdAt = v.optional(
  v.nullable(
    v.union([
      v.pipe(
        v.string(),
        v.check((value) => parseRfc3339(value) !== undefined, "created_at must be an RFC 3339 date-time"),
      ),
      // OpenID claims such as updated_at are seconds since the epoch; accept that form too.
      v.pipe(
        v.number(),
        v.check((seconds) => Number.isFinite(new Date(seconds * 1000).getTime()), "created_at must be a date"),
      ),
    ]),
  ),
);

const ClaimsSchema = v.looseObject({
  sub: id,
  email: optionalText,
  name: optionalText,
  given_name: optionalText,
  family_name: optionalText,
  organization: v.optional(v.nullable(v.union([text, v.looseObject({ name: text })]))),
  role: optionalText,
  created_at: createdAt,
});

const profileSchema = builtOnFirstUse(() =>
  v.looseObject({
    id: v.optional(v.nullable(id)),
    uuid: optionalText,
    email: optionalText,
    first_name: optionalText,
    last_name: optionalText,
    full_name: optionalText,
    created_at: createdAt,
  }),
);

/** What the profile adds: PipeOps' own account fields. */
export type Profile = v.InferOutput<ReturnType<typeof profileSchema>>;

function dateOf(value: string | number | null | undefined): string | undefined {
  return typeof value === "number" ? formatRfc3339(new Date(value * 1000)) : (value ?? undefined);
}

function fullName(first: string | null | undefined, last: string | null | undefined): string | undefined {
  return [first, last].filter(Boolean).join(" ") || undefined;
}

/** Userinfo claims, bare or in the PipeOps envelope, into a UserInfo. */
export function parseUserInfo(body: unknown, server: string): UserInfo {
  const result = v.safeParse(ClaimsSchema, unwrapEnvelope(body));
  if (!result.success) throw invalidBody(server, "user profile", issueKey(result.issues));
  const { sub, email, name, given_name, family_name, organization, role, created_at } = result.output;
  return {
    id: sub,
    email: email || undefined,
    name: name || fullName(given_name, family_name),
    organization: (typeof organization === "object" && organization ? organization.name : organization) || undefined,
    role: role || undefined,
    created_at: dateOf(created_at),
  };
}

/** The PipeOps profile: `data: {user: {...}}` or `data: {...}`, inside the envelope. */
export function parseProfile(body: unknown, server: string): Profile {
  const data = unwrapEnvelope(body);
  const user = typeof data === "object" && data !== null && "user" in data ? (data as { user: unknown }).user : data;
  const result = v.safeParse(profileSchema(), user);
  if (!result.success) throw invalidBody(server, "account profile", issueKey(result.issues));
  return result.output;
}

/** Userinfo completed by the profile: the profile fills only what userinfo left out. */
export function withProfile(user: UserInfo, profile: Profile | undefined): UserInfo {
  if (!profile) return user;
  return {
    ...user,
    email: user.email ?? (profile.email || undefined),
    name: user.name ?? (profile.full_name || fullName(profile.first_name, profile.last_name)),
    created_at: user.created_at ?? dateOf(profile.created_at),
  };
}
