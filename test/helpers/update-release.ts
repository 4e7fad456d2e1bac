/**
 * What the `pipeops update` tests stand on: a real signed release of this code as version 0.2.0
 * (linux-x64, .tar.gz and .tar.xz), and a binary of the same code as 0.1.0, both trusting a
 * test-only key (test/fixtures/update-test-key.*, which signs nothing else). Built once per source
 * state into dist/update-fixtures/<fingerprint>, as ensureRelease() caches the release. The other
 * releases the tests serve (tampered, re-signed as older or newer, by another key, unsigned) are
 * made from this one, in a folder of each test's own.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build, gitCommit, RELEASE_FLAGS } from "../../scripts/build.ts";
import { fingerprint, readReleaseInfo, release, TARGETS } from "../../scripts/release.ts";
import { parseSecretKey, publicKeyLineOf, signFile } from "../../scripts/sign.ts";
import { ROOT } from "./binary.ts";
import { tempDir } from "./context.ts";

export const NEW_VERSION = "0.2.0";
export const OLD_VERSION = "0.1.0";
export const KEY_FILE = join(ROOT, "test", "fixtures", "update-test-key.sec");
export const PUBLIC_KEY = publicKeyLineOf(parseSecretKey(readFileSync(KEY_FILE, "utf8")));

export interface UpdateFixtures {
  /** The signed 0.2.0 release: SHA256SUMS, SHA256SUMS.minisig, BUILD-INFO.json, the archives. */
  release: string;
  /** A 0.1.0 binary of the same code, trusting the same key. */
  oldBinary: string;
}

const TARGET = TARGETS.find((target) => target.id === "linux-x64")!;

export async function updateFixtures(): Promise<UpdateFixtures> {
  const commit = gitCommit();
  const print = fingerprint([TARGET], commit, { version: NEW_VERSION, publicKey: PUBLIC_KEY }).slice(0, 16);
  const dir = join(ROOT, "dist", "update-fixtures", print);
  const fixtures = { release: join(dir, "release"), oldBinary: join(dir, "pipeops-0.1.0") };
  if (existsSync(fixtures.oldBinary) && readReleaseInfo(fixtures.release)?.version === NEW_VERSION) return fixtures;
  const root = join(ROOT, "dist", "update-fixtures");
  if (existsSync(root)) for (const entry of readdirSync(root)) if (entry !== print) rmSync(join(root, entry), { recursive: true, force: true });
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const notes = join(work, "NOTES.md");
  writeFileSync(notes, "Faster start-up\nSigned releases and pipeops update\n");
  await Promise.all([
    release({
      outDir: join(work, "release"),
      targets: [TARGET],
      quiet: true,
      commit,
      xzLevel: 0,
      version: NEW_VERSION,
      publicKey: PUBLIC_KEY,
      signingKeyFile: KEY_FILE,
      notesFile: notes,
    }),
    build({ outfile: join(work, "pipeops-0.1.0"), ...RELEASE_FLAGS, commit, quiet: true, version: OLD_VERSION, publicKey: PUBLIC_KEY }),
  ]);
  rmSync(notes);
  if (existsSync(dir)) return fixtures;
  renameSync(work, dir);
  return fixtures;
}

/** A copy of the release to serve, made different by `change` (each file by name). */
export async function releaseCopy(source: string, change: (dir: string) => void | Promise<void> = () => {}): Promise<string> {
  const dir = tempDir("pipeops-release-");
  for (const name of readdirSync(source)) copyFileSync(join(source, name), join(dir, name));
  await change(dir);
  return dir;
}

/** SHA256SUMS signed anew with `keyFile`, its trusted comment vouching for `version`. */
export async function resign(dir: string, version: string, keyFile = KEY_FILE): Promise<void> {
  const sums = new Uint8Array(readFileSync(join(dir, "SHA256SUMS")));
  const signature = await signFile(sums, parseSecretKey(readFileSync(keyFile, "utf8")), `timestamp:0\tfile:SHA256SUMS\tversion:${version}`);
  writeFileSync(join(dir, "SHA256SUMS.minisig"), signature);
}
