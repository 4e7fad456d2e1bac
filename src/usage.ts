/** Help texts and usage errors: a command's help from its flags, and the nearest name to a typo. */
import type { AnyCommand } from "./command.ts";
import { type CliError, usageError } from "./errors.ts";
import type { FlagSpec } from "./flags.ts";
import { closest } from "./suggest.ts";

export const ROOT_HELP = `pipeops: the PipeOps command-line client

Usage:
  pipeops <command> [flags]

Commands:
  auth          Manage authentication (login, logout, status, me, token, doctor)
  api           Make an authenticated request to the PipeOps API
  completion    Print the shell completion script (bash, zsh, fish, powershell)
  update        Check for and install a newer pipeops (signed releases only)

Shortcuts (the official PipeOps CLI's names):
  login, logout, status, me    the same as 'pipeops auth <command>'
  whoami, userinfo             the same as 'pipeops auth me'

Flags:
  -h, --help         Show help
  -v, --version      Show version
  --config <file>    The credential file to use (default: ~/.pipeops.json, or PIPEOPS_CONFIG_PATH)
  --quiet            Only the essential line, and errors
  --verbose          Trace each request and the credentials used on stderr (secrets masked)

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

/**
 * `pipeops auht`, `pipeops logn`, `pipeops --bogus`; and `pipeops token`, which is `auth token` here
 * (the official CLI's `token` manages service-account tokens, so it is not a shortcut).
 */
export function unknownTopLevel(typed: string, authCommands: readonly string[], topLevel: readonly string[]): CliError {
  const hint = "Run 'pipeops --help' for usage";
  if (typed.startsWith("-")) return usageError(unknown("option", typed), flagsGoAfter(typed) ?? hint);
  const nearest = authCommands.includes(typed) ? `auth ${typed}` : closest(typed, topLevel);
  return usageError(`${unknown("command", typed)}${nearest ? `; did you mean '${nearest}'?` : ""}`, hint);
}

/** `pipeops auth lgoin`, `pipeops auth --bogus`. */
export function unknownAuthCommand(typed: string, authCommands: readonly string[]): CliError {
  if (typed.startsWith("-")) return usageError(unknown("option", typed), flagsGoAfter(typed) ?? "Run 'pipeops auth --help' for usage");
  const nearest = closest(typed, authCommands);
  return usageError(
    `${unknown("command", `auth ${typed}`)}${nearest ? `; did you mean 'auth ${nearest}'?` : ""}`,
    "Run 'pipeops auth --help' for the auth commands",
  );
}

/** A word that is safe to repeat: a name, never what may be a token. */
const SAFE_WORD = /^(auth )?-{0,2}[A-Za-z0-9][A-Za-z0-9-]{0,30}$/;

/** "unknown command 'auth lgoin'": names a word as typed, but never repeats what may be a token. */
function unknown(what: "command" | "option", typed: string): string {
  return SAFE_WORD.test(typed) ? `unknown ${what} '${typed}'` : `unknown ${what}`;
}

/** `pipeops --json auth status`: a command's flag typed before the command, which is where it goes. */
function flagsGoAfter(typed: string): string | undefined {
  if (!typed.startsWith("--") || !SAFE_WORD.test(typed)) return undefined;
  return `A command's flags go after it, e.g. 'pipeops auth status ${typed.split("=")[0]}'; only --config, --quiet and --verbose go anywhere`;
}

/** `pipeops --version extra`: the version takes nothing after it (the word is not repeated: it may be a token). */
export const versionTakesNoArguments = (typed: string) => usageError(`'pipeops ${typed}' takes no arguments`, "Run 'pipeops --version'");

export const HELP_FLAG: FlagSpec = { name: "-h, --help", description: "Show help for this command" };

/** Two-column lines: names padded to the longest, then the text. */
export function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  return rows.map(([name, text]) => `  ${name.padEnd(width)}${text}`);
}

export function commandHelp(command: AnyCommand): string {
  const flags = [...command.flags, HELP_FLAG].map((flag) => {
    const name = flag.short ? `${flag.short}, ${flag.name}` : flag.name;
    return [flag.value ? `${name} ${flag.value}` : name, flag.description] as const;
  });
  return [
    command.summary,
    "",
    "Usage:",
    `  pipeops ${command.name} ${command.usage ?? "[flags]"}`,
    "",
    "Flags:",
    ...columns(flags),
    "",
    "Examples:",
    ...command.examples.map((example) => `  $ ${example}`),
    "",
  ].join("\n");
}
