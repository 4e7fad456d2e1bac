/** Opening a URL in the user's browser: $BROWSER, the desktop's opener, or Windows' from WSL. */
import type { Env } from "../runtime/types.ts";

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
  // Never through cmd.exe, whose parser would act on a URL's &, |, ^ and %VAR%: each opener below
  // takes the URL as one argument.
  if (wsl)
    return [
      ["wslview", url],
      ["explorer.exe", url],
    ];
  if (platform === "darwin") return [["open", url]];
  if (platform === "win32") return [["rundll32", "url.dll,FileProtocolHandler", url]];
  return [["xdg-open", url]];
}

/** Only web pages are opened: a server-chosen URL of another scheme (file:, a custom handler) is not. */
export function isWebUrl(url: string): boolean {
  return URL.canParse(url) && /^https?:$/.test(new URL(url).protocol);
}

/** The start page login writes for the browser (src/runtime/fs.ts privateTempFile): a file: URL ending in our own name. */
export function isOwnStartPage(url: string): boolean {
  return URL.canParse(url) && new URL(url).protocol === "file:" && /\/pipeops-[^/]+\/sign-in\.html$/.test(new URL(url).pathname);
}

/** explorer.exe exits with 1 when it has opened a URL: its exit code says nothing. */
export function exitCodeMeansNothing(argv: readonly string[]): boolean {
  return argv[0] === "explorer.exe";
}

/** How long a browser opener has to fail before it counts as started. */
export const BROWSER_GRACE_MS = 1_500;
