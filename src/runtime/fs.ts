/**
 * File operations through node:fs, which Bun and Deno both implement. node:path loads with the
 * first operation that needs it: importing it costs a command about 0.4 ms, and the server cache's
 * read (every `auth status`) needs none of it (npm run bench, with a session).
 */
import { errorCode, FileTooLargeError, readBytesIfExists, type SpecialFile, specialKind } from "./read.ts";

export { errorCode, type FileInfo, isPermissionError, NotAFileError, readFileIfExists, type SpecialFile } from "./read.ts";

/** node:fs, loaded by the first file operation rather than at start: `--help` and `--version` never need it. */
async function nodeFs() {
  const { promises: fs, constants } = await import("node:fs");
  return { fs, constants };
}

const nodePath = () => import("node:path");

/**
 * The folder a POSIX path is in, as node:path's dirname says it for the paths given here (absolute,
 * or relative to the working folder, with no trailing slash). Only where uids are (not Windows).
 */
function folderOf(path: string): string {
  const at = path.lastIndexOf("/");
  return at > 0 ? path.slice(0, at) : at === 0 ? "/" : ".";
}

/** stat() of a path, following links: Bun's own under Bun (node:fs costs its first use, see read.ts), else node:fs's. */
async function statter(): Promise<(path: string) => Promise<import("node:fs").Stats>> {
  const bun = (globalThis as { Bun?: { file(path: string): { stat(): Promise<import("node:fs").Stats> } } }).Bun;
  if (bun) return (path) => bun.file(path).stat();
  const { fs } = await nodeFs();
  return (path) => fs.stat(path);
}

/**
 * A regular file's bytes, at most `maxBytes` of them: `tooLarge` is thrown past that. A missing
 * file throws ENOENT; a named pipe or a device, NotAFileError, without waiting for a writer.
 */
export async function readBoundedFile(path: string, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  let read: Awaited<ReturnType<typeof readBytesIfExists>>;
  try {
    read = await readBytesIfExists(path, maxBytes);
  } catch (error) {
    if (error instanceof FileTooLargeError) throw tooLarge();
    throw error;
  }
  if (!read) throw Object.assign(new Error(`no such file: ${path}`), { code: "ENOENT" });
  return read.bytes;
}

/**
 * Where a write to `path` goes: `path` itself or, when it is a symbolic link, the file the link
 * finally names. Replacing the link with a regular file would leave the old contents (tokens) behind
 * it, and break a dotfiles setup. Links owned by another user (not root) are refused, as the kernel's
 * protected_symlinks does in shared folders: such a link may point our tokens anywhere.
 */
export async function writeTarget(path: string): Promise<string> {
  const [{ fs }, { dirname, resolve }] = await Promise.all([nodeFs(), nodePath()]);
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    let stat: import("node:fs").Stats;
    try {
      stat = await fs.lstat(current);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return current;
      throw error;
    }
    if (!stat.isSymbolicLink()) return current;
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      throw Object.assign(new Error(`${current} is a symbolic link owned by another user`), { code: "ELINKOWNER" });
    }
    current = resolve(dirname(current), await fs.readlink(current));
  }
  throw Object.assign(new Error("too many levels of symbolic links"), { code: "ELOOP" });
}

/**
 * Whether someone else could have written the file at `path`: it, or the folder it is in, is
 * owned by another user (root aside) or writable by group or others (a folder with the sticky bit,
 * as /tmp, only when another user owns it). Undefined when only we could
 * (or the file is not there). Windows has no such bits: undefined there.
 */
export async function writableByOthers(path: string): Promise<"the file" | "its folder" | undefined> {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const stat = await statter();
  const ownedElsewhere = (stat: import("node:fs").Stats) => stat.uid !== uid && stat.uid !== 0;
  // A folder with the sticky bit (/tmp) lets others add files, but not replace or remove ours.
  const looseFolder = (stat: import("node:fs").Stats) => ownedElsewhere(stat) || ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0);
  // Both stats at once; the folder's failure counts only if the file's did not come first.
  const folder = stat(folderOf(path));
  folder.catch(() => {});
  try {
    const file = await stat(path);
    if (ownedElsewhere(file) || (file.mode & 0o022) !== 0) return "the file";
    if (looseFolder(await folder)) return "its folder";
  } catch {
    // Not there (or not ours to look at): nothing was read from it either.
  }
  return undefined;
}

