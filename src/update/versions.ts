/** Which of two release versions is newer: what the update check and the notice compare, with nothing else loaded. */

/** -1, 0 or 1 as `a` is older than, the same as, or newer than `b` (semver: numbers, then a pre-release sorts first). */
export function compareVersions(a: string, b: string): number {
  const split = (version: string) => {
    const [core = "", pre] = version.split("-", 2);
    return { parts: core.split(".").map(Number), pre };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) {
    const diff = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
