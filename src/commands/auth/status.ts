import type { Context } from "../../context.ts";
import { CliError } from "../../errors.ts";
import type { StatusResult } from "../../results.ts";
import { loadSession, verifySession } from "../../auth/session.ts";

export interface StatusOptions {
  json: boolean;
}

/** Verifies the session with the server; an expired or rejected token is a status, not a crash. */
export async function status(ctx: Context, _options: StatusOptions): Promise<StatusResult> {
  const session = await loadSession(ctx);
  if (!session) return { kind: "status", authenticated: false };
  const expiresAt = session.expiresAt ?? null;
  try {
    const user = await verifySession(ctx, session);
    return { kind: "status", authenticated: true, email: user.email ?? user.id, expiresAt, problem: null };
  } catch (error) {
    if (error instanceof CliError && (error.code === "token_expired" || error.code === "invalid_token")) {
      return { kind: "status", authenticated: true, email: null, expiresAt, problem: error };
    }
    throw error;
  }
}
