/**
 * The command line's surface: each action's flags, the help texts, and flag parsing with cac.
 * Loaded only when an invocation asks for help or passes flags: `--version` and a bare
 * `pipeops auth status` never parse it.
 */
import { cac } from "cac";
import { usageError } from "./errors.ts";
import type { CommandResult } from "./results.ts";

/** The flags cac hands us; cac's own type is untyped. */
export interface AuthFlags {
  json?: boolean;
  force?: boolean;
  browser?: boolean;
  timeout?: number | string;
  withToken?: boolean;
  revoke?: boolean;
  help?: boolean;
}

interface FlagSpec {
  flag: string;
  description: string;
}

/** The actions of `pipeops auth`. */
export type AuthAction = "login" | "logout" | "status" | "me" | "token";

interface ActionSpec {
  summary: string;
  flags: FlagSpec[];
  examples: string[];
}

const JSON_FLAG: FlagSpec = { flag: "--json", description: "Print the result as one JSON document" };

/** Every `pipeops auth` action, in the order help lists them. */
export const AUTH_ACTIONS: Record<AuthAction, ActionSpec> = {
  login: {
    summary: "Authenticate with PipeOps using OAuth 2.0 with PKCE",
    flags: [
      { flag: "--browser", description: "Open browser automatically (default: true)" },
      { flag: "--no-browser", description: "Display auth URL without opening browser" },
      { flag: "--with-token", description: "Read a token from standard input instead of logging in" },
      { flag: "--timeout <seconds>", description: "Give up waiting for authentication after this long (default: 300)" },
    ],
    examples: ["pipeops auth login", "pipeops auth login --no-browser", "pipeops auth login --with-token < token.txt"],
  },
  logout: {
    summary: "Sign out and remove local credentials",
    flags: [
      { flag: "--force", description: "Skip confirmation prompt" },
      { flag: "--revoke", description: "Also revoke the tokens at the server" },
    ],
    examples: ["pipeops auth logout", "pipeops auth logout --force", "pipeops auth logout --force --revoke"],
  },
  status: {
    summary: "Check current authentication status",
    flags: [JSON_FLAG],
    examples: ["pipeops auth status", "pipeops auth status --json"],
  },
  me: {
    summary: "Display current user information",
    flags: [JSON_FLAG],
    examples: ["pipeops auth me", "pipeops auth me --json"],
  },
  token: {
    summary: "Print the access token (for scripts: $(pipeops auth token))",
    flags: [],
    examples: ['curl -H "Authorization: Bearer $(pipeops auth token)" https://api.pipeops.io/...'],
  },
};

const help = (text: string): CommandResult => ({ kind: "help", text });

export function rootHelp(): CommandResult {
  return help(
    [
      "pipeops: the PipeOps command-line client",
      "",
      "Usage:",
      "  pipeops <command> [flags]",
      "",
      "Commands:",
      "  auth    Manage authentication (login, logout, status, me, token)",
      "",
      "Flags:",
      "  -h, --help       Show help",
      "  -v, --version    Show version",
      "",
      "Run 'pipeops auth --help' for the auth commands.",
      "",
    ].join("\n"),
  );
}

export function authHelp(): CommandResult {
  const names = Object.keys(AUTH_ACTIONS) as AuthAction[];
  const width = Math.max(...names.map((name) => name.length)) + 2;
  const lines = names.map((name) => `  ${name.padEnd(width)}${AUTH_ACTIONS[name].summary}`);
  return help(
    [
      "Manage authentication and user account information",
      "",
      "Usage:",
      "  pipeops auth <command> [flags]",
      "",
      "Commands:",
      ...lines,
      "",
      "Run 'pipeops auth <command> --help' for a command's flags.",
      "",
    ].join("\n"),
  );
}

export function actionHelp(name: AuthAction): CommandResult {
  const spec = AUTH_ACTIONS[name];
  const flags = [...spec.flags, { flag: "-h, --help", description: "Show help for this command" }];
  const width = Math.max(...flags.map((f) => f.flag.length)) + 2;
  return help(
    [
      spec.summary,
      "",
      "Usage:",
      `  pipeops auth ${name} [flags]`,
      "",
      "Flags:",
      ...flags.map((f) => `  ${f.flag.padEnd(width)}${f.description}`),
      "",
      "Examples:",
      ...spec.examples.map((example) => `  $ ${example}`),
      "",
    ].join("\n"),
  );
}

/** The action's flags, parsed by cac; an unknown flag or a missing value is a usage error. */
export function parseFlags(action: AuthAction, rest: readonly string[]): AuthFlags {
  const spec = AUTH_ACTIONS[action];
  const cli = cac("pipeops auth");
  let flags: AuthFlags | undefined;
  const command = cli.command(action, spec.summary, { ignoreOptionDefaultValue: true });
  for (const { flag, description } of spec.flags) command.option(flag, description);
  command.action((parsed: AuthFlags) => {
    flags = parsed;
  });
  try {
    cli.parse(["pipeops", "auth", action, ...rest], { run: false });
    cli.runMatchedCommand();
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/`/g, "'") : String(error);
    throw usageError(message.charAt(0).toLowerCase() + message.slice(1), `Run 'pipeops auth ${action} --help' for usage`);
  }
  return flags ?? {};
}
