/** `pipeops auth token`: the access token alone, for `$(pipeops auth token)`; the only command that prints a secret. */

import { type Command, parseFlags } from "../../command.ts";
import type { Context } from "../../context.ts";
import { usableAccessToken } from "../../session/authenticated.ts";
import { requireSession } from "../../session/session.ts";

export type TokenOptions = Record<string, never>;

export interface TokenResult {
  token: string;
}

/** A token expiring within a minute is refreshed first, so the caller's request does not fail. */
async function run(ctx: Context, _options: TokenOptions): Promise<TokenResult> {
  const session = await requireSession(ctx);
  return { token: await usableAccessToken(ctx, session) };
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
