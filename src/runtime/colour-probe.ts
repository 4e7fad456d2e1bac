/**
 * picocolors works out a default colour setting when it loads and, unless `FORCE_COLOR` or
 * `--color` answers first, reads `process.stdout.isTTY` to do so: in Bun that builds the Node
 * stdout stream, about 13 ms at a terminal, more than a whole one-line program. pipeops has
 * decided already (src/io/colour.ts) and asks for createColors(true), so `--color` is in argv for
 * the length of the load (a synchronous one, or until an import settles), and taken out again
 * after it. Nothing else reads argv meanwhile: ours was read at start, and nothing else runs while
 * the colours load.
 */
export function withColorFlag<T>(load: () => T): T {
  const argv: string[] | undefined = (globalThis as { process?: { argv?: string[] } }).process?.argv;
  const lower = () => {
    const at = argv?.lastIndexOf("--color") ?? -1;
    if (at >= 0) argv?.splice(at, 1);
  };
  argv?.push("--color");
  let loading: T;
  try {
    loading = load();
  } catch (error) {
    lower();
    throw error;
  }
  if (loading instanceof Promise) return loading.finally(lower) as T;
  lower();
  return loading;
}
