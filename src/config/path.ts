import type { Env } from "../runtime/types.ts";

/** What a missing or empty credential file reads as: no keys, no credentials. */
export const EMPTY_CONFIG: Readonly<{ data: Record<string, never>; credentials: null }> = Object.freeze({ data: Object.freeze({}), credentials: null });

/** PIPEOPS_CONFIG_PATH, else ~/.pipeops.json (shared with the Go CLI). */
export function configPath(env: Env, homedir: string): string {
  const configured = env.PIPEOPS_CONFIG_PATH?.trim();
  if (configured) return expandHome(configured, homedir);
  return joinPath(homedir, ".pipeops.json");
}

function expandHome(path: string, homedir: string): string {
  if (path === "~") return homedir;
  if (path.startsWith("~/")) return joinPath(homedir, path.slice(2));
  return path;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") || dir.endsWith("\\") ? dir + name : `${dir}/${name}`;
}
