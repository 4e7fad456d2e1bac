/**
 * Flag parsing with cac, after a check that names the flag as typed, suggests the nearest one,
 * and never echoes a stray argument (it may be a pasted token).
 */
import { cac } from "cac";
import { usageError } from "./errors.ts";
import { closest } from "./suggest.ts";

export interface FlagSpec {
  /** As typed: "--json", "--no-browser". */
  readonly name: string;
  /** The value's placeholder, for a flag that takes one: "<seconds>". */
  readonly value?: string;
  readonly description: string;
}

/** The flags as given: true for a boolean flag, the last value for one that takes a value. */
export type ParsedFlags = Readonly<Record<string, boolean | string | undefined>>;

/** What the parser needs of a command. */
export interface FlagsOf {
  readonly name: string;
  readonly flags: readonly FlagSpec[];
  readonly argumentsHint?: string;
}

/**
 * Parses argv against the command's flags. Checked first, so errors name what the user typed:
 * `--no-brower` (not cac's `--brower`), `--timeout -5` (a value, not an unknown flag), and a
 * repeated flag's last value wins, as in gh. Arguments are never echoed: they may be a token.
 */
export function parseArgv(command: FlagsOf, argv: readonly string[]): ParsedFlags {
  const known = new Map(command.flags.map((flag) => [flag.name, flag]));
  const usage = `Run 'pipeops ${command.name} --help' for usage`;
  const normalized: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" || !arg.startsWith("-") || arg === "-") {
      const detail = command.argumentsHint ? `; ${command.argumentsHint}` : "";
      throw usageError(`${command.name} takes no arguments${detail}`, usage);
    }
    const equals = arg.indexOf("=");
    const name = equals < 0 ? arg : arg.slice(0, equals);
    const flag = known.get(name);
    if (!flag) throw usageError(unknownOption(name, [...known.keys()]), usage);
    if (flag.value) {
      const value = equals < 0 ? argv[++i] : arg.slice(equals + 1);
      if (value === undefined) throw usageError(`flag ${name} needs a value: ${name} ${flag.value}`, usage);
      normalized.push(`${name}=${value}`);
    } else {
      if (equals >= 0) throw usageError(`flag ${name} takes no value`, usage);
      normalized.push(name);
    }
  }
  const cli = cac("pipeops");
  for (const flag of command.flags) cli.option(flag.value ? `${flag.name} ${flag.value}` : flag.name, flag.description);
  const { options } = cli.parse(["pipeops", "pipeops", ...normalized], { run: false });
  const flags: Record<string, boolean | string | undefined> = {};
  for (const [key, value] of Object.entries(options)) {
    if (key === "--") continue;
    const last = Array.isArray(value) ? value.at(-1) : value;
    flags[key] = typeof last === "boolean" ? last : last === undefined ? undefined : String(last);
  }
  return flags;
}

/** "unknown option '--jsn'; did you mean --json?" */
function unknownOption(typed: string, known: readonly string[]): string {
  // A name of letters, digits and dashes is a flag someone typed; anything else is not repeated.
  const shown = /^--?[A-Za-z0-9][A-Za-z0-9-]{0,40}$/.test(typed) ? ` '${typed}'` : "";
  const nearest = closest(typed, known);
  return `unknown option${shown}${nearest ? `; did you mean ${nearest}?` : ""}`;
}
