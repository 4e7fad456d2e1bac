/** Server URLs: which server a URL names, and which URLs pipeops may send a token to. */

import { CliError, sanitize } from "../errors.ts";
import type { Env } from "../runtime/types.ts";

export const DEFAULT_API_URL = "https://api.pipeops.io";

/** True for hosts that never leave this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** https://, or plain http:// to loopback only. */
export function isSecureUrl(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/** Plain http:// only to loopback; everything else must be https:// (tokens travel on these requests). */
export function assertSecureUrl(url: URL): void {
  if (isSecureUrl(url)) return;
  throw new CliError(
    "insecure_url",
    `refusing to connect to ${url.origin || url.href}: HTTPS is required (plain http:// is allowed only for localhost)`,
    "Use an https:// URL in PIPEOPS_API_URL",
  );
}

/** PIPEOPS_API_URL, else the server the stored token belongs to, else production. */
export function resolveApiUrl(ctx: { readonly env: Env }, storedApiUrl?: string): URL {
  return parseServerUrl(ctx.env.PIPEOPS_API_URL?.trim() || storedApiUrl || DEFAULT_API_URL);
}

/** A server URL as PIPEOPS_API_URL or the file gives it: http(s) only, plain http only to loopback. */
export function parseServerUrl(raw: string): URL {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    const why = url ? "must be an http(s) URL" : "is not a valid URL";
    throw new CliError("usage", `PIPEOPS_API_URL ${why}: '${sanitize(raw, 100)}'`, "Set it to e.g. https://api.pipeops.io");
  }
  assertSecureUrl(url);
  return url;
}

/** The origin (plus path, when there is one) used to name a server in messages. */
export function serverName(url: URL): string {
  return url.pathname === "/" ? url.origin : `${url.origin}${url.pathname.replace(/\/$/, "")}`;
}

/** Whether two server URLs name the same server (scheme, host, port and path). */
export function sameServer(a: URL, b: URL): boolean {
  return serverName(a) === serverName(b);
}
