import { fetchUserInfo, type UserInfo } from "../api/userinfo.ts";
import type { StoredCredentials } from "../config/store.ts";
import type { Context } from "../context.ts";
import { notAuthenticated, tokenExpired } from "../errors.ts";
import { connect, resolveApiUrl, type ServerConnection } from "./server.ts";

/** The credentials a command runs with, and where they came from. */
export interface Session {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: Date;
  source: "env" | StoredCredentials["source"];
  apiUrl: URL;
}

/** PIPEOPS_AUTH_TOKEN wins over the file and is never written; null when there are no credentials. */
export async function loadSession(ctx: Context): Promise<Session | null> {
  const envToken = ctx.env.PIPEOPS_AUTH_TOKEN?.trim();
  if (envToken) {
    // The file's api_url still applies, but a broken file must not stop a CI job that never uses it.
    const stored = await ctx.store().read().catch(() => undefined);
    return { accessToken: envToken, source: "env", apiUrl: resolveApiUrl(ctx, stored?.apiUrl) };
  }
  const { credentials, apiUrl } = await ctx.store().read();
  if (!credentials) return null;
  return { ...credentials, apiUrl: resolveApiUrl(ctx, apiUrl) };
}

export async function requireSession(ctx: Context): Promise<Session> {
  const session = await loadSession(ctx);
  if (!session) throw notAuthenticated();
  return session;
}

export function isExpired(session: Session, now: number): boolean {
  return session.expiresAt !== undefined && session.expiresAt.getTime() <= now;
}

/** A usable access token for the session; fails with the spec's expired-token error when it is dead. */
export async function usableAccessToken(ctx: Context, session: Session): Promise<string> {
  if (isExpired(session, ctx.now())) throw tokenExpired();
  return session.accessToken;
}

/** Verifies the session against the server's userinfo endpoint. */
export async function verifySession(ctx: Context, session: Session, conn?: ServerConnection): Promise<UserInfo> {
  const token = await usableAccessToken(ctx, session);
  return fetchUserInfo(conn ?? (await connect(ctx, session.apiUrl)), token);
}
