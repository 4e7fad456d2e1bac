/** Whether this Linux runs under WSL, where the browser (and what it can read) is Windows'. */
import type { Env } from "../runtime/types.ts";

/** WSL: Microsoft's kernel (/proc/version says so), or the variable WSL sets. */
export function detectWsl(env: Env, platform: string, procVersion: () => string | undefined): boolean {
  if (platform !== "linux") return false;
  return Boolean(env.WSL_DISTRO_NAME) || /microsoft/i.test(procVersion() ?? "");
}
