import { requireSession, usableAccessToken } from "../../auth/session.ts";
import type { Context } from "../../context.ts";
import type { TokenResult } from "../../results.ts";

/**
 * The access token alone, for `$(pipeops auth token)`; the only command that prints a secret.
 * A token expiring within a minute is refreshed first, so the caller's request does not fail.
 */
export async function token(ctx: Context): Promise<TokenResult> {
  const session = await requireSession(ctx);
  return { kind: "token", token: await usableAccessToken(ctx, session) };
}
