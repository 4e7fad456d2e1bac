/**
 * Using a session: requests with a fresh access token, refreshed under the file's lock when needed.
 * With the server already known (src/server/cache.ts), nothing is asked that the command does
 * not need: `auth token` with a good token sends no request, `auth status` only userinfo.
 */

import type { Context } from "../context.ts";
import { CliError, cacheOutOfDate, invalidTokenFor, isUnreachable } from "../errors.ts";
import { fetchProfile, fetchUserInfo } from "../oauth/userinfo.ts";
import { printWarning } from "../output.ts";
import { type UserInfo, withProfile } from "../server/account.ts";
import { type ConnectOptions, connect, forgetServer, rememberClock, type ServerConnection } from "../server/connect.ts";
import { serverName } from "../server/url.ts";
import { asItIs, expiresSoon, type Session } from "./session.ts";

/** The connection to the session's server, with the settings the file gave for it. */
function connectTo(ctx: Context, session: Session, options?: ConnectOptions): Promise<ServerConnection> {
  return connect(ctx, session.apiUrl, session.settings, options);
}

/**
 * The session with an access token good for at least another minute, refreshed when it is not.
 * Expiry is judged by the server's clock as last seen; when the server cannot be reached to learn
 * it, a token the local clock still calls fresh is returned as it is.
 */
export async function freshSession(ctx: Context, session: Session): Promise<Session> {
  const unrenewable = asItIs(session, ctx.now());
  if (unrenewable) return unrenewable;
  let conn: ServerConnection;
  try {
    conn = await connectTo(ctx, session);
  } catch (error) {
    if (isUnreachable(error) && !expiresSoon(session, ctx.now())) return session;
    throw error;
  }
  if (!expiresSoon(session, conn.clock.now())) return session;
  try {
    return (await refreshSession(ctx, conn, session)).session;
  } finally {
    await rememberClock(ctx, conn);
  }
}

/**
 * The session renewed now, however long its access token has left (under the lock, as any refresh):
 * for `auth status --min-remaining`, when the token would end inside the window asked for.
 */
export async function renewSession(ctx: Context, session: Session): Promise<Session> {
  const conn = await connectTo(ctx, session);
  try {
    return (await refreshSession(ctx, conn, session)).session;
  } finally {
    await rememberClock(ctx, conn);
  }
}

/** A usable access token for the session: refreshed when it expires within a minute. */
export async function usableAccessToken(ctx: Context, session: Session): Promise<string> {
  return (await freshSession(ctx, session)).accessToken;
}

export type AuthorizedRequest<T> = (accessToken: string, conn: ServerConnection) => Promise<T>;

/**
 * Runs an authenticated request with a fresh access token. When the server refuses a token that
 * looked valid (a 401, thrown as invalid_token), refreshes once and tries once more (RFC 6750 §3.1).
 * When what was remembered of the server is out of date (an endpoint answers 404, the issuer
 * changed), learns it again once and retries. Returns the session that was used, so callers can
 * report its (possibly new) expiry.
 */
export async function withSession<T>(ctx: Context, session: Session, request: AuthorizedRequest<T>): Promise<{ value: T; session: Session }> {
  // A token that has ended and cannot be renewed is said so before the server is looked for.
  asItIs(session, ctx.now());
  let conn = await connectTo(ctx, session);
  try {
    return await authorized(ctx, conn, session, request);
  } catch (error) {
    if (!conn.cached || !(error instanceof CliError && error.code === "server_changed")) throw error;
    // Said, not hidden: a cache that keeps being wrong is worth a look.
    printWarning(ctx.stderr, cacheOutOfDate(serverName(session.apiUrl), error));
    await forgetServer(ctx, session.apiUrl);
    conn = await connectTo(ctx, session, { relearn: true });
    return await authorized(ctx, conn, session, request);
  } finally {
    await rememberClock(ctx, conn);
  }
}

async function authorized<T>(ctx: Context, conn: ServerConnection, session: Session, request: AuthorizedRequest<T>): Promise<{ value: T; session: Session }> {
  if (asItIs(session, ctx.now())) {
    try {
      return { value: await request(session.accessToken, conn), session };
    } catch (error) {
      // A refused token from the environment: the hint names the variable, which wins over any login.
      if (error instanceof CliError && error.code === "invalid_token") throw invalidTokenFor(session.variable);
      throw error;
    }
  }
  let current = session;
  let granted = false;
  if (expiresSoon(current, conn.clock.now())) ({ session: current, granted } = await refreshSession(ctx, conn, current));
  try {
    return { value: await request(current.accessToken, conn), session: current };
  } catch (error) {
    // A token the server has just issued and already refuses is not a matter of expiry.
    if (granted || !isRefusal(error)) throw error;
    ({ session: current } = await refreshSession(ctx, conn, current, { token: current.accessToken, error }));
  }
  return { value: await request(current.accessToken, conn), session: current };
}

/** The server refused the token (401), or ended its session (419): one refresh may mend either. */
function isRefusal(error: unknown): error is CliError {
  return error instanceof CliError && (error.code === "invalid_token" || error.reason === "session_ended");
}

/** The whole account: userinfo, and where the server has one the profile, fetched at the same time. */
export async function describeAccount(ctx: Context, session: Session): Promise<UserInfo> {
  const { value } = await withSession(ctx, session, async (token, conn) => {
    const [user, profile] = await Promise.all([fetchUserInfo(conn, token), fetchProfile(conn, token)]);
    return withProfile(user, profile);
  });
  return value;
}

/** The refresh, from a module of its own: the lock, the write checks and the grant load only for a session that needs one. */
async function refreshSession(
  ...args: Parameters<typeof import("./refresh-session.ts").refreshSession>
): ReturnType<typeof import("./refresh-session.ts").refreshSession> {
  return (await import("./refresh-session.ts")).refreshSession(...args);
}
