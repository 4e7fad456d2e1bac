/** The official CLI's flags that every command takes, anywhere on the line (PipeOpsHQ/pipeops-cli cmd/root.go). */

import type { FlagSpec } from "./command.ts";
import { configPath } from "./config/path.ts";
import type { Context } from "./context.ts";
import { configFlagWithoutFile } from "./errors.ts";

/** The official CLI's flags that apply to every command, anywhere on the line. */
export interface GlobalFlags {
  /** --config FILE: the credential file, as PIPEOPS_CONFIG_PATH (the flag wins). */
  config?: string;
  quiet: boolean;
  verbose: boolean;
}

/**
 * Takes the global flags out of argv, before or after the command, `--config=FILE` too; the rest
 * is routed as usual. `--` ends them, as it ends every flag, and a word that is the value of one of
 * the command's own flags (`takesValue`: `-H --verbose`) is that flag's. A --config without a file
 * is a usage error.
 */
export function globalFlags(argv: readonly string[], takesValue: (arg: string) => boolean = () => false): { argv: string[]; flags: GlobalFlags } {
  const rest: string[] = [];
  const flags: GlobalFlags = { quiet: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (takesValue(arg) && i + 1 < argv.length) rest.push(arg, argv[++i]!);
    else if (arg === "--quiet") flags.quiet = true;
    else if (arg === "--verbose") flags.verbose = true;
    else if (arg === "--config" || arg.startsWith("--config=")) {
      const file = arg === "--config" ? argv[++i] : arg.slice("--config=".length);
      if (!file || file.startsWith("-")) throw configFlagWithoutFile();
      flags.config = file;
    } else rest.push(arg);
  }
  return { argv: rest, flags };
}

/** The context with the global flags applied; built on the original, so nothing it looks up lazily is looked up now. */
function withGlobals(ctx: Context, flags: GlobalFlags): Context {
  if (!flags.config && !flags.quiet && !flags.verbose) return ctx;
  const overrides: PropertyDescriptorMap = {};
  if (flags.quiet) {
    // On top of the streams, not a copy: their colours load later.
    overrides.stdout = { value: Object.create(ctx.stdout, { quiet: { value: true } }) };
    overrides.stderr = { value: Object.create(ctx.stderr, { quiet: { value: true } }) };
  }
  if (flags.verbose && ctx.env.PIPEOPS_DEBUG !== "1")
    overrides.trace = { value: (line: string | (() => string)) => ctx.stderr.write(`trace: ${typeof line === "function" ? line() : line}\n`) };
  if (flags.config) {
    const path = configPath({ PIPEOPS_CONFIG_PATH: flags.config }, ctx.homedir);
    let store: ReturnType<Context["store"]> | undefined;
    overrides.store = { value: () => (store ??= ctx.storeAt(path, "--config")) };
  }
  return Object.create(ctx, overrides) as Context;
}

/**
 * argv without the global flags, and the context they make. The command is found first (with any
 * global flag taken out), so that its own flags that take a value keep theirs.
 */
export async function applyGlobalFlags(
  ctx: Context,
  args: readonly string[],
  flagsOf: (argv: readonly string[]) => Promise<readonly FlagSpec[]>,
): Promise<{ argv: string[]; ctx: Context }> {
  const specs = await flagsOf(globalFlags(args).argv);
  const valued = new Set(specs.filter((spec) => spec.value !== undefined).flatMap((spec) => [spec.name, ...(spec.short ? [spec.short] : [])]));
  const { argv, flags } = globalFlags(args, (arg) => valued.has(arg));
  return { argv, ctx: withGlobals(ctx, flags) };
}
