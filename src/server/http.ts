import type { Context, Env } from "../context.ts";
import {
  badHttpTimeout,
  CliError,
  httpTimeoutTooLong,
  isUnreachable,
  proxyUnreachable,
  responseTooLarge,
  timedOut,
  unreachable,
  unreadableCertificates,
  withNetworkHint,
} from "../errors.ts";
import { slowWaitLine } from "../io/progress.ts";
import { parseSeconds } from "../time.ts";
import { certificateFiles, type ProxyServer, pemCertificates, proxyError, proxyFor, tlsError } from "./network.ts";
import { assertSecureUrl, DEFAULT_API_URL } from "./url.ts";

export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TRIES = 3;
/** A server that asks for a longer pause gets its answer reported instead of a silent wait. */
const MAX_RETRY_WAIT_MS = 10_000;

/** The longest PIPEOPS_HTTP_TIMEOUT: ten minutes (setTimeout overflows past about 24 days). */
export const MAX_HTTP_TIMEOUT_SECONDS = 600;

/** PIPEOPS_HTTP_TIMEOUT in seconds, default 30, at most 600. */
export function httpTimeoutSeconds(env: Env): number {
  const raw = env.PIPEOPS_HTTP_TIMEOUT?.trim();
  if (!raw) return 30;
  const seconds = parseSeconds(raw);
  if (seconds === undefined) {
    throw badHttpTimeout(raw);
  }
  if (seconds > MAX_HTTP_TIMEOUT_SECONDS) {
    throw httpTimeoutTooLong(MAX_HTTP_TIMEOUT_SECONDS);
  }
  return seconds;
}

function isIdempotent(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.max(ms, 0);
}

/**
 * A fetch for every request pipeops makes: HTTPS enforced, a timeout per try, retries for idempotent
 * requests (network errors, 429, 5xx; Retry-After honoured), bodies over 1 MiB refused, and failures
 * turned into one-line errors that name the server.
 */
export function createHttpFetch(ctx: Context, options: { stream?: boolean; tries?: number; networkHint?: false } = {}): typeof fetch {
  const timeoutSeconds = httpTimeoutSeconds(ctx.env);
  const stream = options.stream === true;
  const maxTries = options.tries ?? MAX_TRIES;
  // Read once, when the first request needs them.
  let extraCa: Promise<string[]> | undefined;
  const httpFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    assertSecureUrl(url);
    const retryable = isIdempotent(request.method);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      const sentAt = ctx.now();
      try {
        // Certificates matter only to HTTPS: plain http (loopback only) never reads the bundles.
        if (url.protocol === "https:") extraCa ??= loadCertificates(ctx.env);
        const stopWaitLine = slowWaitLine(ctx, url.host);
        try {
          response = await fetchWithin(ctx, request.clone(), url, { timeoutSeconds, extraCa: (await extraCa) ?? [], stream });
        } finally {
          stopWaitLine();
        }
        const { status } = response;
        const tookMs = ctx.now() - sentAt;
        ctx.trace(() => `${traceLine(request, url)} -> ${status} (${tookMs} ms)`);
      } catch (error) {
        const tookMs = ctx.now() - sentAt;
        ctx.trace(() => `${traceLine(request, url)} -> failed (${tookMs} ms)`);
        if (retryable && attempt < maxTries && error instanceof CliError && error.code === "network") {
          await ctx.sleep(backoffMs(attempt));
          continue;
        }
        // A proxy's or a certificate's failure has its own hint; a server that is not there gets one here.
        if (isUnreachable(error) && !error.hint && options.networkHint !== false)
          throw withNetworkHint(error, url.origin, urlSource(ctx.env, url), timeoutSeconds);
        throw error;
      }
      if (retryable && attempt < maxTries && (response.status === 429 || response.status >= 500)) {
        const wait = retryAfterMs(response.headers.get("retry-after"), ctx.now()) ?? backoffMs(attempt);
        if (wait <= MAX_RETRY_WAIT_MS) {
          await response.body?.cancel();
          await ctx.sleep(wait);
          continue;
        }
      }
      return response;
    }
  };
  return httpFetch as typeof fetch;
}

