/** The credentials a command runs with: from the environment or the file, for one server. */

import { invalidToken, invalidTokenFor, notAuthenticated, tokenExpired } from "../cli-error.ts";
import type { ServerSettings, StoredCredentials } from "../config/store.ts";
import type { Context, Env } from "../context.ts";
import { isBearerToken } from "../server/bearer.ts";
import { FILE_API_URL, parseServerUrl, resolveApiUrl, sameServer, serverName } from "../server/url.ts";

/**
 * The variables a token may come from, the first set winning: ours, and the official Go CLI's name
 * for the same thing (PipeOpsHQ/pipeops-cli internal/config/config.go, EnvTokenName). Neither is
 * ever written to disk.
 */
export const ENV_TOKEN_VARIABLES = ["PIPEOPS_AUTH_TOKEN", "PIPEOPS_TOKEN"] as const;
export type EnvTokenVariable = (typeof ENV_TOKEN_VARIABLES)[number];

/** The token the environment gives, and the variable it is in; undefined when neither is set. */
export function envToken(env: Env): { variable: EnvTokenVariable; token: string } | undefined {
  for (const variable of ENV_TOKEN_VARIABLES) {
    const token = env[variable]?.trim();
    if (token) return { variable, token };
  }
  return undefined;
}

/** An access token that expires within this is refreshed before use. */
export const REFRESH_MARGIN_MS = 60_000;

/** The credentials a command runs with, and where they came from. */
export interface Session {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: Date;
  source: "env" | StoredCredentials["source"];
  /** For a token from the environment: the variable that holds it. */
  variable?: EnvTokenVariable;
  apiUrl: URL;
  /** What the file says of how to reach the server (client id, console). */
  settings?: ServerSettings;
}

/** No credentials for the server this invocation talks to. */
export interface NoSession {
  readonly none: true;
  /** The server a stored session belongs to, when PIPEOPS_API_URL names another one. */
  readonly storedFor?: string;
}

export function isSession(found: Session | NoSession): found is Session {
  return !("none" in found);
}

/**
 * A token in the environment wins over the file and is never written. Stored credentials belong to
 * the server in their api_url (a file without one, to PIPEOPS_API_URL or production): when
 * PIPEOPS_API_URL names another server they count as absent, so they are never sent there.
 * A token that cannot be a bearer token is the spec's invalid-token error, before any request.
 */
const SOURCE_NAMES = { file: "pipeops' keys", "go-cli": "the official CLI's oauth keys", keyring: "the tokens in the OS keyring" } as const;

export async function loadSession(ctx: Context): Promise<Session | NoSession> {
  const fromEnv = envToken(ctx.env);
  if (fromEnv) {
    ctx.trace(`credentials: ${fromEnv.variable} (the environment wins over the file)`);
    return envSession(ctx, fromEnv);
  }
  const store = ctx.store();
  const { credentials, apiUrl, settings } = await store.read();
  ctx.trace(`credentials: ${credentials ? `${store.path}, ${SOURCE_NAMES[credentials.source]}` : `none in ${store.path}`}`);
  if (!credentials) return { none: true };
  const server = resolveApiUrl(ctx, apiUrl);
  if (apiUrl && !sameServer(server, parseServerUrl(apiUrl, FILE_API_URL))) return { none: true, storedFor: serverName(new URL(apiUrl)) };
  if (!isBearerToken(credentials.accessToken)) throw invalidToken();
  return { ...credentials, apiUrl: server, settings };
}

/**
 * A token from the environment goes to PIPEOPS_API_URL, else production. A file's api_url (or
 * oauth.base_url) belongs to that file's own credentials: whoever could write the file must not
 * receive a CI job's token. The file is not read at all, so a broken one cannot stop the job.
 */
function envSession(ctx: Context, { variable, token }: { variable: EnvTokenVariable; token: string }): Session {
  if (!isBearerToken(token)) throw invalidTokenFor(variable);
  return { accessToken: token, source: "env", variable, apiUrl: resolveApiUrl(ctx) };
}

export async function requireSession(ctx: Context): Promise<Session> {
  const found = await loadSession(ctx);
  if (!isSession(found)) throw notAuthenticated(found.storedFor);
  return found;
}

/**
 * A workspace service-account token: it never expires by the local clock and has no refresh token,
 * wherever it comes from (PipeOpsHQ/pipeops-cli internal/config/config.go, IsServiceAccountToken).
 */
export function isServiceAccountToken(token: string): boolean {
  return token.trim().startsWith("sat_");
}

export function isExpired(session: Session, now: number): boolean {
  return !isServiceAccountToken(session.accessToken) && session.expiresAt !== undefined && session.expiresAt.getTime() <= now;
}

/** True when the access token has expired or expires within REFRESH_MARGIN_MS of `now`. */
export function expiresSoon(session: Session, now: number): boolean {
  return !isServiceAccountToken(session.accessToken) && session.expiresAt !== undefined && session.expiresAt.getTime() - now <= REFRESH_MARGIN_MS;
}

/** Environment tokens and service-account tokens are never refreshed; file sessions need a refresh token. */
export function canRefresh(session: Session): boolean {
  return session.source !== "env" && session.refreshToken !== undefined && !isServiceAccountToken(session.accessToken);
}

/**
 * A session that can never be refreshed is used as it is, without asking any server, unless the
 * local clock says it has expired (the spec's error); undefined for one that a refresh may renew.
 */
export function asItIs(session: Session, now: number): Session | undefined {
  if (canRefresh(session)) return undefined;
  if (isExpired(session, now)) throw tokenExpired();
  return session;
}
