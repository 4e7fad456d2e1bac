/** `pipeops auth me`: the account behind the session, as the server describes it. */

import { type Command, JSON_FLAG, parseFlags } from "../../command.ts";
import type { Context } from "../../context.ts";
import { printJson } from "../../output.ts";
import type { UserInfo } from "../../server/account.ts";
import { describeAccount } from "../../session/authenticated.ts";
import { requireSession } from "../../session/session.ts";

export interface MeOptions {
  json: boolean;
}

export interface MeResult {
  user: UserInfo;
}

async function run(ctx: Context, _options: MeOptions): Promise<MeResult> {
  const session = await requireSession(ctx);
  return { user: await describeAccount(ctx, session) };
}

/** The spec's labels and alignment; a line the server gave no value for is left out. */
const LABELS = [
  ["Email", "email"],
  ["Name", "name"],
  ["Organization", "organization"],
  ["Role", "role"],
  ["Account ID", "id"],
] as const;

export function formatMe(user: UserInfo): string {
  const width = Math.max(...LABELS.map(([label]) => label.length)) + 2;
  let text = "";
  for (const [label, key] of LABELS) {
    const value = user[key];
    if (value) text += `${`${label}:`.padEnd(width)}${key === "role" ? capitalize(value) : value}\n`;
  }
  return text;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The spec's keys in its order; null for what the server did not say. */
export function toJson({ user }: MeResult): Record<string, unknown> {
  return {
    id: user.id,
    email: user.email ?? null,
    name: user.name ?? null,
    organization: user.organization ?? null,
    role: user.role ?? null,
    created_at: user.created_at ?? null,
  };
}

const FLAGS = [JSON_FLAG] as const;

export const command: Command<MeOptions, MeResult, typeof FLAGS> = {
  name: "auth me",
  summary: "Display current user information",
  flags: FLAGS,
  examples: ["pipeops auth me", "pipeops auth me --json"],
  parse: async (argv) => ({ json: (await parseFlags(command, argv)).json ?? false }),
  run,
  render: ({ stdout }, result, options) => (options.json ? printJson(stdout, toJson(result)) : stdout.write(formatMe(result.user))),
  reportsJson: (options) => options.json,
};
