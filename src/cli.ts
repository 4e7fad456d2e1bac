/** The command table, help and version, and the one place a failure reaches the user. */
import { CliError, EXIT_OK, exitCodeFor, sanitize } from "./cli-error.ts";
import type { AnyCommand, FlagSpec } from "./command.ts";
import { AUTH_ALIASES, AUTH_COMMANDS, type AuthName, authCommands, SHORTCUTS } from "./commands/table.ts";
import type { Context } from "./context.ts";
import { printError, printJson } from "./output.ts";
import { versionLine } from "./version.ts";

/** Top-level commands besides `auth`: `api`, the completion script, and the hidden callback it uses. */
const TOP_COMMANDS = {
  api: async () => ({ command: (await import("./commands/api.ts")).command as AnyCommand }),
  completion: async () => ({ command: (await import("./commands/completion.ts")).command as AnyCommand }),
  complete: async () => ({ command: (await import("./commands/completion.ts")).complete as AnyCommand }),
  update: async () => ({ command: (await import("./commands/update.ts")).command as AnyCommand }),
};

type TopName = keyof typeof TOP_COMMANDS;

/** What argv asks for, decided without loading anything: a plain function, so it costs little at start. */
export type Route =
  | { kind: "version" }
  | { kind: "help"; topic: "root" | "auth" | AuthName | TopName }
  | { kind: "command"; name: AuthName; argv: readonly string[] }
  | { kind: "top"; name: TopName; argv: readonly string[] }
  | { kind: "unknown"; typed: string; under?: "auth" }
  | { kind: "extra"; after: string };

const isHelpFlag = (arg: string | undefined) => arg === "--help" || arg === "-h";
/** --config, --quiet, --verbose: the official CLI's flags for every command (src/globals.ts). */
const isGlobalFlag = (arg: string) => arg === "--quiet" || arg === "--verbose" || arg === "--config" || arg.startsWith("--config=");
/** An auth command's name, or one of its aliases (whoami, userinfo), as the command it names. */
const authCommandNamed = (name: string | undefined): AuthName | undefined =>
  name === undefined ? undefined : Object.hasOwn(AUTH_COMMANDS, name) ? (name as AuthName) : AUTH_ALIASES[name];

export function route(argv: readonly string[]): Route {
  // `pipeops help`, `pipeops help auth`, `pipeops help auth login`: the help they name.
  if (argv[0] === "help") return argv.length === 1 ? { kind: "help", topic: "root" } : route([...argv.slice(1), "--help"]);
  const first = argv[0];
  const second = argv[1];
  if (first === "--version" || first === "-v" || first === "version") return argv.length === 1 ? { kind: "version" } : { kind: "extra", after: first };
  if (first === undefined || isHelpFlag(first)) return { kind: "help", topic: "root" };
  if (Object.hasOwn(TOP_COMMANDS, first)) {
    const name = first as TopName;
    const rest = argv.slice(1);
    // `complete` passes what the shell has typed so far, --help included, to the completer.
    return name !== "complete" && (rest.includes("--help") || rest.includes("-h")) ? { kind: "help", topic: name } : { kind: "top", name, argv: rest };
  }
  // The official CLI's names at the top level: `pipeops login` is `pipeops auth login`.
  if (Object.hasOwn(SHORTCUTS, first)) return route(["auth", first, ...argv.slice(1)]);
  if (first !== "auth") return { kind: "unknown", typed: first };
  if (second === undefined || isHelpFlag(second) || (second === "help" && argv.length === 2)) return { kind: "help", topic: "auth" };
  const typed = second === "help" ? argv[2] : second;
  const name = authCommandNamed(typed);
  if (!name) return { kind: "unknown", typed: typed ?? "", under: "auth" };
  const rest = argv.slice(2);
  if (second === "help" || rest.includes("--help") || rest.includes("-h")) return { kind: "help", topic: name };
  return { kind: "command", name, argv: rest };
}

/** The flags of the command argv names (none for help, the version, or a word that names nothing). */
async function flagsOfRoute(argv: readonly string[]): Promise<readonly FlagSpec[]> {
  const to = route(argv);
  if (to.kind === "top") return (await TOP_COMMANDS[to.name]()).command.flags;
  if (to.kind === "command") return (await AUTH_COMMANDS[to.name]()).command.flags;
  return [];
}

