/** The credentials a command runs with: from the environment or the file, for one server. */
import { parseServerUrl, resolveApiUrl, sameServer, serverName } from "../api/server-url.ts";
import type { ConfigSnapshot, StoredCredentials } from "../config/store.ts";
import type { Context } from "../context.ts";
import { notAuthenticated } from "../errors.ts";

/** An access token that expires within this is refreshed before use. */
export const REFRESH_MARGIN_MS = 60_000;

/** The credentials a command runs with, and where they came from. */
export interface Session {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: Date;
  source: "env" | StoredCredentials["source"];
  apiUrl: URL;
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
 * PIPEOPS_AUTH_TOKEN wins over the file and is never written. Stored credentials belong to the
 * server in their api_url (a file without one, to PIPEOPS_API_URL or production): when
 * PIPEOPS_API_URL names another server they count as absent, so they are never sent there.
 * `stored` is the file as the caller already read it, so it is not read twice.
 */
export async function loadSession(ctx: Context, stored?: ConfigSnapshot): Promise<Session | NoSession> {
  const envToken = ctx.env.PIPEOPS_AUTH_TOKEN?.trim();
  if (envToken) {
    // The file's api_url still applies, but a broken file must not stop a CI job that never uses it.
    const stored = await ctx.store().read().catch(() => undefined);
    return { accessToken: envToken, source: "env", apiUrl: resolveApiUrl(ctx, stored?.apiUrl) };
  }
  const { credentials, apiUrl } = stored ?? (await ctx.store().read());
  if (!credentials) return { none: true };
  const server = resolveApiUrl(ctx, apiUrl);
  if (apiUrl && !sameServer(server, parseServerUrl(apiUrl))) return { none: true, storedFor: serverName(new URL(apiUrl)) };
  return { ...credentials, apiUrl: server };
}

export async function requireSession(ctx: Context): Promise<Session> {
  const found = await loadSession(ctx);
  if (!isSession(found)) throw notAuthenticated(found.storedFor);
  return found;
}

export function isExpired(session: Session, now: number): boolean {
  return session.expiresAt !== undefined && session.expiresAt.getTime() <= now;
}

/** True when the access token has expired or expires within REFRESH_MARGIN_MS of `now`. */
export function expiresSoon(session: Session, now: number): boolean {
  return session.expiresAt !== undefined && session.expiresAt.getTime() - now <= REFRESH_MARGIN_MS;
}

/** Environment tokens are never refreshed (nor written); file sessions need a refresh token. */
export function canRefresh(session: Session): boolean {
  return session.source !== "env" && session.refreshToken !== undefined;
}
