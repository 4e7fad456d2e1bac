import { startAskedTwice } from "../errors.ts";
import { errorCode } from "../runtime/fs.ts";
import type { LocalServer, Runtime } from "../runtime/index.ts";
import type { RedirectStyle } from "../server/dialect.ts";
import { sameState } from "../server/state.ts";
import {
  type CallbackPage,
  failedPage,
  finishedPage,
  forbiddenHostPage,
  methodNotAllowedPage,
  notFoundPage,
  renderPage,
  startTakenPage,
  wrongStatePage,
} from "./pages.ts";

export const CALLBACK_PATH = "/callback";
export const START_PATH = "/start";
/** How long after the start address was served a callback waits: time for a browser to ask for it (a second asking ends the login). */
export const START_HOLD_MS = 5_000;

/** The one authorization response whose state matched, and the way to answer the browser that brought it. */
export interface CallbackRequest {
  params: URLSearchParams;
  /** Sends the page the browser shows; the server stops after the first answer. */
  answer(page: CallbackPage): void;
}

/**
 * The loopback redirect receiver: one path on the loopback interface only, never all interfaces.
 * For a standards server, RFC 8252 §7.3: http://127.0.0.1 on an ephemeral port. For the PipeOps
 * API, what its public client registers: http://localhost:<port>/callback, on 127.0.0.1 and ::1
 * (a browser may resolve localhost to either), trying the official client's ports first
 * (PipeOpsHQ/pipeops-cli internal/auth/oauth.go, findAvailablePort) and then an ephemeral one.
 */
export interface CallbackServer {
  readonly port: number;
  readonly redirectUri: string;
  /**
   * Resolves with the first request that carries the expected state; stray requests never settle
   * it. Rejects when the start address (serveStart) is asked for a second time.
   */
  readonly callback: Promise<CallbackRequest>;
  /**
   * Serves `url` once, as a redirect from START_PATH, and returns that address: for browsers that
   * cannot read the user's files (WSL, Windows), so the browser's argv holds this address and not
   * the sign-in's state and challenge. Anyone else on this machine may read the address; whoever
   * asks for it second (the user's browser or not) ends the login, so it is never taken over quietly.
   */
  serveStart(url: string): string;
  /**
   * Answers a pending browser (when there is one) and stops listening; resolves once the answer is
   * written, so the process may exit right after. Safe to call twice.
   */
  close(page?: CallbackPage): Promise<void>;
}

/** The official CLI's preferred ports, then any (0). */
export const LOCALHOST_PORTS = [8080, 8085, 8086, 8087, 8088, 8089, 0] as const;

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

/** Only Host headers naming our own socket are answered: a rebound DNS name never is. */
export function isOwnHost(host: string | null, port: number): boolean {
  if (!host) return false;
  const value = host.toLowerCase();
  return value === `127.0.0.1:${port}` || value === `localhost:${port}` || value === `[::1]:${port}`;
}

/**
 * Listens on every address of the style, on the same port: the first of `ports` free on all of
 * them. An address family the machine does not have (no IPv6) is left out.
 */
function listenAll(serve: Runtime["serve"], style: RedirectStyle, fetch: (request: Request) => Response | Promise<Response>): LocalServer[] {
  const ports = style === "localhost" ? LOCALHOST_PORTS : [0];
  let lastError: unknown;
  for (const wanted of ports) {
    // An ephemeral port free on 127.0.0.1 may be taken on ::1: a few tries.
    for (let tries = wanted === 0 ? 5 : 1; tries > 0; tries--) {
      let v4: LocalServer;
      try {
        v4 = serve({ hostname: "127.0.0.1", port: wanted, fetch });
      } catch (error) {
        lastError = error;
        break;
      }
      if (style === "127.0.0.1") return [v4];
      try {
        return [v4, serve({ hostname: "::1", port: v4.port, fetch })];
      } catch (error) {
        if (errorCode(error) !== "EADDRINUSE") return [v4];
        lastError = error;
        void v4.stop();
      }
    }
  }
  throw lastError;
}

export function startCallbackServer(serve: Runtime["serve"], expectedState: string, style: RedirectStyle = "127.0.0.1"): CallbackServer {
  let deliver!: (request: CallbackRequest) => void;
  let refuse!: (error: unknown) => void;
  const callback = new Promise<CallbackRequest>((resolve, reject) => {
    deliver = resolve;
    refuse = reject;
  });
  let delivered = false;
  let start: { url: string; servedAt?: number } | undefined;
  let refused = false;
  let pendingAnswer: ((page: CallbackPage) => void) | undefined;
  let stopped: Promise<void> | undefined;
  let port = 0;

  const servers = listenAll(serve, style, (request) => {
    const url = new URL(request.url);
    if (!isOwnHost(request.headers.get("host"), port)) return pageResponse(forbiddenHostPage());
    if (url.pathname === START_PATH && start && request.method === "GET") {
      if (start.servedAt === undefined) {
        start.servedAt = Date.now();
        return new Response(null, { status: 302, headers: { location: start.url, "cache-control": "no-store", "referrer-policy": "no-referrer" } });
      }
      refused = true;
      refuse(startAskedTwice());
      void stop();
      return pageResponse(startTakenPage());
    }
    if (url.pathname !== CALLBACK_PATH) return pageResponse(notFoundPage());
    if (request.method !== "GET") return pageResponse(methodNotAllowedPage(), { allow: "GET" });
    const state = url.searchParams.get("state");
    if (state === null || !sameState(state, expectedState)) return pageResponse(wrongStatePage());
    if (delivered) return pageResponse(finishedPage());
    delivered = true;
    return new Promise<Response>((resolve) => {
      pendingAnswer = (page) => {
        pendingAnswer = undefined;
        // The last response on this server: no keep-alive, so the browser does not retry on the closed port.
        resolve(pageResponse(page, { connection: "close" }));
        void stop();
      };
      // Held until the browser has had time to ask for the start address: should someone else have
      // asked first and be this quick, the browser's request, coming second, still ends the login.
      const settle = () => {
        if (refused) pendingAnswer?.(startTakenPage());
        else deliver({ params: url.searchParams, answer: (page) => pendingAnswer?.(page) });
      };
      const wait = start?.servedAt === undefined ? 0 : start.servedAt + START_HOLD_MS - Date.now();
      if (wait > 0) setTimeout(settle, wait);
      else settle();
    });
  });
  port = servers[0]!.port;

  /** Graceful: the listening sockets close now, a response being written is finished first (at most 2 s). */
  function stop(): Promise<void> {
    stopped ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      Promise.allSettled(servers.map((server) => server.stop())).then(done);
    });
    return stopped;
  }

  return {
    port,
    redirectUri: `http://${style}:${port}${CALLBACK_PATH}`,
    callback,
    serveStart(url) {
      start = { url };
      return `http://${style}:${port}${START_PATH}`;
    },
    close(page = failedPage("The sign-in was cancelled in the terminal.")) {
      pendingAnswer?.(refused ? startTakenPage() : page);
      return stop();
    },
  };
}
