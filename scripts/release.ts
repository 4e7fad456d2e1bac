/**
 * Release binaries for every platform: `npm run release [-- --targets linux-x64,linux-arm64] [-- --out dist/release] [-- --notes NOTES.md]`.
 * With PIPEOPS_RELEASE_SIGNING_KEY_FILE naming an unencrypted minisign secret key, SHA256SUMS is
 * signed into SHA256SUMS.minisig (minisign's format; the trusted comment holds the version).
 *
 * Writes `pipeops-<target>` (`.exe` for Windows), archives holding the binary as `pipeops` /
 * `pipeops.exe` (`.tar.gz` and the smaller `.tar.xz`; `.zip` for Windows), and `SHA256SUMS` covering
 * the archives. xz is the system's (Debian's xz-utils); `-- --xz-level N` trades size for time
 * (default 9, about 38 MB against 51 MB for gzip; the tests' own release uses 0, the same format).
 * Bun downloads the runtime of each foreign target from the npm registry on first use.
 *
 * `-- --compare-baseline` instead compares the default and `-baseline` x64 runtimes of the pinned
 * Bun, as published on npm, byte for byte.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import pkg from "../package.json" with { type: "json" };
import { build, gitCommit, RELEASE_FLAGS, releasePublicKey } from "./build.ts";
import { parseSecretKey, publicKeyLineOf, signFile } from "./sign.ts";

export interface Target {
  /** linux-x64, darwin-arm64, ... */
  id: string;
  bunTarget: string;
  os: "linux" | "darwin" | "windows";
  arch: "x64" | "arm64";
  musl: boolean;
}

export const TARGETS: readonly Target[] = [
  { id: "linux-x64", bunTarget: "bun-linux-x64", os: "linux", arch: "x64", musl: false },
  { id: "linux-x64-musl", bunTarget: "bun-linux-x64-musl", os: "linux", arch: "x64", musl: true },
  { id: "linux-arm64", bunTarget: "bun-linux-arm64", os: "linux", arch: "arm64", musl: false },
  { id: "linux-arm64-musl", bunTarget: "bun-linux-arm64-musl", os: "linux", arch: "arm64", musl: true },
  { id: "darwin-x64", bunTarget: "bun-darwin-x64", os: "darwin", arch: "x64", musl: false },
  { id: "darwin-arm64", bunTarget: "bun-darwin-arm64", os: "darwin", arch: "arm64", musl: false },
  { id: "windows-x64", bunTarget: "bun-windows-x64", os: "windows", arch: "x64", musl: false },
];

export const binaryName = (t: Target) => `pipeops-${t.id}${t.os === "windows" ? ".exe" : ""}`;
export const archiveName = (t: Target) => `pipeops-${t.id}${t.os === "windows" ? ".zip" : ".tar.gz"}`;
/** The xz-compressed tar of a target, for install.sh where `xz` is on the machine; none for Windows. */
export const xzArchiveName = (t: Target) => (t.os === "windows" ? undefined : `pipeops-${t.id}.tar.xz`);
/** Every archive of a target, as SHA256SUMS lists them. */
export const archiveNames = (t: Target) => [archiveName(t), xzArchiveName(t)].filter((name): name is string => name !== undefined);
/** The name of the binary inside the archive: what the user runs. */
export const memberName = (t: Target) => (t.os === "windows" ? "pipeops.exe" : "pipeops");

const ROOT = join(import.meta.dir, "..");
export const RELEASE_DIR = join(ROOT, "dist", "release");
const INFO_FILE = "BUILD-INFO.json";

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Seconds since the epoch of the commit, so archives of the same commit are byte-identical. */
function commitTime(commit: string): number {
  const result = Bun.spawnSync(["git", "log", "-1", "--format=%ct", commit], { cwd: ROOT, stderr: "ignore" });
  const seconds = Number(result.stdout.toString().trim());
  return result.success && Number.isInteger(seconds) ? seconds : 315532800; // 1980-01-01, the earliest zip date
}

function run(argv: string[], cwd?: string): string {
  const result = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (!result.success) throw new Error(`${argv.join(" ")} failed: ${result.stderr.toString().trim()}`);
  return result.stdout.toString();
}

/** A ustar archive of one file, made by the system's tar (GNU or BSD), owned by root. */
function tarOf(stageDir: string, member: string): Uint8Array {
  const gnu = run(["tar", "--version"]).includes("GNU tar");
  const owner = gnu ? ["--owner=0", "--group=0", "--numeric-owner"] : ["--uid", "0", "--gid", "0"];
  const tar = Bun.spawnSync(["tar", "--format", "ustar", ...owner, "-cf", "-", "-C", stageDir, member], { stdout: "pipe", stderr: "pipe" });
  if (!tar.success) throw new Error(`tar failed for ${member}: ${tar.stderr.toString().trim()}`);
  return tar.stdout;
}

