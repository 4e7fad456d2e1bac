import type { Context } from "../../context.ts";
import { CliError } from "../../errors.ts";
import type { ConfigSnapshot } from "../../config/store.ts";
import type { StatusResult } from "../../results.ts";

export interface StatusOptions {
  json: boolean;
}

/**
 * Verifies the session with the server, refreshing it when it expires within a minute, and reports
 * the expiry of the token actually used; an expired or rejected session is a status, not a crash.
 */
export async function status(ctx: Context, _options: StatusOptions): Promise<StatusResult> {
  // No token in the environment and none in the file: the offline answer, without loading the
  // OAuth stack (session, server, oauth4webapi). A broken file fails here as in loadSession.
  const envToken = Boolean(ctx.env.PIPEOPS_AUTH_TOKEN?.trim());
  const stored = envToken ? undefined : await ctx.store().read();
  if (stored && !stored.credentials) return { kind: "status", authenticated: false };
  return verify(ctx, stored);
}

/** The online part, in a function of its own so the offline answer never compiles it. */
async function verify(ctx: Context, stored: ConfigSnapshot | undefined): Promise<StatusResult> {
  const [{ isSession, loadSession, withSession }, { fetchUserInfo }] = await Promise.all([import("../../auth/session.ts"), import("../../api/userinfo.ts")]);
  const session = await loadSession(ctx, stored);
  if (!isSession(session)) return { kind: "status", authenticated: false, ...(session.storedFor ? { storedFor: session.storedFor } : {}) };
  try {
    const { value: user, session: used } = await withSession(ctx, session, (token, conn) => fetchUserInfo(conn, token));
    return { kind: "status", authenticated: true, email: user.email ?? user.id, expiresAt: used.expiresAt ?? null, problem: null };
  } catch (error) {
    if (error instanceof CliError && (error.code === "token_expired" || error.code === "invalid_token")) {
      return { kind: "status", authenticated: true, email: null, expiresAt: session.expiresAt ?? null, problem: error };
    }
    throw error;
  }
}