/** Runs one invocation and returns its exit code; nothing here calls process.exit. */
export async function runCli(system: Context, args: readonly string[]): Promise<number> {
  let json = false;
  let ctx = system;
  try {
    // The global flags' code loads only when one is on the line.
    let argv = args;
    if (args.some(isGlobalFlag)) ({ argv, ctx } = await (await import("./globals.ts")).applyGlobalFlags(system, args, flagsOfRoute));
    const to = route(argv);
    if (to.kind === "version") {
      ctx.stdout.write(versionLine());
      return EXIT_OK;
    }
    await ctx.loadColors();
    if (to.kind !== "command" && to.kind !== "top") return await explain(ctx, to);
    // Commands that hold a token refuse to run with a debugger attached; `api` is one of them.
    const debuggerVariable = to.kind === "command" || to.name === "api" ? ctx.debuggerVariable() : undefined;
    if (debuggerVariable) throw (await import("./errors.ts")).debuggerOpen(debuggerVariable);
    const command: AnyCommand = (await (to.kind === "top" ? TOP_COMMANDS[to.name] : AUTH_COMMANDS[to.name])()).command;
    const options = await command.parse(to.argv);
    json = command.reportsJson?.(options) ?? false;
    const result = await command.run(ctx, options);
    await command.render(ctx, result, options);
    // At a terminal only (the notice module checks the rest), and not after the commands that are about updating or completing.
    // Its module loads only when the record's time says something falls due (src/update/due.ts): one stat on most days.
    if (ctx.stderr.isTTY && !(to.kind === "top" && to.name !== "api") && (await import("./update/due.ts")).noticeMaybeDue(ctx, ctx.now()))
      await (await import("./update/notice.ts")).afterCommand(ctx, { json });
    return command.exitCode?.(result) ?? EXIT_OK;
  } catch (error) {
    await ctx.loadColors();
    return reportFailure(ctx, error, json);
  }
}

/** Help, or the usage error for a word that names nothing (with the nearest name to it). */
async function explain(ctx: Context, to: Exclude<Route, { kind: "version" | "command" | "top" }>): Promise<number> {
  const usage = await import("./usage.ts");
  const names = Object.keys(AUTH_COMMANDS);
  if (to.kind === "extra") throw usage.versionTakesNoArguments(to.after);
  if (to.kind === "unknown") {
    throw to.under
      ? usage.unknownAuthCommand(to.typed, [...names, ...Object.keys(AUTH_ALIASES)])
      : usage.unknownTopLevel(to.typed, names, ["auth", ...Object.keys(TOP_COMMANDS).filter((name) => name !== "complete"), ...Object.keys(SHORTCUTS)]);
  }
  if (to.topic === "root") ctx.stdout.write(usage.ROOT_HELP);
  else if (to.topic === "auth") {
    ctx.stdout.write(usage.groupHelp((await authCommands()).map(([name, command]) => [name, command.summary] as const)));
  } else {
    const load = Object.hasOwn(TOP_COMMANDS, to.topic) ? TOP_COMMANDS[to.topic as TopName] : AUTH_COMMANDS[to.topic as AuthName];
    ctx.stdout.write(usage.commandHelp((await load()).command));
  }
  return EXIT_OK;
}

/** The one place an error reaches the user: `Error:` and a hint, never a stack trace; with --json also a document. */
function reportFailure(ctx: Context, error: unknown, json: boolean): number {
  const cliError = error instanceof CliError ? error : new CliError("server", `unexpected error: ${describe(error)}`, undefined, { cause: error });
  if (json) printJson(ctx.stdout, { error: cliError.message });
  printError(ctx.stderr, cliError);
  if (ctx.env.PIPEOPS_DEBUG === "1") printDebug(ctx, error);
  return exitCodeFor(cliError);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? error.name) : String(error);
}

/** PIPEOPS_DEBUG=1: the cause chain, one line each (never request bodies or headers, so never tokens). */
function printDebug(ctx: Context, error: unknown): void {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    // Plain-object causes (a parsed response body) may hold tokens: name their kind only.
    const line =
      cause instanceof Error
        ? `${cause.name}: ${cause.message}`
        : typeof cause === "object"
          ? `(${cause.constructor?.name ?? "object"} details omitted)`
          : String(cause);
    ctx.stderr.write(`debug: ${sanitize(line.split("\n")[0] ?? "", 500)}\n`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
}
