/** Where pipeops keeps what it learns (servers, the update check): the folder each system expects for caches. */
import type { Env } from "../runtime/types.ts";

/**
 * The cache folder users expect: $XDG_CACHE_HOME/pipeops (else ~/.cache/pipeops) on Linux,
 * ~/Library/Caches/pipeops on macOS, %LOCALAPPDATA%\pipeops\Cache on Windows.
 */
export function cacheFile(where: { readonly env: Env; readonly platform: string; readonly homedir: string }, name = "servers.json"): string {
  const { env, platform, homedir } = where;
  if (platform === "darwin") return `${homedir}/Library/Caches/pipeops/${name}`;
  if (platform === "win32") return `${env.LOCALAPPDATA || `${homedir}\\AppData\\Local`}\\pipeops\\Cache\\${name}`;
  const xdg = env.XDG_CACHE_HOME?.trim();
  // XDG: a relative path is to be ignored.
  return `${xdg?.startsWith("/") ? xdg : `${homedir}/.cache`}/pipeops/${name}`;
}
