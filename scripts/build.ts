/**
 * Builds the standalone binary for this machine: `bun scripts/build.ts [--outfile dist/pipeops] [--target bun-linux-x64]`.
 * Autoload of .env and bunfig.toml is off so a user's working folder cannot change what the binary does.
 */
import { parseArgs } from "node:util";

export interface BuildOptions {
  entry?: string;
  outfile: string;
  target?: string;
  minify?: boolean;
  bytecode?: boolean;
}

export function gitCommit(): string {
  const result = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" });
  return result.success ? result.stdout.toString().trim() : "unknown";
}

export async function build(options: BuildOptions): Promise<void> {
  const args = [
    process.execPath,
    "build",
    options.entry ?? "src/main.ts",
    "--compile",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    "--outfile",
    options.outfile,
    "--define",
    `PIPEOPS_BUILD_COMMIT=${JSON.stringify(gitCommit())}`,
  ];
  if (options.target) args.push("--target", options.target);
  if (options.minify) args.push("--minify");
  if (options.bytecode) args.push("--bytecode");
  const child = Bun.spawn(args, { stdout: "inherit", stderr: "inherit" });
  if ((await child.exited) !== 0) throw new Error(`bun build failed for ${options.outfile}`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { outfile: { type: "string", default: "dist/pipeops" }, target: { type: "string" } },
  });
  await build({ outfile: values.outfile!, target: values.target });
}