/** Where a server's URL came from, as far as the environment tells: for the hint of a server that cannot be reached. */
function urlSource(env: Env, url: URL): string {
  const named = (variable: string) => {
    const raw = env[variable]?.trim();
    return raw !== undefined && URL.canParse(raw) && new URL(raw).origin === url.origin;
  };
  if (named("PIPEOPS_API_URL")) return "from PIPEOPS_API_URL";
  if (named("PIPEOPS_DASHBOARD_URL")) return "from PIPEOPS_DASHBOARD_URL";
  if (url.origin === new URL(DEFAULT_API_URL).origin) return "the default";
  return "from the credential file, or what the server published";
}

/**
 * A request as --verbose shows it: the method and the URL with every query value masked (codes,
 * states and tokens travel there), and whether it carried credentials, masked too. Bodies are never shown.
 */
export function traceLine(request: Request, url: URL): string {
  const shown = new URL(url.href);
  for (const key of new Set(shown.searchParams.keys())) shown.searchParams.set(key, "****");
  const auth = request.headers.get("authorization");
  // The scheme's name only, and only when it is one: no part of the credentials.
  const scheme = auth?.split(" ")[0] ?? "";
  const credentials = auth ? ` (Authorization: ${/^[A-Za-z]{1,20}$/.test(scheme) ? scheme : "****"} ****)` : "";
  // Serialised (percent-encoded), so nothing in it can reach the terminal as an escape.
  return `${request.method} ${shown.origin}${shown.pathname}${shown.search}${credentials}`;
}

function backoffMs(attempt: number): number {
  return 250 * 2 ** (attempt - 1);
}

interface TryOptions {
  timeoutSeconds: number;
  extraCa: string[];
  /** The body as it arrives, with no size limit, each chunk within the timeout of the one before. */
  stream: boolean;
}

/**
 * One try, through a proxy when one applies: headers and the whole body must arrive within the
 * timeout; or, streamed, the headers within it and then each piece of the body within it.
 */
