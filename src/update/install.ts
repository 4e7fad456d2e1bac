/**
 * Putting a verified binary in place of the running one: in its own folder, started once to see it
 * runs and reports the vouched version, then renamed over the old one (the same path and mode; a
 * process running the old binary keeps its copy). Nothing is left behind on any failure.
 */
import { basename, dirname, join } from "node:path";
import { describeWriteProblem } from "../config/writable.ts";
import type { Context } from "../context.ts";
import { CliError } from "../errors.ts";
import { fileStatus, findOnPath, realPath, removeFile, renameIfExists, writeNewFile, writeProblem } from "../runtime/fs.ts";

const INSTALL_SCRIPT = "curl -fsSL https://raw.githubusercontent.com/PipeOpsHQ/pipeops-cli/main/scripts/install.sh";

/** The binary this process runs, through symbolic links (a link in PATH to it is left as it is). */
export async function installedBinary(ctx: Pick<Context, "executablePath">): Promise<string> {
  return realPath(ctx.executablePath());
}

/**
 * The command of the package manager that installed the binary, which then does its updates: a
 * Homebrew Cellar, a global npm or bun install, a snap, or a file dpkg owns.
 */
export async function packageManagerCommand(ctx: Pick<Context, "env" | "capture">, path: string): Promise<string | undefined> {
  if (/\/(Cellar|homebrew|linuxbrew)\//.test(path)) return "brew upgrade pipeops";
  if (/[/\\]node_modules[/\\]/.test(path)) return "npm install -g pipeops@latest (or: bun add -g pipeops@latest)";
  if (path.startsWith("/snap/")) return "sudo snap refresh pipeops";
  if (await findOnPath("dpkg-query", ctx.env.PATH)) {
    const owner = await ctx.capture(["dpkg-query", "-S", path], { timeoutMs: 10_000, maxBytes: 4096 });
    const name = /^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9]+)?: /.exec(new TextDecoder().decode(owner.stdout))?.[1];
    if (owner.code === 0 && name) return `sudo apt-get install --only-upgrade ${name}`;
  }
  return undefined;
}

export const managedByPackage = (path: string, command: string) =>
  new CliError("usage", `${path} was installed by a package manager, which updates it`, `Run '${command}'; pipeops update leaves it alone`);

/** The folder may not be written: say which, and the two ways out. Nothing was changed. */
export const folderNotWritable = (folder: string, why: string) =>
  new CliError(
    "config_write",
    `cannot update pipeops in ${folder}: ${why}`,
    `Nothing was changed. Run 'sudo pipeops update', or install it where you can write: ${INSTALL_SCRIPT} | PIPEOPS_INSTALL_DIR=~/.local/bin sh`,
  );

/** Before anything is downloaded: a folder the new binary cannot be written into is said now, and nothing is changed. */
export async function assertReplaceable(path: string): Promise<void> {
  const problem = await writeProblem(path);
  if (problem) throw folderNotWritable(dirname(path), describeWriteProblem(path, problem).reason);
}

/** What `--version` of a pipeops binary says its version is. */
function versionOf(output: Uint8Array): string | undefined {
  return /^pipeops (\S+) \(commit [^)]*\)\n?$/.exec(new TextDecoder().decode(output))?.[1];
}

/**
 * Installs `binary` in place of `path` (assertReplaceable said it can be), checked first to start and
 * to report `version`; removes its temporary file on every failure and on SIGINT or SIGTERM. On Windows, where a running .exe cannot be replaced, it is moved aside first.
 */
export async function replaceBinary(ctx: Context, path: string, binary: Uint8Array, version: string): Promise<void> {
  const folder = dirname(path);
  const mode = (await fileStatus(path))?.mode ?? 0o755;
  const temp = join(folder, `.${basename(path)}.update-${crypto.randomUUID().slice(0, 8)}`);
  const cleanUp = () => removeFile(temp).catch(() => {});
  const stops = (["SIGINT", "SIGTERM"] as const).map((signal) =>
    ctx.onSignal(signal, () => {
      void cleanUp().finally(() => ctx.raise("SIGTERM"));
    }),
  );
  try {
    await writeNewFile(temp, binary, mode);
    const started = await ctx.capture([temp, "--version"], { timeoutMs: 30_000, maxBytes: 4096 });
    const reported = started.code === 0 ? versionOf(started.stdout) : undefined;
    if (reported !== version) {
      throw new CliError(
        "server",
        reported === undefined
          ? "the new binary does not start on this machine"
          : `the new binary says it is ${reported}, not the ${version} its signature vouches for`,
        "Nothing was changed; the installed pipeops is as it was",
      );
    }
    if (ctx.platform === "win32") {
      await removeFile(`${path}.old`).catch(() => {});
      await renameIfExists(path, `${path}.old`);
    }
    await renameIfExists(temp, path);
  } finally {
    for (const stop of stops) stop();
    await cleanUp();
  }
}
