/**
 * Reading a small text file (the credential file, a lock, a cache), apart from the rest of the file
 * operations in fs.ts: a command that only reads its session loads this alone (npm run bench,
 * with a session). Nothing is imported at start; under Deno node:fs loads at the first read.
 */

/** What a path names when it is not a regular file: reads refuse these before reading anything. */
export type SpecialFile = "folder" | "named pipe" | "device" | "socket" | "special file";

/** Thrown for a path that exists but is not a regular file; `code` is ENOTFILE. */
export class NotAFileError extends Error {
  readonly code = "ENOTFILE";
  constructor(readonly kind: SpecialFile) {
    super(`not a regular file (a ${kind})`);
  }
}

/** Thrown for a file larger than the reader's limit; `code` is EFBIG, as the system names a file too large. */
export class FileTooLargeError extends Error {
  readonly code = "EFBIG";
  constructor(readonly maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
  }
}

/** What readFileIfExists reads at most unless told otherwise: far more than a credential file, a lock or a cache holds. */
export const MAX_TEXT_FILE_BYTES = 1024 * 1024;

export interface FileInfo {
  text: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** Last modification, ms since the epoch. */
  mtimeMs: number;
}

interface FileStats {
  mode: number;
  mtimeMs: number;
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}

export function specialKind(stat: FileStats): SpecialFile {
  if (stat.isDirectory()) return "folder";
  if (stat.isFIFO()) return "named pipe";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "device";
  if (stat.isSocket()) return "socket";
  return "special file";
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The file system refused for permission reasons: modes, ownership, or a read-only mount. */
export function isPermissionError(error: unknown): boolean {
  const code = errorCode(error);
  return code === "EACCES" || code === "EPERM" || code === "EROFS";
}

/** What a Bun read needs of Bun: present under Bun only (this module runs under Deno too). */
interface BunFile {
  stat(): Promise<FileStats>;
  slice(start: number, end: number): { bytes(): Promise<Uint8Array> };
}

/**
 * The file's text and mode, or null when it does not exist; at most `maxBytes` of it
 * (FileTooLargeError past that). A folder, a named pipe or a device is refused (NotAFileError)
 * without waiting for a writer that never comes. A byte order mark is kept: the caller decides
 * about it.
 */
export async function readFileIfExists(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<FileInfo | null> {
  const read = await readBytesIfExists(path, maxBytes);
  return read && { text: new TextDecoder("utf-8", { ignoreBOM: true }).decode(read.bytes), mode: read.stat.mode & 0o777, mtimeMs: read.stat.mtimeMs };
}

/** The same, as bytes (`pipeops api`'s --input and -F @file), with the file's stat. */
export async function readBytesIfExists(path: string, maxBytes: number): Promise<{ bytes: Uint8Array; stat: FileStats } | null> {
  const bun = (globalThis as { Bun?: { file(path: string): BunFile } }).Bun;
  const read = bun ? await readWithBun(bun.file(path), maxBytes) : await readWithNode(path, maxBytes);
  if (read && read.bytes.length > maxBytes) throw new FileTooLargeError(maxBytes);
  return read;
}

/**
 * Under Bun, with Bun's own file reads: node:fs costs a command its first use. The stat and a read
 * of at most one byte past the limit go to Bun's thread pool together, one round trip instead of
 * two; the read's bytes are used only once the stat says a regular file was there (a device's are
 * dropped, and were bounded). A file swapped for another between the two could mislead only
 * someone who may write its folder, who could as well write the file.
 */
async function readWithBun(file: BunFile, maxBytes: number): Promise<{ bytes: Uint8Array; stat: FileStats } | null> {
  const bytes = file.slice(0, maxBytes + 1).bytes();
  // Its failure is the stat's to report (the same path): never an unhandled rejection.
  bytes.catch(() => {});
  let stat: FileStats;
  try {
    stat = await file.stat();
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    throw error;
  }
  if (!stat.isFile()) throw new NotAFileError(specialKind(stat));
  try {
    return { bytes: await bytes, stat };
  } catch (error) {
    // Removed since the stat (a lock its holder let go): not there, as an open that failed would say.
    if (errorCode(error) === "ENOENT") return null;
    throw error;
  }
}

/** Elsewhere (Deno) through node:fs: opened without blocking, checked, then read through the handle it checked. */
async function readWithNode(path: string, maxBytes: number): Promise<{ bytes: Uint8Array; stat: FileStats } | null> {
  const { promises: fs, constants } = await import("node:fs");
  let handle: import("node:fs/promises").FileHandle;
  try {
    handle = await fs.open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    if (errorCode(error) === "EISDIR") throw new NotAFileError("folder");
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotAFileError(specialKind(stat));
    if (stat.size > maxBytes) throw new FileTooLargeError(maxBytes);
    // Room for one byte more than the stat said, grown if the file grew, up to one past the limit.
    let buffer = new Uint8Array(stat.size + 1);
    let size = 0;
    for (;;) {
      if (size === buffer.length) {
        if (size > maxBytes) break;
        const larger = new Uint8Array(Math.min(size * 2, maxBytes + 1));
        larger.set(buffer);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    return { bytes: buffer.subarray(0, size), stat };
  } finally {
    await handle.close();
  }
}
