/**
 * Builds the standalone binary for this machine: `bun scripts/build.ts [--outfile dist/pipeops] [--target bun-linux-x64]`.
 * Autoload of .env and bunfig.toml is off so a user's working folder cannot change what the binary does.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };
import { parsePublicKey, publicKeyLine } from "../src/update/minisign.ts";

export interface BuildFlags {
  minify: boolean;
  bytecode: boolean;
  /** Lazily imported modules go into chunks of their own, read only when imported. */
  splitting: boolean;
  /** With bytecode: how many levels of nested functions are compiled ahead of time (Bun's default: all). */
  bytecodeDepth?: number;
  /**
   * JavaScriptCore's tier-up thresholds, multiplied (`--compile-jit-policy`; Bun's default: 1). A
   * run of a few milliseconds never pays back a compile: at 1, `auth status` starts a JIT thread.
   */
  jitPolicy?: number;
}

/** What `npm run build` and `npm run release` use; chosen by `npm run bench -- --variants`. */
export const RELEASE_FLAGS: BuildFlags = { minify: true, bytecode: true, splitting: true, jitPolicy: 8 };

export interface BuildOptions {
  entry?: string;
  outfile: string;
  target?: string;
  minify?: boolean;
  bytecode?: boolean;
  bytecodeDepth?: number;
  jitPolicy?: number;
  splitting?: boolean;
  /** Stamped into the binary; the checkout's HEAD when omitted. */
  commit?: string;
  /** Keep bun's progress line off the terminal (bench and release print their own). */
  quiet?: boolean;
  /** The version stamped in: package.json's, unless a test builds another release of the same code. */
  version?: string;
  /**
   * The minisign public key (its base64 line) whose signature `pipeops update` accepts, compiled in:
   * PIPEOPS_RELEASE_PUBLIC_KEY, else scripts/release-key.pub. Nothing at run time changes it.
   */
  publicKey?: string;
}

const KEY_FILE = join(import.meta.dir, "release-key.pub");

/** The release key a build trusts: PIPEOPS_RELEASE_PUBLIC_KEY (tests, forks), else the committed key file. */
export function releasePublicKey(): string {
  const line = process.env.PIPEOPS_RELEASE_PUBLIC_KEY?.trim() || publicKeyLine(readFileSync(KEY_FILE, "utf8"));
  parsePublicKey(line);
  return line;
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
    `PIPEOPS_BUILD_VERSION=${JSON.stringify(options.version ?? pkg.version)}`,
    "--define",
    `PIPEOPS_BUILD_COMMIT=${JSON.stringify(options.commit ?? gitCommit())}`,
    "--define",
    `PIPEOPS_RELEASE_PUBLIC_KEY=${JSON.stringify(options.publicKey ?? releasePublicKey())}`,
  ];
  // The release's target, so `pipeops update` takes the same one (musl included); a build for this machine detects it.
  if (options.target) args.push("--define", `PIPEOPS_BUILD_TARGET=${JSON.stringify(options.target.replace(/^bun-/, ""))}`);
  if (options.target) args.push("--target", options.target);
  if (options.minify) args.push("--minify");
  if (options.splitting) args.push("--splitting");
  // Bytecode defaults to CommonJS, which has no top-level await; main.ts awaits at the top.
  if (options.bytecode) args.push("--bytecode", "--format", "esm");
  if (options.bytecode && options.bytecodeDepth !== undefined) args.push(`--bytecode-depth=${options.bytecodeDepth}`);
  if (options.jitPolicy !== undefined) args.push(`--compile-jit-policy=${options.jitPolicy}`);
  const output = options.quiet ? "pipe" : "inherit";
  const child = Bun.spawn(args, { stdout: output, stderr: output });
  const [code, stderr] = await Promise.all([child.exited, options.quiet ? new Response(child.stderr).text() : ""]);
  if (code !== 0) throw new Error(`bun build failed for ${options.outfile}${stderr ? `:\n${stderr}` : ""}`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { outfile: { type: "string", default: "dist/pipeops" }, target: { type: "string" } },
  });
  await build({ outfile: values.outfile!, target: values.target, ...RELEASE_FLAGS });
}
