/** `pipeops auth token`: the access token alone, for `$(pipeops auth token)`; the only command that prints a secret. */

import { type Command, parseFlags } from "../../command.ts";
import type { Context } from "../../context.ts";
import { asItIs, requireSession } from "../../session/session.ts";

export type TokenOptions = Record<string, never>;

export interface TokenResult {
  token: string;
}

/**
 * A token expiring within a minute is refreshed first, so the caller's request does not fail. One
 * that never can be (from the environment, a sat_ token, no refresh token) is printed as it is: the
 * refresh and connection code loads only for a session that may need it (npm run bench, with a session).
 */
async function run(ctx: Context, _options: TokenOptions): Promise<TokenResult> {
  const session = await requireSession(ctx);
  const unrenewable = asItIs(session, ctx.now());
  if (unrenewable) return { token: unrenewable.accessToken };
  return { token: await (await import("../../session/authenticated.ts")).usableAccessToken(ctx, session) };
}

export const command: Command<TokenOptions, TokenResult, readonly []> = {
  name: "auth token",
  summary: "Print the access token (for scripts: $(pipeops auth token))",
  flags: [],
  examples: ['curl -H "Authorization: Bearer $(pipeops auth token)" https://api.pipeops.io/...'],
  async parse(argv) {
    await parseFlags(command, argv);
    return {};
  },
  run,
  render: ({ stdout }, result) => stdout.write(`${result.token}\n`),
};
