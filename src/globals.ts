/** The official CLI's flags that every command takes, anywhere on the line (PipeOpsHQ/pipeops-cli cmd/root.go). */
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
 * is routed as usual. A --config without a file is a usage error.
 */
export function globalFlags(argv: readonly string[]): { argv: string[]; flags: GlobalFlags } {
  const rest: string[] = [];
  const flags: GlobalFlags = { quiet: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quiet") flags.quiet = true;
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
  if (flags.verbose && ctx.env.PIPEOPS_DEBUG !== "1") overrides.trace = { value: (line: string) => ctx.stderr.write(`trace: ${line}\n`) };
  if (flags.config) {
    const path = configPath({ PIPEOPS_CONFIG_PATH: flags.config }, ctx.homedir);
    let store: ReturnType<Context["store"]> | undefined;
    overrides.store = { value: () => (store ??= ctx.storeAt(path, "--config")) };
  }
  return Object.create(ctx, overrides) as Context;
}

/** argv without the global flags, and the context they make. */
export function applyGlobalFlags(ctx: Context, args: readonly string[]): { argv: string[]; ctx: Context } {
  const { argv, flags } = globalFlags(args);
  return { argv, ctx: withGlobals(ctx, flags) };
}
