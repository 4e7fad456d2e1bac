import * as v from "valibot";
import { httpUrl } from "../schemas.ts";
import { parseRfc3339 } from "../time.ts";

const rfc3339 = v.pipe(
  v.string(),
  v.check((text) => parseRfc3339(text) !== undefined, "must be an RFC 3339 date-time"),
);

/** The keys pipeops owns; every other key is kept as it was. */
export const ConfigFileSchema = v.looseObject({
  auth_token: v.optional(v.string()),
  refresh_token: v.optional(v.string()),
  expires_at: v.optional(rfc3339),
  api_url: v.optional(httpUrl),
  // "keyring": the tokens are in the OS keyring (src/config/keyring.ts), not in this file.
  credential_store: v.optional(v.picklist(["keyring", "file"])),
  // The Go CLI's nested credentials and server settings, read when ours are absent
  // (PipeOpsHQ/pipeops-cli internal/config/config.go, OAuthConfig). It writes "" for unset strings.
  oauth: v.optional(
    v.looseObject({
      access_token: v.optional(v.string()),
      refresh_token: v.optional(v.string()),
      expires_at: v.optional(rfc3339),
      client_id: v.optional(v.string()),
      base_url: v.optional(v.union([v.literal(""), httpUrl])),
      dashboard_url: v.optional(v.union([v.literal(""), httpUrl])),
    }),
  ),
});

export type ConfigFile = v.InferOutput<typeof ConfigFileSchema>;

/** "auth_token: must be a string" from the first issue valibot found. */
export function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "unknown problem";
  const key = v.getDotPath(issue);
  const reason = issue.kind === "schema" && issue.expected ? `must be ${article(issue.expected)}` : issue.message;
  return key ? `${key} ${reason}` : reason;
}

function article(expected: string): string {
  if (expected === "string") return "a string";
  if (expected === "Object") return "an object";
  return expected;
}
