/** Server URLs: which server a URL names, and which URLs pipeops may send a token to. */

import { badServerUrl, insecureUrl } from "../cli-error.ts";
import type { Env } from "../runtime/types.ts";

export const DEFAULT_API_URL = "https://api.pipeops.io";

/** True for hosts that never leave this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = (hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname).toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || (host.startsWith("127.") && /^127(\.\d{1,3}){3}$/.test(host));
}

/** https://, or plain http:// to loopback only. */
export function isSecureUrl(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/** Where a server URL came from, as its errors name it: the variable, or the file's key. */
export type UrlSource = "PIPEOPS_API_URL" | "PIPEOPS_DASHBOARD_URL" | "PIPEOPS_INSTALL_BASE_URL" | typeof FILE_API_URL | typeof FILE_DASHBOARD_URL;
export const FILE_API_URL = "the config file's api_url";
export const FILE_DASHBOARD_URL = "the config file's oauth.dashboard_url";

/**
 * Plain http:// only to loopback; everything else must be https:// (tokens travel on these
 * requests). An endpoint a server named is fixed where its API URL was set, hence the default.
 */
export function assertSecureUrl(url: URL, source: UrlSource = "PIPEOPS_API_URL"): void {
  if (!isSecureUrl(url)) throw insecureUrl(url, source);
}

/** PIPEOPS_API_URL, else the server the stored token belongs to, else production. */
export function resolveApiUrl(ctx: { readonly env: Env }, storedApiUrl?: string): URL {
  const fromEnv = ctx.env.PIPEOPS_API_URL?.trim();
  if (fromEnv) return parseServerUrl(fromEnv, "PIPEOPS_API_URL");
  return storedApiUrl ? parseServerUrl(storedApiUrl, FILE_API_URL) : new URL(DEFAULT_API_URL);
}

/** A server URL as a variable or the file gives it: http(s) only, plain http only to loopback. */
export function parseServerUrl(raw: string, source: UrlSource, example = DEFAULT_API_URL): URL {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) throw badServerUrl(source, raw, example);
  assertSecureUrl(url, source);
  return url;
}

/** The origin (plus path, when there is one) used to name a server in messages. */
export function serverName(url: URL): string {
  const { pathname } = url;
  return pathname === "/" ? url.origin : `${url.origin}${pathname.endsWith("/") ? pathname.slice(0, -1) : pathname}`;
}

/** Whether two server URLs name the same server (scheme, host, port and path). */
export function sameServer(a: URL, b: URL): boolean {
  return serverName(a) === serverName(b);
}
