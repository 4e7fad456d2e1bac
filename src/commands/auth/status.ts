import { fetchUserInfo } from "../../api/userinfo.ts";
import { loadSession, withSession } from "../../auth/session.ts";
import type { Context } from "../../context.ts";
import { CliError } from "../../errors.ts";
import type { StatusResult } from "../../results.ts";

export interface StatusOptions {
  json: boolean;
}

/**
 * Verifies the session with the server, refreshing it when it expires within a minute, and reports
 * the expiry of the token actually used; an expired or rejected session is a status, not a crash.
 */
export async function status(ctx: Context, _options: StatusOptions): Promise<StatusResult> {
  const session = await loadSession(ctx);
  if (!session) return { kind: "status", authenticated: false };
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
