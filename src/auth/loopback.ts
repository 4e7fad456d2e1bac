import type { Runtime } from "../runtime/index.ts";
import {
  type CallbackPage,
  finishedPage,
  forbiddenHostPage,
  methodNotAllowedPage,
  notFoundPage,
  renderPage,
  wrongStatePage,
  failedPage,
} from "./pages.ts";

export const CALLBACK_PATH = "/callback";

/** The one authorization response whose state matched, and the way to answer the browser that brought it. */
export interface CallbackRequest {
  params: URLSearchParams;
  /** Sends the page the browser shows; the server stops after the first answer. */
  answer(page: CallbackPage): void;
}

/** The loopback redirect receiver of RFC 8252 §7.3: 127.0.0.1, an ephemeral port, one path. */
export interface CallbackServer {
  readonly port: number;
  readonly redirectUri: string;
  /** Resolves with the first request that carries the expected state; stray requests never settle it. */
  readonly callback: Promise<CallbackRequest>;
  /**
   * Answers a pending browser (when there is one) and stops listening; resolves once the answer is
   * written, so the process may exit right after. Safe to call twice.
   */
  close(page?: CallbackPage): Promise<void>;
}

const SECURITY_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'",
} as const;

export function pageResponse(page: CallbackPage, extraHeaders: Record<string, string> = {}): Response {
  return new Response(renderPage(page), { status: page.status, headers: { ...SECURITY_HEADERS, ...extraHeaders } });
}

/** Compares secrets without an early exit, so response timing says nothing about how much matched. */
export function constantTimeEqual(actual: string, expected: string): boolean {
  const a = new TextEncoder().encode(actual);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i]!;
  return difference === 0;
}

/** Only Host headers naming our own socket are answered: a rebound DNS name never is. */
export function isOwnHost(host: string | null, port: number): boolean {
  if (!host) return false;
  const value = host.toLowerCase();
  return value === `127.0.0.1:${port}` || value === `localhost:${port}`;
}

export function startCallbackServer(serve: Runtime["serve"], expectedState: string): CallbackServer {
  let deliver!: (request: CallbackRequest) => void;
  const callback = new Promise<CallbackRequest>((resolve) => (deliver = resolve));
  let delivered = false;
  let pendingAnswer: ((page: CallbackPage) => void) | undefined;
  let stopped: Promise<void> | undefined;
  let port = 0;

  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      if (!isOwnHost(request.headers.get("host"), port)) return pageResponse(forbiddenHostPage());
      if (url.pathname !== CALLBACK_PATH) return pageResponse(notFoundPage());
      if (request.method !== "GET") return pageResponse(methodNotAllowedPage(), { allow: "GET" });
      const state = url.searchParams.get("state");
      if (state === null || !constantTimeEqual(state, expectedState)) return pageResponse(wrongStatePage());
      if (delivered) return pageResponse(finishedPage());
      delivered = true;
      return new Promise<Response>((resolve) => {
        pendingAnswer = (page) => {
          pendingAnswer = undefined;
          // The last response on this server: no keep-alive, so the browser does not retry on the closed port.
          resolve(pageResponse(page, { connection: "close" }));
          void stop();
        };
        deliver({ params: url.searchParams, answer: (page) => pendingAnswer?.(page) });
      });
    },
  });
  port = server.port;

  /** Graceful: the listening socket closes now, a response being written is finished first (at most 2 s). */
  function stop(): Promise<void> {
    stopped ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      server.stop().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        () => {
          clearTimeout(timer);
          resolve();
        },
      );
    });
    return stopped;
  }

  return {
    port,
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    callback,
    close(page = failedPage("The sign-in was cancelled in the terminal.")) {
      pendingAnswer?.(page);
      return stop();
    },
  };
}
