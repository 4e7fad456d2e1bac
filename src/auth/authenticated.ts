/** Using a session: requests with a fresh access token, refreshed under the file's lock when needed. */
import { connect, type ServerConnection } from "../api/server.ts";
import { parseServerUrl, sameServer, serverName } from "../api/server-url.ts";
import { fetchUserInfo, type UserInfo } from "../api/userinfo.ts";
import { lockPathFor, withLock } from "../config/lock.ts";
import type { Context } from "../context.ts";
import { CliError, invalidToken, notAuthenticated, tokenExpired } from "../errors.ts";
import { ServerClock } from "./clock.ts";
import { refreshTokens } from "./refresh.ts";
import { type Session, canRefresh, expiresSoon, invalidTokenFor, isExpired } from "./session.ts";

/**
 * The session with an access token good for at least another minute, refreshed when it is not.
 * Offline, a token the local clock still calls fresh is returned as it is.
 */
export async function freshSession(ctx: Context, session: Session, conn?: ServerConnection): Promise<Session> {
  if (!canRefresh(session)) {
    if (isExpired(session, ctx.now())) throw tokenExpired();
    return session;
  }
  let link: ServerLink;
  try {
    link = await linkTo(ctx, session, conn);
  } catch (error) {
    if (isTransient(error) && !expiresSoon(session, ctx.now())) return session;
    throw error;
  }
  if (!expiresSoon(session, link.clock.now())) return session;
  return (await refreshSession(ctx, link, session)).session;
}

/** A usable access token for the session: refreshed when it expires within a minute. */
export async function usableAccessToken(ctx: Context, session: Session, conn?: ServerConnection): Promise<string> {
  return (await freshSession(ctx, session, conn)).accessToken;
}

/**
 * Runs an authenticated request with a fresh access token. When the server refuses a token that
 * looked valid (a 401, thrown as invalid_token), refreshes once and tries once more (RFC 6750 §3.1).
 * Returns the session that was used, so callers can report its (possibly new) expiry.
 */
export async function withSession<T>(
  ctx: Context,
  session: Session,
  request: (accessToken: string, conn: ServerConnection) => Promise<T>,
  conn?: ServerConnection,
): Promise<{ value: T; session: Session }> {
  if (!canRefresh(session)) {
    if (isExpired(session, ctx.now())) throw tokenExpired();
    const link = await linkTo(ctx, session, conn);
    try {
      return { value: await request(session.accessToken, link.conn), session };
    } catch (error) {
      // A refused token from the environment: the hint names the variable, which wins over any login.
      if (error instanceof CliError && error.code === "invalid_token") throw invalidTokenFor(session.variable);
      throw error;
    }
  }
  const link = await linkTo(ctx, session, conn);
  let current = session;
  let granted = false;
  if (expiresSoon(current, link.clock.now())) ({ session: current, granted } = await refreshSession(ctx, link, current));
  try {
    return { value: await request(current.accessToken, link.conn), session: current };
  } catch (error) {
    // A token the server has just issued and already refuses is not a matter of expiry.
    if (granted || !(error instanceof CliError && error.code === "invalid_token")) throw error;
  }
  ({ session: current } = await refreshSession(ctx, link, current, current.accessToken));
  return { value: await request(current.accessToken, link.conn), session: current };
}

/** Verifies the session against the server's userinfo endpoint, refreshing it when needed. */
export async function verifySession(ctx: Context, session: Session, conn?: ServerConnection): Promise<UserInfo> {
  return (await withSession(ctx, session, (token, server) => fetchUserInfo(server, token), conn)).value;
}

/** A connection to the session's server, and that server's clock as its responses show it. */
interface ServerLink {
  conn: ServerConnection;
  clock: ServerClock;
}

async function linkTo(ctx: Context, session: Session, given?: ServerConnection): Promise<ServerLink> {
  const clock = new ServerClock(() => ctx.now());
  if (given) return { conn: given, clock };
  // Every response on this connection, discovery first, shows the server's time.
  const conn = await connect({ ...ctx, fetch: clock.observing(ctx.fetch) }, session.apiUrl);
  return { conn, clock };
}

/**
 * Refreshes under the credential file's lock. The file is read again once the lock is held: when
 * another process has refreshed meanwhile, its token is used and no second grant is made (a spent
 * refresh token replayed would make the server revoke the whole session). `rejected` is a token the
 * server has refused, which is never taken back from the file.
 */
async function refreshSession(
  ctx: Context,
  link: ServerLink,
  session: Session,
  rejected?: string,
): Promise<{ session: Session; granted: boolean }> {
  const store = ctx.store();
  return withLock(ctx, lockPathFor(store.path), async () => {
    const { credentials, apiUrl } = await store.read();
    if (!credentials) throw notAuthenticated();
    // A login to another server meanwhile: its refresh token must not travel to this one.
    if (apiUrl && !sameServer(parseServerUrl(apiUrl), session.apiUrl)) throw notAuthenticated(serverName(new URL(apiUrl)));
    const stored: Session = { ...credentials, apiUrl: session.apiUrl };
    const refreshedElsewhere = stored.accessToken !== session.accessToken && stored.accessToken !== rejected;
    if (refreshedElsewhere && !isExpired(stored, link.clock.now())) return { session: stored, granted: false };
    if (!stored.refreshToken) throw rejected ? invalidToken() : tokenExpired();

    const tokens = await refreshTokens(ctx, link.conn, stored.refreshToken, link.clock);
    // Our top-level keys; the Go CLI's nested ones and every other key stay as they were.
    await store.save({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt });
    const refreshed: Session = { ...tokens, source: "file", apiUrl: session.apiUrl };
    return { session: refreshed, granted: true };
  });
}

function isTransient(error: unknown): boolean {
  return error instanceof CliError && (error.code === "network" || error.code === "timeout");
}
