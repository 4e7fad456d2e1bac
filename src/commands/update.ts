/**
 * `pipeops update` and `pipeops update check`, as the official CLI names them (PipeOpsHQ/pipeops-cli
 * cmd/update.go): what is new, from the release install.sh downloads, believed only as far as its
 * minisign signature vouches; installed over this binary after asking (or with --yes), never a
 * downgrade. `--json` gives the official CLI's fields.
 */
import { type Command, type FlagSpec, JSON_FLAG, parseFlags, type Streams } from "../command.ts";
import type { Context } from "../context.ts";
import { CliError, EXIT_FAILURE, EXIT_OK, usageError } from "../errors.ts";
import { printError, printJson, successLine } from "../output.ts";
import { archiveFor, checkArchive, download, releaseTarget, unpack } from "../update/archive.ts";
import { assertReplaceable, installedBinary, managedByPackage, packageManagerCommand, replaceBinary } from "../update/install.ts";
import { latestRelease } from "../update/release.ts";
import { RELEASE_PUBLIC_KEY } from "../update/stamp.ts";
import { compareVersions } from "../update/versions.ts";
import { COMMIT, VERSION } from "../version.ts";

export interface UpdateOptions {
  /** `update check`: only say. */
  check: boolean;
  yes: boolean;
  json: boolean;
  /** `update check --record`: what the background check runs (src/update/notice.ts): record, print nothing. */
  record: boolean;
}

export type UpdateOutcome = "up_to_date" | "newer_here" | "available" | "unconfirmed" | "declined" | "installed" | "recorded";

export interface UpdateResult {
  outcome: UpdateOutcome;
  current: string;
  latest: string;
  releaseDate: string | null;
  notes: string;
  downloadUrl: string;
  /** Where the binary was (or would be) installed. */
  path?: string;
}

const UPDATE_USAGE = "Run 'pipeops update --help' for usage";

async function parse(argv: readonly string[]): Promise<UpdateOptions> {
  const record = argv.includes("--record");
  const rest = argv.filter((arg) => arg !== "--record");
  const check = rest[0] === "check";
  const flags = await parseFlags(command, check ? rest.slice(1) : rest);
  if (check && flags.yes) throw usageError("update check only says what is new: --yes belongs to 'pipeops update'", UPDATE_USAGE);
  if (record && !check) throw usageError("--record goes with 'pipeops update check'", UPDATE_USAGE);
  return { check, yes: flags.yes ?? false, json: flags.json ?? false, record };
}

/** A binary run from source has no release key and no file of its own to replace. */
const fromSource = () =>
  new CliError(
    "usage",
    "pipeops update works on an installed pipeops binary; this one runs from source",
    "Build one with 'npm run build', or install a release",
  );

async function run(ctx: Context, options: UpdateOptions): Promise<UpdateResult> {
  if (!RELEASE_PUBLIC_KEY || COMMIT === "dev") throw fromSource();
  const release = await latestRelease(ctx, RELEASE_PUBLIC_KEY);
  if (options.record) {
    await (await import("../update/notice.ts")).recordLatest(ctx, release.version);
    return { outcome: "recorded", current: VERSION, latest: release.version, releaseDate: release.releasedAt, notes: release.notes, downloadUrl: "" };
  }
  const archive = await archiveFor(ctx, await releaseTarget(ctx, ctx.arch));
  const result = {
    current: VERSION,
    latest: release.version,
    releaseDate: release.releasedAt,
    notes: release.notes,
    downloadUrl: `${release.base}/${archive.name}`,
  };
  const order = compareVersions(release.version, VERSION);
  // Never a downgrade: an older release, even signed (an old one served again), is not installed.
  if (order <= 0) return { ...result, outcome: order === 0 ? "up_to_date" : "newer_here" };
  if (options.check) return { ...result, outcome: "available" };

  // Before anything is downloaded: a binary someone else updates, or a folder we cannot write.
  const path = await installedBinary(ctx);
  const manager = await packageManagerCommand(ctx, path);
  if (manager) throw managedByPackage(path, manager);
  await assertReplaceable(path);
  if (!options.yes) {
    if (!ctx.stdin.isTTY || !ctx.stderr.isTTY) return { ...result, outcome: "unconfirmed", path };
    ctx.stderr.write(`${whatIsNew({ ...result, outcome: "available" })}Install pipeops ${release.version} in place of ${VERSION} (${path})? [y/N] `);
    const answer = await ctx.stdin.readLine();
    if (answer === null || !/^\s*(y|yes)\s*$/i.test(answer)) return { ...result, outcome: "declined", path };
  }
  const bytes = await download(ctx, release, archive);
  await checkArchive(release, archive, bytes);
  await replaceBinary(ctx, path, await unpack(ctx, archive, bytes), release.version);
  return { ...result, outcome: "installed", path };
}