/**
 * The tar through the system's xz, single-threaded (the same bytes for the same xz and input), in
 * the background: it runs on one core while the next target builds on the other.
 */
async function writeXz(archive: string, tar: Uint8Array, level: number): Promise<void> {
  const xz = Bun.which("xz", { PATH: "/usr/local/bin:/usr/bin:/bin" });
  if (!xz) throw new Error("xz is missing: apt-get install xz-utils");
  const child = Bun.spawn([xz, `-${level}`, "-T1", "-c"], { stdin: tar, stdout: Bun.file(archive), stderr: "pipe" });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`xz failed for ${archive}: ${stderr.trim()}`);
}

/** MS-DOS date and time, as zip stores them (local time has no meaning here: UTC). */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(date.getUTCFullYear(), 1980);
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/**
 * A zip archive of one deflated file (PKWARE APPNOTE 6.3: local header, data, central directory,
 * end record). Bun has no zip writer and a one-file archive does not need one; `unzip`, Windows
 * Explorer and `Expand-Archive` read it.
 */
export function zipOneFile(member: string, data: Uint8Array, modified: Date, mode = 0o755): Uint8Array {
  const name = Buffer.from(member, "utf8");
  const compressed = deflateRawSync(data);
  const crc = crc32(data);
  const { time, date } = dosDateTime(modified);
  if (compressed.length >= 0xffffffff || data.length >= 0xffffffff) throw new Error(`${member} is too large for a zip without zip64`);

  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
  local.writeUInt16LE(0, 6); // flags
  local.writeUInt16LE(8, 8); // method: deflate
  local.writeUInt16LE(time, 10);
  local.writeUInt16LE(date, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(compressed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28); // extra length

  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0, so the mode below is read
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(time, 12);
  central.writeUInt16LE(date, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(compressed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  // extra, comment, disk number, internal attributes: 0
  central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38); // external attributes: regular file + mode
  central.writeUInt32LE(0, 42); // offset of the local header

  const centralOffset = local.length + name.length + compressed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8); // entries on this disk
  end.writeUInt16LE(1, 10); // entries in all
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);

  return Buffer.concat([local, name, compressed, central, name, end]);
}

/** What a release is built from; a release directory whose BUILD-INFO.json holds the same can be reused. */
export function fingerprint(targets: readonly Target[], commit: string, stamp: { version?: string; publicKey?: string } = {}): string {
  const hash = createHash("sha256");
  const version = stamp.version ?? pkg.version;
  const publicKey = stamp.publicKey ?? releasePublicKey();
  hash.update(JSON.stringify({ commit, bun: Bun.version, flags: RELEASE_FLAGS, targets: targets.map((t) => t.id), version, publicKey }));
  const files = ["package.json", "package-lock.json", "tsconfig.json", "scripts/build.ts", "scripts/release.ts"];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk("src");
  for (const file of files) {
    const full = join(ROOT, file);
    hash.update(`\0${file}\0`);
    if (existsSync(full)) hash.update(readFileSync(full));
  }
  return hash.digest("hex");
}

export interface ReleaseInfo {
  fingerprint: string;
  version: string;
  commit: string;
  bun: string;
  targets: string[];
  /** The commit's time (RFC 3339): the release date `pipeops update` shows. */
  released_at: string;
  /** What is new, from --notes FILE: shown by `pipeops update` (not signed: text to read, never a decision). */
  notes: string;
}

/** The signature of SHA256SUMS, made when PIPEOPS_RELEASE_SIGNING_KEY_FILE names a key. */
export const SIGNATURE_FILE = "SHA256SUMS.minisig";

export function readReleaseInfo(dir: string): ReleaseInfo | null {
  try {
    return JSON.parse(readFileSync(join(dir, INFO_FILE), "utf8")) as ReleaseInfo;
  } catch {
    return null;
  }
}

const size = (path: string) => `${(statSync(path).size / 1024 / 1024).toFixed(1).padStart(6)} MB`;

function log(quiet: boolean, line: string): void {
  if (!quiet) console.log(line);
}

/** Builds, packs and checksums `targets` into `outDir` (replaced as a whole when done). */
export interface ReleaseOptions {
  outDir?: string;
  targets?: readonly Target[];
  quiet?: boolean;
  commit?: string;
  xzLevel?: number;
  /** An unencrypted minisign secret key file (minisign -G -W): SHA256SUMS is signed with it. Default: PIPEOPS_RELEASE_SIGNING_KEY_FILE. */
  signingKeyFile?: string;
  /** A file of release notes for BUILD-INFO.json. */
  notesFile?: string;
  /** For tests of `pipeops update`: another version of the same code, and the key its binaries trust. */
  version?: string;
  publicKey?: string;
}

