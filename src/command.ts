/**
 * What a command module exports, and the pieces every command shares: its help text from its
 * flags, and its argv parsed (with cac) into flags after a check that names the flag as typed,
 * suggests the nearest one, and never echoes a stray argument (it may be a pasted token).
 */
import type { Context } from "./context.ts";
import type { FlagSpec, FlagsOf, FlagValues } from "./flags.ts";
import type { OutputStream } from "./io/streams.ts";

export type { FlagSpec, FlagValues };

export interface Streams {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
}

/** A leaf command, e.g. `auth status`: everything about it lives in its own module. */
export interface Command<Options, Result, Flags extends readonly FlagSpec[] = readonly FlagSpec[]> {
  /** "auth status" */
  readonly name: string;
  readonly summary: string;
  /** Its one flag declaration: help, completions and parsing all read it. */
  readonly flags: Flags;
  /** Pairs of flags that contradict each other. */
  readonly exclusive?: readonly (readonly [string, string])[];
  readonly examples: readonly string[];
  /** The usage line's arguments, when not just flags: "<shell>". */
  readonly usage?: string;
  /** The arguments it takes besides flags, by name ("<path>"); none when absent. */
  readonly arguments?: readonly string[];
  /** Said instead of "takes no arguments" alone, for a command users try to give one. */
  readonly argumentsHint?: string;
  /** argv after the command's name, into the options run() takes; a bad flag is a usage error. */
  parse(argv: readonly string[]): Promise<Options>;
  run(ctx: Context, options: Options): Promise<Result>;
  /** Prints the result: human text, or one JSON document on stdout when the options ask for it. */
  render(io: Streams, result: Result, options: Options): void | Promise<void>;
  /** 0 unless the result says otherwise (`auth status` when not authenticated). */
  exitCode?(result: Result): number;
  /** Whether a failure is also reported as a JSON document on stdout (--json). */
  reportsJson?(options: Options): boolean;
}

/** Any command, as the command table holds it. */
// biome-ignore lint/suspicious/noExplicitAny: the table holds commands of every options and result type
export type AnyCommand = Command<any, any, any>;

export const JSON_FLAG = { name: "--json", description: "Print the result as one JSON document" } as const satisfies FlagSpec;

/**
 * argv parsed against the command's flags, and its arguments. src/flags.ts (and cac) loads only
 * when there is a flag to parse: a line of no more arguments than the command takes, none of them
 * starting with "-", is those arguments as given (npm run bench, with a session: `pipeops api PATH`).
 */
export async function parseCommandLine<Flags extends readonly FlagSpec[]>(
  command: FlagsOf<Flags>,
  argv: readonly string[],
): Promise<{ values: FlagValues<Flags>; args: string[]; given: [string, string][] }> {
  if (argv.length <= (command.arguments?.length ?? 0) && !argv.some((arg) => arg.startsWith("-"))) return { values: {}, args: [...argv], given: [] };
  return (await import("./flags.ts")).parseCommandLine(command, argv);
}

/** argv parsed against the command's flags, for a command that takes no arguments. */
export async function parseFlags<Flags extends readonly FlagSpec[]>(command: FlagsOf<Flags>, argv: readonly string[]): Promise<FlagValues<Flags>> {
  return (await parseCommandLine(command, argv)).values;
}