function render({ stdout, stderr }: Streams, result: UpdateResult, options: UpdateOptions): void {
  if (result.outcome === "recorded") return;
  if (options.json) {
    const available = result.outcome !== "up_to_date" && result.outcome !== "newer_here";
    printJson(stdout, {
      current_version: result.current,
      latest_version: result.latest,
      up_to_date: !available || result.outcome === "installed",
      update_available: available && result.outcome !== "installed",
      release_name: `v${result.latest}`,
      release_date: result.releaseDate,
      release_notes: result.notes,
      download_url: result.downloadUrl,
      installed: result.outcome === "installed",
    });
    if (result.outcome === "unconfirmed") printError(stderr, unconfirmed(result));
    return;
  }
  switch (result.outcome) {
    case "up_to_date":
      stdout.write(successLine(stdout, `pipeops ${result.current} is the latest version`));
      return;
    case "newer_here":
      stdout.write(successLine(stdout, `pipeops ${result.current} is newer than the latest release (${result.latest}): nothing to install`));
      return;
    case "installed":
      stdout.write(successLine(stdout, `Updated pipeops ${result.current} → ${result.latest} (${result.path})`));
      return;
    case "declined":
      stdout.write("Not updated; run 'pipeops update' when you want it\n");
      return;
    default: {
      stdout.write(whatIsNew(result));
      if (result.outcome === "unconfirmed") printError(stderr, unconfirmed(result));
      else if (!stdout.quiet) stdout.write("Run 'pipeops update' to install it\n");
    }
  }
}

/** The new version, its date and its notes (indented): said before asking, and by `update check`. */
function whatIsNew(result: UpdateResult): string {
  const date = result.releaseDate ? ` (released ${result.releaseDate})` : "";
  const notes = result.notes ? `${result.notes.replace(/^/gm, "  ")}\n` : "";
  return `A new version of pipeops is available: ${result.current} → ${result.latest}${date}\n${notes}`;
}

/** No terminal to ask at, and no --yes: said, not done. */
const unconfirmed = (result: UpdateResult) =>
  new CliError(
    "usage",
    `pipeops ${result.latest} was not installed: there is no terminal to ask at`,
    `Run 'pipeops update --yes' to install it without asking`,
  );

const FLAGS = [{ name: "--yes", short: "-y", description: "Install without asking" }, JSON_FLAG] as const satisfies readonly FlagSpec[];

export const command: Command<UpdateOptions, UpdateResult, typeof FLAGS> = {
  name: "update",
  summary: "Check for and install a newer pipeops (signed releases only)",
  usage: "[check]",
  argumentsHint: "the one word it takes is check: pipeops update check",
  flags: FLAGS,
  examples: ["pipeops update", "pipeops update check", "pipeops update --yes", "pipeops update check --json"],
  parse,
  run,
  render,
  exitCode: (result) => (result.outcome === "unconfirmed" ? EXIT_FAILURE : EXIT_OK),
  reportsJson: (options) => options.json,
};
