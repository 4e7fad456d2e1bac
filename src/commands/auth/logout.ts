import type { Context } from "../../context.ts";
import { CliError } from "../../errors.ts";
import type { LogoutResult } from "../../results.ts";

export interface LogoutOptions {
  force: boolean;
  /** Also revoke the tokens at the server (RFC 7009); not part of the spec's plain logout. */
  revoke: boolean;
}

export const LOGOUT_PROMPT = "Are you sure you want to logout? [y/N] ";

/** Removes the stored credentials (ours and the Go CLI's); no server call, as the spec says. */
export async function logout(ctx: Context, options: LogoutOptions): Promise<LogoutResult> {
  const envTokenStillSet = Boolean(ctx.env.PIPEOPS_AUTH_TOKEN?.trim());
  const store = ctx.store();
  const { credentials } = await store.read();
  if (!credentials) return { kind: "logout", outcome: "not_logged_in", envTokenStillSet };
  if (!options.force && !(await confirm(ctx))) return { kind: "logout", outcome: "cancelled", envTokenStillSet };
  await store.clear();
  return { kind: "logout", outcome: "logged_out", envTokenStillSet };
}

/** Reads the answer from stdin, terminal or pipe; only y/yes agrees, end of input means no. */
async function confirm(ctx: Context): Promise<boolean> {
  ctx.stderr.write(LOGOUT_PROMPT);
  const answer = await ctx.stdin.readLine();
  if (answer === null) {
    ctx.stderr.write("\n");
    throw new CliError(
      "usage",
      "logout needs confirmation, but standard input ended without an answer",
      "Run 'pipeops auth logout --force' to log out without the prompt",
    );
  }
  return /^\s*(y|yes)\s*$/i.test(answer);
}
