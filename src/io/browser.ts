/** Opening a URL in the user's browser: $BROWSER, the desktop's opener, or Windows' from WSL. */
import type { Env } from "../runtime/types.ts";

/** cmd.exe's `start` takes the URL through the shell's parser: `&` would end the command. */
function startCommand(program: string, url: string): string[] {
  return [program, "/c", "start", '""', url.replace(/&/g, "^&")];
}

/**
 * The commands that may open the URL, tried in turn. $BROWSER, as its convention has it: a list
 * separated by colons (semicolons on Windows), each a command with arguments, `%s` standing for
 * the URL (which goes last when no `%s` is given). Else the desktop's opener; on WSL, wslview or
 * Windows' own `start`.
 */
export function browserCommands(env: Env, platform: string, wsl: boolean, url: string): string[][] {
  const configured = env.BROWSER?.trim();
  if (configured) {
    return configured
      .split(platform === "win32" ? ";" : ":")
      .map((entry) => entry.trim().split(/\s+/).filter(Boolean))
      .filter((words) => words.length > 0)
      .map((words) => {
        const withUrl = words.map((word) => word.replace(/%(%|s)/g, (_, c: string) => (c === "s" ? url : "%")));
        return words.some((word) => /(^|[^%])%s/.test(word)) ? withUrl : [...withUrl, url];
      });
  }
  if (wsl) return [["wslview", url], startCommand("cmd.exe", url)];
  if (platform === "darwin") return [["open", url]];
  if (platform === "win32") return [startCommand("cmd", url)];
  return [["xdg-open", url]];
}

/** How long a browser opener has to fail before it counts as started. */
export const BROWSER_GRACE_MS = 1_500;

/** WSL: Microsoft's kernel (/proc/version says so), or the variable WSL sets. */
export function detectWsl(env: Env, platform: string, procVersion: () => string | undefined): boolean {
  if (platform !== "linux") return false;
  return Boolean(env.WSL_DISTRO_NAME) || /microsoft/i.test(procVersion() ?? "");
}
