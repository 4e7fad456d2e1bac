/** Help texts and usage errors: a command's help from its flags, and the nearest name to a typo. */
import type { AnyCommand, FlagSpec } from "./command.ts";
import { type CliError, usageError } from "./errors.ts";

export const ROOT_HELP = `pipeops: the PipeOps command-line client

Usage:
  pipeops <command> [flags]

Commands:
  auth    Manage authentication (login, logout, status, me, token)

Flags:
  -h, --help       Show help
  -v, --version    Show version

Run 'pipeops auth --help' for the auth commands.
`;

/** `pipeops auth --help`: the commands and their summaries. */
export function groupHelp(summaries: readonly (readonly [string, string])[]): string {
  return [
    "Manage authentication and user account information",
    "",
    "Usage:",
    "  pipeops auth <command> [flags]",
    "",
    "Commands:",
    ...columns(summaries),
    "",
    "Run 'pipeops auth <command> --help' for a command's flags.",
    "",
  ].join("\n");
}

/** `pipeops auht`, `pipeops login` (the Go CLI's spelling), `pipeops --bogus`. */
export function unknownTopLevel(typed: string, authCommands: readonly string[]): CliError {
  const hint = "Run 'pipeops --help' for usage";
  if (typed.startsWith("-")) return usageError(unknown("option", typed), hint);
  const nearest = authCommands.includes(typed) ? `auth ${typed}` : closest(typed, ["auth"]);
  return usageError(`${unknown("command", typed)}${nearest ? `; did you mean '${nearest}'?` : ""}`, hint);
}

/** `pipeops auth lgoin`, `pipeops auth --bogus`. */
export function unknownAuthCommand(typed: string, authCommands: readonly string[]): CliError {
  if (typed.startsWith("-")) return usageError(unknown("option", typed), "Run 'pipeops auth --help' for usage");
  const nearest = closest(typed, authCommands);
  return usageError(`${unknown("command", `auth ${typed}`)}${nearest ? `; did you mean 'auth ${nearest}'?` : ""}`, "Run 'pipeops auth --help' for the auth commands");
}

/** "unknown command 'auth lgoin'": names a word as typed, but never repeats what may be a token. */
function unknown(what: "command" | "option", typed: string): string {
  return /^(auth )?-{0,2}[A-Za-z0-9][A-Za-z0-9-]{0,30}$/.test(typed) ? `unknown ${what} '${typed}'` : `unknown ${what}`;
}

export const HELP_FLAG: FlagSpec = { name: "-h, --help", description: "Show help for this command" };

/** Two-column lines: names padded to the longest, then the text. */
export function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  return rows.map(([name, text]) => `  ${name.padEnd(width)}${text}`);
}

export function commandHelp(command: AnyCommand): string {
  const flags = [...command.flags, HELP_FLAG].map((flag) => [flag.value ? `${flag.name} ${flag.value}` : flag.name, flag.description] as const);
  return [
    command.summary,
    "",
    "Usage:",
    `  pipeops ${command.name} [flags]`,
    "",
    "Flags:",
    ...columns(flags),
    "",
    "Examples:",
    ...command.examples.map((example) => `  $ ${example}`),
    "",
  ].join("\n");
}

/** The candidate nearest to `typed`, when it is near enough to be a typo of it. */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(typed.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.min(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit (lgoin → login). */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}
