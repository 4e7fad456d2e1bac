import type { AuthAction, AuthFlags } from "./command-line.ts";
import { status } from "./commands/auth/status.ts";
import type { Context } from "./context.ts";
import { CliError, sanitize, usageError } from "./errors.ts";
import { exitCodeFor, exitCodeOf } from "./exit-codes.ts";
import { prepareColors, printError, render } from "./output.ts";
import type { CommandResult } from "./results.ts";
import { versionLine } from "./version.ts";

type Run = (ctx: Context, flags: AuthFlags) => Promise<CommandResult>;

/**
 * What each action runs. Command modules load on demand, so `--help` and `--version` load neither
 * the OAuth stack nor the disk. `status` comes with this module: loading a module at run time
 * costs more than the status module itself, whose offline answer is the start-up users wait on most.
 */
const AUTH_COMMANDS: Record<AuthAction, Run> = {
  login: async (ctx, flags) => {
    const { login, loginOptions } = await import("./commands/auth/login.ts");
    return login(ctx, loginOptions(flags));
  },
  logout: async (ctx, flags) =>
    (await import("./commands/auth/logout.ts")).logout(ctx, { force: Boolean(flags.force), revoke: Boolean(flags.revoke) }),
  status: (ctx, flags) => status(ctx, { json: Boolean(flags.json) }),
  me: async (ctx, flags) => (await import("./commands/auth/me.ts")).me(ctx, { json: Boolean(flags.json) }),
  token: async (ctx) => (await import("./commands/auth/token.ts")).token(ctx),
};

const isHelp = (arg: string | undefined) => arg === undefined || arg === "help" || arg === "--help" || arg === "-h";

/** Help texts and flag parsing (with cac): only an invocation with help or flags loads them. */
const commandLine = () => import("./command-line.ts");

interface Outcome {
  result: CommandResult;
  json: boolean;
}

const human = (result: CommandResult): Outcome => ({ result, json: false });

/**
 * Parses argv (without the program name) and runs what it names. Not an async function: its
 * promises are built only on the paths that need them, which keeps `--version` and a bare
 * `auth status` from compiling the flag and help paths.
 */
function dispatch(ctx: Context, argv: readonly string[]): Outcome | Promise<Outcome> {
  const group = argv[0];
  const action = argv[1];
  if (group === "--version" || group === "-v" || group === "version") return human({ kind: "help", text: versionLine() });
  if (isHelp(group)) return commandLine().then(({ rootHelp }) => human(rootHelp()));
  if (group !== "auth") throw usageError(`unknown command '${group}'`, "Run 'pipeops --help' for usage");
  if (isHelp(action)) return commandLine().then(({ authHelp }) => human(authHelp()));
  if (!Object.hasOwn(AUTH_COMMANDS, action!)) {
    throw usageError(`unknown command 'auth ${action}'`, "Run 'pipeops auth --help' for the auth commands");
  }
  const name = action as AuthAction;
  if (argv.length === 2) return AUTH_COMMANDS[name](ctx, {}).then(human);
  return withFlags(ctx, name, argv.slice(2));
}

/** An action given arguments: its help, or its flags parsed by cac and then the action. */
async function withFlags(ctx: Context, name: AuthAction, rest: readonly string[]): Promise<Outcome> {
  const { actionHelp, parseFlags } = await commandLine();
  if (rest.includes("--help") || rest.includes("-h")) return human(actionHelp(name));
  const flags = parseFlags(name, rest);
  return { result: await AUTH_COMMANDS[name](ctx, flags), json: Boolean(flags.json) };
}

/** Runs one invocation and returns its exit code; nothing here calls process.exit. */
export async function runCli(ctx: Context, argv: readonly string[]): Promise<number> {
  try {
    await prepareColors(ctx);
    const { result, json } = await dispatch(ctx, argv);
    render(ctx, result, json);
    return exitCodeOf(result);
  } catch (error) {
    return reportFailure(ctx, error);
  }
}

/** The one place an error reaches the user: `Error:` and a hint, never a stack trace. */
function reportFailure(ctx: Context, error: unknown): number {
  const cliError =
    error instanceof CliError ? error : new CliError("server", `unexpected error: ${describe(error)}`, undefined, { cause: error });
  printError(ctx.stderr, cliError);
  if (ctx.env.PIPEOPS_DEBUG === "1") printDebug(ctx, error);
  return exitCodeFor(cliError);
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
