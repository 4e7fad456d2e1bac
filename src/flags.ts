/**
 * Flag parsing: one typed declaration per command, parsed once. One walk over argv names the flag
 * as typed, suggests the nearest one, never echoes a stray argument (it may be a pasted token), and
 * keeps each value exactly as typed; cac then decides the boolean flags and their `--no-` forms.
 */
import { cac } from "cac";
import { usageError } from "./errors.ts";
import { closest } from "./suggest.ts";

export interface FlagSpec {
  /** As typed: "--json", "--no-browser". */
  readonly name: string;
  /** The value's placeholder, for a flag that takes one: "<seconds>". */
  readonly value?: string;
  /** A one-letter form, as the official CLI has for some: "-f". */
  readonly short?: string;
  /** A flag that takes a value and may be given many times (`-H`, `-f`): every value is kept, in order. */
  readonly repeatable?: true;
  readonly description: string;
}

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

/** The key a flag's value is under, as cac names it: camelCase, and `--no-x` under x (as false). */
export type FlagKey<Name extends string> = Name extends `--no-${infer Rest}` ? Camel<Rest> : Name extends `--${infer Rest}` ? Camel<Rest> : never;

/** A command's flags as given: the last value of a flag that takes one, true or false for the others; absent when not given. */
export type FlagValues<Flags extends readonly FlagSpec[]> = {
  readonly [Spec in Flags[number] as FlagKey<Spec["name"]>]?: Spec extends { readonly repeatable: true }
    ? readonly string[]
    : Spec extends { readonly value: string }
      ? string
      : boolean;
};

/** What the parser needs of a command. */
export interface FlagsOf<Flags extends readonly FlagSpec[]> {
  readonly name: string;
  readonly flags: Flags;
  readonly argumentsHint?: string;
  /** The arguments it takes besides flags, by name ("<path>"); none when absent. */
  readonly arguments?: readonly string[];
  /** Pairs of flags that contradict each other: "--browser and --no-browser cannot be used together". */
  readonly exclusive?: readonly (readonly [string, string])[];
}

export function flagKey(name: string): string {
  return name.replace(/^--(no-)?/, "").replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Parses argv against the command's flags. Checked first, so errors name what the user typed:
 * `--no-brower` (not cac's `--brower`), `--timeout -5` (a value, not an unknown flag), and a
 * repeated flag's last value wins, as in gh. Arguments are never echoed: they may be a token.
 * Returns the flags and, for a command that takes them, its arguments (after `--`, anything is an
 * argument). Loaded by src/command.ts only when there is a flag to parse.
 */
export function parseCommandLine<Flags extends readonly FlagSpec[]>(
  command: FlagsOf<Flags>,
  argv: readonly string[],
): { values: FlagValues<Flags>; args: string[]; given: [string, string][] } {
  const known = new Map<string, FlagSpec>(
    command.flags.flatMap((flag) => (flag.short ? [[flag.name, flag] as const, [flag.short, flag] as const] : [[flag.name, flag] as const])),
  );
  const usage = `Run 'pipeops ${command.name} --help' for usage`;
  const normalized: string[] = [];
  const seen = new Set<string>();
  // cac (through mri) turns values that look like numbers into numbers: "00123" would become 123,
  // "1e5" 100000. A value is kept as the walk read it, the last one winning.
  const values: Record<string, boolean | string | string[]> = {};
  const args: string[] = [];
  // Every value in the order given, under the flag's long name: for flags whose order matters together.
  const given: [string, string][] = [];
  const takes = command.arguments ?? [];
  const argument = (arg: string) => {
    if (args.length < takes.length) return void args.push(arg);
    // Never the argument itself: it may be a pasted token.
    const detail = command.argumentsHint ? `; ${command.argumentsHint}` : "";
    const what = takes.length === 0 ? "no arguments" : takes.length === 1 ? `one argument, ${takes[0]}` : `${takes.length} arguments`;
    throw usageError(`${command.name} takes ${what}${detail}`, usage);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" && takes.length > 0) {
      for (const rest of argv.slice(i + 1)) argument(rest);
      break;
    }
    if (arg === "--" || !arg.startsWith("-") || arg === "-") {
      argument(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    let name = equals < 0 ? arg : arg.slice(0, equals);
    let flag = known.get(name);
    let attached = equals < 0 ? undefined : arg.slice(equals + 1);
    // `-XPOST`: a one-letter flag with its value attached, as pflag and getopt take it.
    const short = !flag && /^-[A-Za-z]/.test(arg) ? known.get(arg.slice(0, 2)) : undefined;
    if (short?.value) [name, flag, attached] = [arg.slice(0, 2), short, arg.slice(2)];
    if (!flag) throw usageError(unknownOption(name, [...known.keys()]), usage);
    seen.add(flag.name);
    if (flag.value) {
      const value = attached ?? argv[++i];
      if (value === undefined) throw usageError(`flag ${name} needs a value: ${name} ${flag.value}`, usage);
      given.push([flag.name, value]);
      const key = flagKey(flag.name);
      const previous = values[key];
      values[key] = flag.repeatable ? [...(Array.isArray(previous) ? previous : []), value] : value;
    } else {
      if (attached !== undefined) throw usageError(`flag ${name} takes no value`, usage);
      normalized.push(flag.name);
    }
  }
  for (const [a, b] of command.exclusive ?? []) {
    if (seen.has(a) && seen.has(b)) throw usageError(`${a} and ${b} cannot be used together`, usage);
  }
  const cli = cac("pipeops");
  // `--no-x` is cac's negation of x: declaring it would give x a default of true, as if --x were typed.
  const booleans = command.flags.filter((flag) => !flag.value);
  for (const flag of booleans) if (!flag.name.startsWith("--no-")) cli.option(flag.name, flag.description);
  const { options } = cli.parse(["pipeops", "pipeops", ...normalized], { run: false });
  for (const flag of booleans) {
    const key = flagKey(flag.name);
    const given: unknown = options[key];
    const last: unknown = Array.isArray(given) ? given.at(-1) : given;
    if (last !== undefined) values[key] = last === true;
  }
  return { values: values as FlagValues<Flags>, args, given };
}

/** "unknown option '--jsn'; did you mean --json?" */
function unknownOption(typed: string, known: readonly string[]): string {
  // A name of letters, digits and dashes is a flag someone typed; anything else is not repeated.
  const shown = /^--?[A-Za-z0-9][A-Za-z0-9-]{0,40}$/.test(typed) ? ` '${typed}'` : "";
  const nearest = closest(typed, known);
  return `unknown option${shown}${nearest ? `; did you mean ${nearest}?` : ""}`;
}
