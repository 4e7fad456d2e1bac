import { badScopes } from "../errors.ts";
import type { Env } from "../runtime/types.ts";

/** The official CLI's scopes (PipeOpsHQ/pipeops-cli internal/config/config.go, DefaultScopes): identity for `auth me`. */
export const DEFAULT_SCOPES = ["openid", "profile", "email"] as const;

/** How a standards server issues a refresh token (OpenID Connect Core §11), asked for where it is offered. */
const OFFLINE_ACCESS = "offline_access";

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * PIPEOPS_SCOPES (space- or comma-separated) overrides everything; else the default scopes, with
 * offline_access when the server's metadata lists it in scopes_supported.
 */
export function loginScopes(env: Env, scopesSupported?: readonly string[]): string {
  const raw = env.PIPEOPS_SCOPES?.trim();
  if (!raw) return [...DEFAULT_SCOPES, ...(scopesSupported?.includes(OFFLINE_ACCESS) ? [OFFLINE_ACCESS] : [])].join(" ");
  const scopes = [...new Set(raw.split(/[\s,]+/).filter(Boolean))];
  const bad = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
  if (bad !== undefined || scopes.length === 0) {
    throw badScopes(bad, DEFAULT_SCOPES.join(" "));
  }
  return scopes.join(" ");
}
