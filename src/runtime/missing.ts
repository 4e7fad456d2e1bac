/** A check for a missing file that loads nothing: the lazily loaded credential store uses it first. */

/**
 * True when the file does not exist (ENOENT): the usual answer of `auth status` before any login.
 * Any other answer (a directory, a link loop, no permission, an empty file) is left to node:fs,
 * which the store then loads and reports it with. Bun.mmap is the probe because it is synchronous
 * and fails with the errno: Bun.file().exists() is false for all of those, and the asynchronous
 * reads that tell them apart cost more at start-up than the rest of `auth status` together.
 */
export function missingOnBun(path: string): boolean {
  if (typeof Bun === "undefined") return false;
  try {
    Bun.mmap(path);
    return false;
  } catch (error) {
    return (error as { code?: unknown } | null)?.code === "ENOENT";
  }
}