/**
 * The one name of the file a write to `path` reaches, however it was named: through links to it,
 * a link to its folder, or a relative path. Where that cannot be told (no permission), `path` made
 * absolute; the write itself then reports what is wrong.
 */
export async function canonicalTarget(path: string): Promise<string> {
  const [{ fs }, { basename, dirname, resolve }] = await Promise.all([nodeFs(), nodePath()]);
  try {
    const target = await writeTarget(path);
    return `${await fs.realpath(dirname(target))}/${basename(target)}`;
  } catch {
    return resolve(path);
  }
}

/**
 * Replaces the file in one step: a 0600 temp file in the same folder, fsync, rename.
 * Readers see the old file or the new one, never a mix. A symbolic link is written through
 * (see writeTarget): the link stays, its target is replaced.
 */
export async function writeFileAtomic(linkOrPath: string, text: string): Promise<void> {
  const { fs, constants } = await nodeFs();
  const path = await writeTarget(linkOrPath);
  await ensureFolderOf(path);
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.chmod(0o600);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** Why a write to a path would fail: the place that refused it (the path, or a folder on the way), and the system's error. */
export interface WriteProblem {
  at: string;
  error: unknown;
}

/**
 * Whether a write to `path` (see writeFileAtomic) could succeed, found out without touching what
 * is there: the file's folder takes a new file of a few KB (created and removed at once), or, when
 * that folder does not exist yet, the nearest one that does lets us create it. Undefined: it could.
 */
export async function writeProblem(path: string): Promise<WriteProblem | undefined> {
  const [{ fs, constants }, { dirname }] = await Promise.all([nodeFs(), nodePath()]);
  let target: string;
  try {
    target = await writeTarget(path);
  } catch (error) {
    return { at: path, error };
  }
  const folder = dirname(target);
  let existing = folder;
  for (;;) {
    try {
      if (!(await fs.stat(existing)).isDirectory()) return { at: existing, error: Object.assign(new Error("not a folder"), { code: "ENOTDIR" }) };
      break;
    } catch (error) {
      const parent = dirname(existing);
      if (errorCode(error) !== "ENOENT" || parent === existing) return { at: existing, error };
      existing = parent;
    }
  }
  try {
    // A folder still to be made: the one above must let us make it. (Root passes access(); the write then reports.)
    if (existing !== folder) await fs.access(existing, constants.W_OK | constants.X_OK);
    else {
      const probe = `${target}.${crypto.randomUUID().slice(0, 8)}.probe`;
      await fs.writeFile(probe, PROBE_BYTES, { flag: "wx", mode: 0o600 }).finally(() => fs.rm(probe, { force: true }));
    }
  } catch (error) {
    return { at: existing, error };
  }
  return undefined;
}

/** About what a credential file with a session takes: a disk that is full refuses it. */
const PROBE_BYTES = new Uint8Array(4096);

/** A file only this user can read, and how to be rid of it: its path, its file: URL, and remove(). */
export interface PrivateFile {
  readonly path: string;
  readonly url: string;
  remove(): Promise<void>;
}

/**
 * `name`, holding `text` (or bytes), 0600, in a new 0700 folder under the system's temporary folder (mkdtemp:
 * a name nobody could have made ready for us). remove() takes the folder away with it.
 */
export async function privateTempFile(name: string, text: string | Uint8Array): Promise<PrivateFile> {
  const [{ fs }, { join }] = await Promise.all([nodeFs(), nodePath()]);
  const { tmpdir } = await import("node:os");
  const { pathToFileURL } = await import("node:url");
  const folder = await fs.mkdtemp(join(tmpdir(), "pipeops-"));
  const remove = () => fs.rm(folder, { recursive: true, force: true });
  try {
    await fs.chmod(folder, 0o700);
    const path = join(folder, name);
    await fs.writeFile(path, text, { mode: 0o600, flag: "wx" });
    return { path, url: pathToFileURL(path).href, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** A new file (O_EXCL) holding `bytes`, with exactly `mode` (whatever the umask). */
export async function writeNewFile(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const { fs } = await nodeFs();
  await fs.writeFile(path, bytes, { flag: "wx", mode });
  await fs.chmod(path, mode);
}

/** The path with every symbolic link resolved; the path itself when that cannot be told. */
export async function realPath(path: string): Promise<string> {
  const { fs } = await nodeFs();
  return fs.realpath(path).catch(() => path);
}

/** Creates a file only when it does not exist yet (O_EXCL); false when it already does. */
export async function createExclusive(path: string, text: string): Promise<boolean> {
  const { fs, constants } = await nodeFs();
  try {
    const handle = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(text, "utf8");
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  }
}

/** Sets the file's modification time; a missing file is not an error. */
export async function touchFile(path: string, time: Date): Promise<void> {
  const { fs } = await nodeFs();
  await fs.utimes(path, time, time).catch(() => {});
}

export async function removeFile(path: string): Promise<void> {
  const { fs } = await nodeFs();
  await fs.rm(path, { force: true });
}

/** Why a file operation failed, in words, for the codes users meet; the code itself otherwise. */
const FAILURES: Record<string, string> = {
  ENOENT: "its folder does not exist",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder",
  ENOSPC: "no space left on device",
  EROFS: "the file system is read-only",
  ELINKOWNER: "it is a symbolic link owned by another user",
  ELOOP: "too many levels of symbolic links",
};

export function describeFailure(error: unknown): string {
  const code = errorCode(error);
  return (code && FAILURES[code]) ?? code ?? "unknown error";
}

/** Creates the folder (and its parents) a file goes in, 0700: they may hold tokens. */
export async function ensureFolderOf(path: string): Promise<void> {
  const [{ fs }, { dirname }] = await Promise.all([nodeFs(), nodePath()]);
  try {
    await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (error) {
    // Bun says EEXIST where a part of the path is a file; Node says ENOTDIR, which is what it means.
    if (errorCode(error) === "EEXIST") throw Object.assign(new Error(`${dirname(path)} is not a folder`), { code: "ENOTDIR" });
    throw error;
  }
}

/** Renames a file (atomically, within one file system); false when it did not exist. */
export async function renameIfExists(from: string, to: string): Promise<boolean> {
  const { fs } = await nodeFs();
  try {
    await fs.rename(from, to);
    return true;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false;
    throw error;
  }
}

/** Gives an existing file a second name, only when that name is free; false when it is taken. */
export async function linkIfAbsent(existing: string, path: string): Promise<boolean> {
  const { fs } = await nodeFs();
  try {
    await fs.link(existing, path);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  }
}

/** What a path is, its permission bits and its owner, without following a last symbolic link's loop; null when nothing is there. */
export async function fileStatus(path: string): Promise<{ kind: "file" | SpecialFile; mode: number; uid: number; ownUid: number | undefined } | null> {
  const { fs } = await nodeFs();
  try {
    const stat = await fs.stat(path);
    return { kind: stat.isFile() ? "file" : specialKind(stat), mode: stat.mode & 0o777, uid: stat.uid, ownUid: process.getuid?.() };
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    throw error;
  }
}

/** The first executable called `name` in the folders of PATH, as a shell would find it; undefined when none is. */
export async function findOnPath(name: string, path: string | undefined): Promise<string | undefined> {
  const [{ fs, constants }, { resolve }] = await Promise.all([nodeFs(), nodePath()]);
  for (const dir of (path ?? "").split(process.platform === "win32" ? ";" : ":")) {
    if (!dir) continue;
    const candidate = resolve(dir, name);
    try {
      await fs.access(candidate, constants.X_OK);
      if ((await fs.stat(candidate)).isFile()) return candidate;
    } catch {
      // Not here: the next folder.
    }
  }
  return undefined;
}