async function fetchWithin(ctx: Context, request: Request, url: URL, options: TryOptions): Promise<Response> {
  const { timeoutSeconds, extraCa } = options;
  const proxy = proxyFor(url, ctx.env);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
  try {
    const connect = ctx.connectOptions({ proxy: proxy?.url, extraCa });
    const response = await ctx.fetch(request, { ...connect, signal: controller.signal, redirect: "manual" });
    // A plain-http request through a proxy that wants credentials gets the proxy's 407 as its answer.
    if (proxy && response.status === 407) {
      await response.body?.cancel();
      throw proxyError(proxy, url, 407, undefined);
    }
    // A small body of a declared length is read whole (within the timeout), streamed or not.
    const body =
      options.stream && !declaredWithin(response, AT_ONCE_BYTES)
        ? streamWithin(response, controller, timeoutSeconds, url, proxy)
        : await readLimited(response, url);
    return new Response(NULL_BODY_STATUSES.has(response.status) ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (controller.signal.aborted) {
      throw timedOut(url.origin, timeoutSeconds, error);
    }
    throw networkError(error, url, proxy);
  } finally {
    clearTimeout(timer);
  }
}

/** Statuses whose response has no body: a Response built with one throws. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** The body piece by piece, each within `timeoutSeconds` of the last, failures as the one-line errors of a request. */
function streamWithin(
  response: Response,
  controller: AbortController,
  timeoutSeconds: number,
  url: URL,
  proxy: ProxyServer | undefined,
): ReadableStream<Uint8Array> | null {
  if (!response.body) return null;
  const reader = response.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(into) {
        timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
        try {
          const { value, done } = await reader.read();
          if (done) into.close();
          else into.enqueue(value);
        } catch (error) {
          throw controller.signal.aborted ? timedOut(url.origin, timeoutSeconds, error) : networkError(error, url, proxy);
        } finally {
          clearTimeout(timer);
        }
      },
      async cancel(reason) {
        clearTimeout(timer);
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A failed connection as one line: the proxy's refusal, a certificate that cannot be trusted, or why the server could not be reached. */
function networkError(error: unknown, url: URL, proxy: ProxyServer | undefined): CliError {
  const codes = errorCodes(error);
  if (proxy && codes.includes("ERR_PROXY_TUNNEL")) {
    const status = /\b([1-5]\d\d)\b/.exec(error instanceof Error ? error.message : "")?.[1];
    return proxyError(proxy, url, status === undefined ? undefined : Number(status), error);
  }
  for (const code of codes) {
    const tls = tlsError(code, url, error);
    if (tls) return tls;
  }
  const code = codes.find((candidate) => NETWORK_REASONS[candidate]);
  const reason = (code && NETWORK_REASONS[code]) || "network error";
  // The first connection goes to the proxy: a refusal there is the proxy's.
  if (proxy && code && PROXY_UNREACHABLE.has(code)) {
    return proxyUnreachable(proxy.name, proxy.variable, reason, error);
  }
  return unreachable(url.origin, reason, error);
}

/** The error codes along the cause chain, outermost first. */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let cause = error, depth = 0; cause && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    cause = (cause as { cause?: unknown }).cause;
  }
  return codes;
}

/** Most a certificate bundle may be; a system bundle is a few hundred KB. */
const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

/** The certificates NODE_EXTRA_CA_CERTS and SSL_CERT_FILE name, added to the built-in ones. */
export async function loadCertificates(env: Env): Promise<string[]> {
  const files = certificateFiles(env);
  if (files.length === 0) return [];
  const { readFileIfExists } = await import("../runtime/fs.ts");
  const certificates: string[] = [];
  for (const file of files) {
    const read = await readFileIfExists(file).catch(() => null);
    if (!read || read.text.length > MAX_CA_FILE_BYTES) {
      throw unreadableCertificates(file);
    }
    certificates.push(...pemCertificates(read.text, file));
  }
  return certificates;
}

/** A body up to this size, of a declared length, is read at once even where it could be streamed. */
export const AT_ONCE_BYTES = 64 * 1024;

/**
 * Whether the body's length is declared, at most `limit`, and what will be read: not encoded (the
 * runtime unpacks gzip or br to any length, whatever Content-Length said). HTTP's framing then ends
 * the body at that length, so the runtime may read it whole, without a stream to pass it through
 * (npm run bench, with a session: asking for the stream alone costs a command 0.1 ms).
 */
export function declaredWithin(response: Response, limit: number): boolean {
  const declared = response.headers.get("content-length");
  const encoding = response.headers.get("content-encoding");
  return declared !== null && /^\d{1,12}$/.test(declared) && Number(declared) <= limit && (encoding === null || encoding.trim().toLowerCase() === "identity");
}

async function readLimited(response: Response, url: URL): Promise<Uint8Array<ArrayBuffer> | null> {
  if (declaredWithin(response, MAX_BODY_BYTES)) return (await response.bytes()) as Uint8Array<ArrayBuffer>;
  if (!response.body) return null;
  const declared = Number(response.headers.get("content-length"));
  const tooLarge = () => responseTooLarge(url.origin);
  if (declared > MAX_BODY_BYTES) {
    await response.body.cancel();
    throw tooLarge();
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return joinChunks(chunks, size);
}

/** The pieces of a body read one by one, as one array of `size` bytes (their sum). */
export function joinChunks(chunks: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ConnectionRefused: "connection refused",
  ECONNRESET: "connection reset",
  ConnectionClosed: "connection closed",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** Failures of the first hop, which is the proxy when there is one. */
const PROXY_UNREACHABLE = new Set(["ECONNREFUSED", "ConnectionRefused", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);