/** Where `--out` puts the release: an absolute path where it says, a relative one from the working folder; dist/release without it. */
export function releaseOutDir(out: string | undefined, cwd = process.cwd()): string {
  return out ? resolve(cwd, out) : RELEASE_DIR;
}

/** Builds, packs, checksums and (with a key) signs `targets` into `outDir` (replaced as a whole when done). */
export async function release(options: ReleaseOptions = {}): Promise<string> {
  const outDir = options.outDir ?? RELEASE_DIR;
  const targets = options.targets ?? TARGETS;
  const quiet = options.quiet ?? false;
  const version = options.version ?? pkg.version;
  const publicKey = options.publicKey ?? releasePublicKey();
  const signingKeyFile = options.signingKeyFile ?? (process.env.PIPEOPS_RELEASE_SIGNING_KEY_FILE?.trim() || undefined);
  // Read before anything is built: a key that cannot be used fails at once.
  const signingKey = signingKeyFile ? parseSecretKey(readFileSync(signingKeyFile, "utf8")) : undefined;
  if (signingKey && publicKeyLineOf(signingKey) !== publicKey) {
    throw new Error(
      `the signing key is not the one the binaries trust (${publicKey}): set PIPEOPS_RELEASE_PUBLIC_KEY to its public key, or sign with the matching key`,
    );
  }
  const notes = options.notesFile ? readFileSync(options.notesFile, "utf8").trim() : "";
  // One commit for every binary, even when HEAD moves during the build.
  const commit = options.commit ?? gitCommit();
  const print = fingerprint(targets, commit, { version, publicKey });
  // Build next to the destination, then swap it in, so a half-built release is never mistaken for one.
  const work = `${outDir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, ".stage"), { recursive: true });
  const modified = new Date(commitTime(commit) * 1000);
  const archives: string[] = [];
  const compressing: Promise<void>[] = [];
  try {
    for (const target of targets) {
      const started = performance.now();
      const binary = join(work, binaryName(target));
      await build({ outfile: binary, target: target.bunTarget, ...RELEASE_FLAGS, commit, quiet: true, version, publicKey });
      chmodSync(binary, 0o755);
      utimesSync(binary, modified, modified);

      const stage = join(work, ".stage", target.id);
      mkdirSync(stage);
      linkSync(binary, join(stage, memberName(target)));
      const archive = join(work, archiveName(target));
      if (target.os === "windows") writeFileSync(archive, zipOneFile(memberName(target), readFileSync(binary), modified));
      else {
        const tar = tarOf(stage, memberName(target));
        // gzip here rather than `tar -z`: no timestamp in the gzip header, the same bytes on every machine.
        writeFileSync(archive, gzipSync(tar));
        const xzName = xzArchiveName(target)!;
        const job = writeXz(join(work, xzName), tar, options.xzLevel ?? 9).then(() => log(quiet, `${xzName.padEnd(32)} ${size(join(work, xzName))}`));
        // Awaited with the others below; a failure meanwhile must not count as unhandled.
        job.catch(() => {});
        compressing.push(job);
      }
      archives.push(...archiveNames(target));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      log(quiet, `${archiveName(target).padEnd(32)} ${size(archive)}  (${seconds} s)`);
    }
    await Promise.all(compressing);
    rmSync(join(work, ".stage"), { recursive: true, force: true });
    const sums = archives.sort().map((name) => `${sha256(readFileSync(join(work, name)))}  ${name}`);
    const sumsText = `${sums.join("\n")}\n`;
    writeFileSync(join(work, "SHA256SUMS"), sumsText);
    if (signingKey) {
      // The version in the trusted comment is what `pipeops update` installs: the signature vouches for it.
      const comment = `timestamp:${Math.floor(modified.getTime() / 1000)}\tfile:SHA256SUMS\tversion:${version}`;
      writeFileSync(join(work, SIGNATURE_FILE), await signFile(new TextEncoder().encode(sumsText), signingKey, comment));
    }
    const info: ReleaseInfo = {
      fingerprint: print,
      version,
      commit,
      bun: Bun.version,
      targets: targets.map((t) => t.id),
      released_at: modified.toISOString().replace(/\.\d{3}Z$/, "Z"),
      notes,
    };
    writeFileSync(join(work, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    rmSync(outDir, { recursive: true, force: true });
    renameSync(work, outDir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  const signed = signingKey ? `, signed (${SIGNATURE_FILE})` : ", unsigned: pipeops update refuses it";
  log(quiet, `SHA256SUMS and ${targets.length} archives in ${relative(process.cwd(), outDir) || "."}${signed}`);
  return outDir;
}

/**
 * A release of the current sources for tests: dist/release when it is fresh, else a cached build in
 * dist/release-cache/<fingerprint> (so engineers running tests side by side never swap files under
 * each other), built on first use.
 */
export async function ensureRelease(targets: readonly Target[] = TARGETS): Promise<string> {
  const commit = gitCommit();
  const print = fingerprint(targets, commit);
  if (readReleaseInfo(RELEASE_DIR)?.fingerprint === print) return RELEASE_DIR;
  const cacheRoot = join(ROOT, "dist", "release-cache");
  const dir = join(cacheRoot, print.slice(0, 16));
  if (readReleaseInfo(dir)?.fingerprint === print) return dir;
  mkdirSync(cacheRoot, { recursive: true });
  // Older builds are of no use once the sources changed; each is most of a gigabyte.
  for (const entry of readdirSync(cacheRoot)) {
    const path = join(cacheRoot, entry);
    if (path !== dir && Date.now() - statSync(path).mtimeMs > 10 * 60_000) rmSync(path, { recursive: true, force: true });
  }
  try {
    // The fastest xz level: the same format and code path as a release, in seconds rather than minutes.
    return await release({ outDir: dir, targets, quiet: true, commit, xzLevel: 0 });
  } catch (error) {
    // Another test run finished the same build first.
    if (readReleaseInfo(dir)?.fingerprint === print) return dir;
    throw error;
  }
}

/** The runtime executable inside an npm package of Bun, fetched with `npm pack`. */
function npmRuntime(name: string, workDir: string): Uint8Array {
  const spec = `${name}@${Bun.version}`;
  const packed = run(["npm", "pack", spec, "--silent", "--pack-destination", workDir]).trim().split("\n").pop()!;
  const tgz = join(workDir, basename(packed));
  const unpack = join(workDir, basename(packed, ".tgz"));
  mkdirSync(unpack, { recursive: true });
  run(["tar", "-xzf", tgz, "-C", unpack]);
  const binDir = join(unpack, "package", "bin");
  const file = readdirSync(binDir).find((f) => f === "bun" || f === "bun.exe");
  if (!file) throw new Error(`${spec} has no bin/bun`);
  return readFileSync(join(binDir, file));
}

/** Default vs `-baseline` runtime of every x64 target of the pinned Bun: identical bytes or not. */
export function compareBaseline(): string[] {
  const workDir = join(tmpdir(), `pipeops-baseline-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const lines = [`Bun ${Bun.version}: default vs -baseline x64 runtimes on npm`];
  try {
    for (const target of TARGETS.filter((t) => t.arch === "x64")) {
      const pkgName = `@oven/bun-${target.os}-x64${target.musl ? "-musl" : ""}`;
      const plain = npmRuntime(pkgName, workDir);
      const baseline = npmRuntime(`${pkgName}-baseline`, workDir);
      const same = Buffer.compare(plain, baseline) === 0;
      lines.push(
        `${target.id.padEnd(16)} ${same ? "identical" : "DIFFERENT"}  sha256 ${sha256(plain).slice(0, 16)} / ${sha256(baseline).slice(0, 16)}  (${plain.length} / ${baseline.length} bytes)`,
      );
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return lines;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      targets: { type: "string" },
      out: { type: "string" },
      "compare-baseline": { type: "boolean", default: false },
      "xz-level": { type: "string", default: "9" },
      notes: { type: "string" },
    },
  });
  if (values["compare-baseline"]) {
    for (const line of compareBaseline()) console.log(line);
  } else {
    const wanted = values.targets?.split(",").map((id) => id.trim());
    const unknown = wanted?.filter((id) => !TARGETS.some((t) => t.id === id)) ?? [];
    if (unknown.length) {
      console.error(`Error: unknown target ${unknown.join(", ")}; targets: ${TARGETS.map((t) => t.id).join(", ")}`);
      process.exit(2);
    }
    const targets = wanted ? TARGETS.filter((t) => wanted.includes(t.id)) : TARGETS;
    const xzLevel = Number(values["xz-level"]);
    if (!Number.isInteger(xzLevel) || xzLevel < 0 || xzLevel > 9) {
      console.error("Error: --xz-level must be a whole number from 0 to 9");
      process.exit(2);
    }
    await release({ outDir: releaseOutDir(values.out), targets, xzLevel, notesFile: values.notes });
  }
}
