/**
 * Corporate networks: which proxy a request goes through (HTTPS_PROXY, HTTP_PROXY, NO_PROXY and
 * their lower-case forms, as curl reads them), and which certificates are trusted besides the
 * built-in ones (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE). Loopback never goes through a proxy, so the
 * login's callback and a local server always work. No option turns certificate checks off.
 */
import { badProxyUrl, type CliError, noPemCertificate, proxyAuthRequired, proxyRefused, untrustedCertificate } from "../errors.ts";
import type { Env } from "../runtime/types.ts";
import { isLoopbackHost } from "./url.ts";

/** A proxy to use, and how to name it in messages: never with its credentials. */
export interface ProxyServer {
  readonly url: URL;
  /** "http://proxy.corp:3128", as the user set it but without user and password. */
  readonly name: string;
  /** The variable it came from, for hints. */
  readonly variable: string;
}

/** The first of the variables that is set, lower case first (curl's order). */
function variable(env: Env, name: string): { variable: string; value: string } | undefined {
  for (const key of [name.toLowerCase(), name]) {
    const value = env[key]?.trim();
    if (value) return { variable: key, value };
  }
  return undefined;
}

/**
 * NO_PROXY: a comma-separated list of hosts (with an optional :port), domain suffixes (`.corp`
 * or `corp`, covering its subdomains) and `*` for everything.
 */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    const match = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[|\]$/g, ""));
    const [, name = "", entryPort] = match ?? [];
    if (entryPort && entryPort !== port) continue;
    const domain = name.replace(/^\*?\./, "");
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** The proxy for a request to `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, env: Env): ProxyServer | undefined {
  if (isLoopbackHost(url.hostname)) return undefined;
  if (bypassesProxy(url, variable(env, "NO_PROXY")?.value)) return undefined;
  const chosen = variable(env, url.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY") ?? variable(env, "ALL_PROXY");
  if (!chosen) return undefined;
  // A bare host:port is an http:// proxy, as curl takes it.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(chosen.value) ? chosen.value : `http://${chosen.value}`;
  const proxy = URL.canParse(text) ? new URL(text) : undefined;
  if (!proxy || (proxy.protocol !== "http:" && proxy.protocol !== "https:")) {
    throw badProxyUrl(chosen.variable);
  }
  return { url: proxy, name: `${proxy.protocol}//${proxy.host}`, variable: chosen.variable };
}

/** The files of extra trusted certificates the environment names (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE). */
export function certificateFiles(env: Env): string[] {
  // Both often name the same bundle: read once.
  return [...new Set(["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"].map((name) => env[name]?.trim() ?? "").filter(Boolean))];
}

/** The certificates in a PEM bundle; a file with none is a usage error naming it. */
export function pemCertificates(text: string, file: string): string[] {
  const certificates = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certificates.length === 0) throw noPemCertificate(file);
  return certificates;
}

const TLS_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "it is not signed by a trusted authority",
  UNABLE_TO_GET_ISSUER_CERT: "it is not signed by a trusted authority",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "it is not signed by a trusted authority",
  SELF_SIGNED_CERT_IN_CHAIN: "it is signed by an authority that is not trusted (self-signed, in the chain)",
  DEPTH_ZERO_SELF_SIGNED_CERT: "it is self-signed",
  CERT_HAS_EXPIRED: "it has expired",
  CERT_NOT_YET_VALID: "it is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "it is for another host",
  CERT_REVOKED: "it has been revoked",
};

/** A certificate failure as one line: what failed, for which host, and what to do behind TLS inspection. */
export function tlsError(code: string, url: URL, cause: unknown): CliError | undefined {
  const reason = TLS_REASONS[code];
  return reason ? untrustedCertificate(url.hostname, reason, cause) : undefined;
}

/** A proxy's refusal: one line naming the proxy (not its credentials), and what to do about a 407. */
export function proxyError(proxy: ProxyServer, url: URL, status: number | undefined, cause: unknown): CliError {
  if (status === 407) return proxyAuthRequired(proxy.name, proxy.variable, `${proxy.url.protocol}//user:password@${proxy.url.host}`, cause);
  return proxyRefused(proxy.name, proxy.variable, url, status, cause);
}
