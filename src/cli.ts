import type { Context } from "./context.ts";
import { CliError, sanitize, usageError } from "./errors.ts";
import { exitCodeFor, exitCodeOf } from "./exit-codes.ts";
import { prepareColors, printError, render } from "./output.ts";
import type { CommandResult } from "./results.ts";
import { versionLine } from "./version.ts";

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

interface ActionSpec {
  summary: string;
  flags: FlagSpec[];
  examples: string[];
  /** Loaded on demand so `--help` and `--version` load neither the OAuth stack nor the disk. */
  run(ctx: Context, flags: AuthFlags): Promise<CommandResult>;
}

const JSON_FLAG: FlagSpec = { flag: "--json", description: "Print the result as one JSON document" };

export const AUTH_ACTIONS: Record<string, ActionSpec> = {
  login: {
    summary: "Authenticate with PipeOps using OAuth 2.0 with PKCE",
    flags: [
      { flag: "--browser", description: "Open browser automatically (default: true)" },
      { flag: "--no-browser", description: "Display auth URL without opening browser" },
      { flag: "--with-token", description: "Read a token from standard input instead of logging in" },
      { flag: "--timeout <seconds>", description: "Give up waiting for authentication after this long (default: 300)" },
    ],
    examples: ["pipeops auth login", "pipeops auth login --no-browser", "pipeops auth login --with-token < token.txt"],
    run: async (ctx, flags) => (await import("./commands/auth/login.ts")).login(ctx, loginOptions(flags)),
  },
  logout: {
    summary: "Sign out and remove local credentials",
    flags: [
      { flag: "--force", description: "Skip confirmation prompt" },
      { flag: "--revoke", description: "Also revoke the tokens at the server" },
    ],
    examples: ["pipeops auth logout", "pipeops auth logout --force", "pipeops auth logout --force --revoke"],
    run: async (ctx, flags) =>
      (await import("./commands/auth/logout.ts")).logout(ctx, { force: Boolean(flags.force), revoke: Boolean(flags.revoke) }),
  },
  status: {
    summary: "Check current authentication status",
    flags: [JSON_FLAG],
    examples: ["pipeops auth status", "pipeops auth status --json"],
    run: async (ctx, flags) => (await import("./commands/auth/status.ts")).status(ctx, { json: Boolean(flags.json) }),
  },
  me: {
    summary: "Display current user information",
    flags: [JSON_FLAG],
    examples: ["pipeops auth me", "pipeops auth me --json"],
    run: async (ctx, flags) => (await import("./commands/auth/me.ts")).me(ctx, { json: Boolean(flags.json) }),
  },
  token: {
    summary: "Print the access token (for scripts: $(pipeops auth token))",
    flags: [],
    examples: ['curl -H "Authorization: Bearer $(pipeops auth token)" https://api.pipeops.io/...'],
    run: async (ctx) => (await import("./commands/auth/token.ts")).token(ctx),
  },
};

export interface LoginOptions {
  /** undefined: decide from the environment (SSH, no display). */
  browser: boolean | undefined;
  withToken: boolean;
  timeoutSeconds: number;
}

/** --timeout must be a positive number of seconds. */
export function loginOptions(flags: AuthFlags): LoginOptions {
  let timeoutSeconds = 300;
  if (flags.timeout !== undefined) {
    timeoutSeconds = Number(flags.timeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw usageError(`--timeout must be a positive number of seconds, got '${String(flags.timeout)}'`, "Run 'pipeops auth login --help' for usage");
    }
  }
  return { browser: flags.browser, withToken: Boolean(flags.withToken), timeoutSeconds };
}

function rootHelp(): string {
  return [
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
  ].join("\n");
}

function authHelp(): string {
  const names = Object.keys(AUTH_ACTIONS);
  const width = Math.max(...names.map((name) => name.length)) + 2;
  const lines = names.map((name) => `  ${name.padEnd(width)}${AUTH_ACTIONS[name]!.summary}`);
  return [
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
  ].join("\n");
}

function actionHelp(name: string, spec: ActionSpec): string {
  const flags = [...spec.flags, { flag: "-h, --help", description: "Show help for this command" }];
  const width = Math.max(...flags.map((f) => f.flag.length)) + 2;
  return [
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
  ].join("\n");
}

const help = (text: string): CommandResult => ({ kind: "help", text });

/** Parses argv (without the program name) into a result to render. */
async function dispatch(ctx: Context, argv: readonly string[]): Promise<{ result: CommandResult; json: boolean }> {
  const [group, action, ...rest] = argv;
  const wantsHelp = (args: readonly string[]) => args.includes("--help") || args.includes("-h");
  if (group === undefined || group === "help" || group === "--help" || group === "-h") {
    return { result: help(rootHelp()), json: false };
  }
  if (group === "--version" || group === "-v" || group === "version") {
    return { result: help(versionLine()), json: false };
  }
  if (group !== "auth") {
    throw usageError(`unknown command '${group}'`, "Run 'pipeops --help' for usage");
  }
  if (action === undefined || action === "help" || action === "--help" || action === "-h") {
    return { result: help(authHelp()), json: false };
  }
  const spec = Object.hasOwn(AUTH_ACTIONS, action) ? AUTH_ACTIONS[action] : undefined;
  if (!spec) throw usageError(`unknown command 'auth ${action}'`, "Run 'pipeops auth --help' for the auth commands");
  if (wantsHelp(rest)) return { result: help(actionHelp(action, spec)), json: false };

  const parsed = rest.length === 0 ? {} : await parseFlags(action, spec, rest);
  return { result: await spec.run(ctx, parsed), json: Boolean(parsed.json) };
}

/**
 * The action's flags, parsed by cac. Loaded here, not at the top: `--help`, `--version` and an
 * action without arguments (cac would find no flags in them) need no flag parser.
 */
async function parseFlags(action: string, spec: ActionSpec, rest: readonly string[]): Promise<AuthFlags> {
  const { cac } = await import("cac");
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

/** Runs one invocation and returns its exit code; nothing here calls process.exit. */
export async function runCli(ctx: Context, argv: readonly string[]): Promise<number> {
  try {
    await prepareColors(ctx);
    const { result, json } = await dispatch(ctx, argv);
    render(ctx, result, json);
    return exitCodeOf(result);
  } catch (error) {
    const cliError =
      error instanceof CliError ? error : new CliError("server", `unexpected error: ${describe(error)}`, undefined, { cause: error });
    printError(ctx.stderr, cliError);
    if (ctx.env.PIPEOPS_DEBUG === "1") printDebug(ctx, error);
    return exitCodeFor(cliError);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] ?? error.name : String(error);
}

/** PIPEOPS_DEBUG=1: the cause chain, one line each (never request bodies or headers, so never tokens). */
function printDebug(ctx: Context, error: unknown): void {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    // Plain-object causes (a parsed response body) may hold tokens: name their kind only.
    const line =
      cause instanceof Error ? `${cause.name}: ${cause.message}` : typeof cause === "object" ? `(${cause.constructor?.name ?? "object"} details omitted)` : String(cause);
    ctx.stderr.write(`debug: ${sanitize(line.split("\n")[0] ?? "", 500)}\n`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
}
