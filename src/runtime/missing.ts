/** A check for a missing file that loads nothing: the lazily loaded credential store uses it first. */

/**
 * True when Bun says the file does not exist (ENOENT), found without node:fs: the usual answer of
 * `auth status` before any login. Any other answer (a directory, a link loop, no permission) is
 * left to node:fs, which reports it as before.
 */
export async function missingOnBun(path: string): Promise<boolean> {
  if (typeof Bun === "undefined" || (await Bun.file(path).exists())) return false;
  return Bun.file(path)
    .text()
    .then(
      () => false,
      (error: unknown) => (error as { code?: unknown } | null)?.code === "ENOENT",
    );
}
