import type { Context, Env } from "../context.ts";
import { CliError, sanitize, usageError } from "../errors.ts";
import { assertSecureUrl } from "./server-url.ts";

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
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(seconds > 0)) {
    throw usageError(`PIPEOPS_HTTP_TIMEOUT must be a positive number of seconds, got '${sanitize(raw, 20)}'`, "Unset it or set it to e.g. 30");
  }
  if (seconds > MAX_HTTP_TIMEOUT_SECONDS) {
    throw usageError(`PIPEOPS_HTTP_TIMEOUT must be at most ${MAX_HTTP_TIMEOUT_SECONDS} seconds`, "Unset it or set it to e.g. 30");
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
export function createHttpFetch(ctx: Context): typeof fetch {
  const timeoutSeconds = httpTimeoutSeconds(ctx.env);
  const httpFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    assertSecureUrl(url);
    const retryable = isIdempotent(request.method);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetchWithin(ctx, request.clone(), url, timeoutSeconds);
      } catch (error) {
        if (retryable && attempt < MAX_TRIES && error instanceof CliError && error.code === "network") {
          await ctx.sleep(backoffMs(attempt));
          continue;
        }
        throw error;
      }
      if (retryable && attempt < MAX_TRIES && (response.status === 429 || response.status >= 500)) {
        const wait = retryAfterMs(response.headers.get("retry-after"), ctx.now()) ?? backoffMs(attempt);
        if (wait <= MAX_RETRY_WAIT_MS) {
          await ctx.sleep(wait);
          continue;
        }
      }
      return response;
    }
  };
  return httpFetch as typeof fetch;
}

function backoffMs(attempt: number): number {
  return 250 * 2 ** (attempt - 1);
}

/** One try: headers and the whole body must arrive within the timeout. */
async function fetchWithin(ctx: Context, request: Request, url: URL, timeoutSeconds: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
  try {
    const response = await ctx.fetch(request, { signal: controller.signal, redirect: "manual" });
    const body = await readLimited(response, url);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (controller.signal.aborted) {
      throw new CliError("timeout", `${url.origin} did not respond within ${timeoutSeconds} s`, undefined, { cause: error });
    }
    throw new CliError("network", `could not reach ${url.origin}: ${describeNetworkError(error)}`, undefined, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

async function readLimited(response: Response, url: URL): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!response.body) return null;
  const declared = Number(response.headers.get("content-length"));
  const tooLarge = () => new CliError("server", `the response from ${url.origin} is too large (over 1 MiB)`);
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
  CERT_HAS_EXPIRED: "TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS certificate is self-signed",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate could not be verified",
};

function describeNetworkError(error: unknown): string {
  for (let cause = error, depth = 0; cause && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
    cause = (cause as { cause?: unknown }).cause;
  }
  return "network error";
}
