import type { Env } from "../context.ts";
import { usageError } from "../errors.ts";

/** Only what the CLI uses: identity for `auth me`, offline_access for a refresh token. */
export const DEFAULT_SCOPES = ["openid", "email", "profile", "offline_access"] as const;

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** PIPEOPS_SCOPES (space- or comma-separated) overrides the default scopes. */
export function loginScopes(env: Env): string {
  const raw = env.PIPEOPS_SCOPES?.trim();
  if (!raw) return DEFAULT_SCOPES.join(" ");
  const scopes = [...new Set(raw.split(/[\s,]+/).filter(Boolean))];
  const bad = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
  if (bad !== undefined || scopes.length === 0) {
    throw usageError(
      `PIPEOPS_SCOPES contains an invalid scope${bad ? ` '${bad.replace(/[^\x20-\x7e]/g, "?")}'` : ""}`,
      `Unset it or set it to e.g. '${DEFAULT_SCOPES.join(" ")}'`,
    );
  }
  return scopes.join(" ");
}
