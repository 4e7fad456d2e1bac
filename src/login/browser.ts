/**
 * Browser login: the authorization code grant with PKCE (RFC 7636) and a loopback redirect
 * (RFC 8252 §7.3). The response arrives at the callback server or, for users without a working
 * redirect (SSH), pasted on stdin: whichever comes first wins, and a wrong paste (another login's
 * address, a typo the server refuses) is explained and asked for again.
 */
import * as oauth from "oauth4webapi";
import type { Context } from "../context.ts";
import { CliError, PORTS_TAKEN_HINT, portsTakenLine, sanitize } from "../errors.ts";
import { authorizationUrl, checkAuthorizationResponse, codeGrantRequest, processCodeResponse } from "../oauth/code.ts";
import { type PrivateFile, privateTempFile } from "../runtime/fs.ts";
import type { ServerConnection } from "../server/connect.ts";
import type { Authorization, IssuedTokens } from "../server/dialect.ts";
import { type CallbackRequest, LOCALHOST_PORTS, startCallbackServer } from "./loopback.ts";
import { type CallbackPage, deniedPage, failedPage, pasteAddressPage, startPage, successPage } from "./pages.ts";
import { pastedAnswers } from "./paste.ts";
import type { LoginReporter } from "./progress.ts";
import { abortable } from "./wait.ts";

export interface AuthorizationCodeLoginOptions {
  conn: ServerConnection;
  scope: string;
  /** Open the browser (true), or print the URL and also accept a pasted answer on stdin (false). */
  openBrowser: boolean;
  reporter: LoginReporter;
  signal: AbortSignal;
  deadline: number;
}

/** What the terminal says when a token came on the callback, before the paste prompt. */
export const TOKEN_ON_CALLBACK = "The browser handed over a token: paste the address it shows, to confirm it is yours and not another local user's.";

/** The page the browser shows for how the login ended. */
function pageFor(error: unknown): CallbackPage {
  if (error instanceof CliError && error.code === "auth_denied") return error.reason === "access_denied" ? deniedPage() : deniedPage(error.message);
  if (error instanceof CliError && error.code === "interrupted") return failedPage("The sign-in was cancelled in the terminal.");
  if (error instanceof CliError && error.code === "auth_timeout") return failedPage("The CLI stopped waiting (time limit reached).");
  return failedPage(error instanceof Error ? sanitize(error.message, 200) : "unexpected error");
}

/**
 * Runs the whole grant and returns the tokens; the callback server is closed on every path. A code
 * that came from the browser and is refused ends the login; a pasted one is asked for again.
 */
export async function authorizationCodeLogin(ctx: Context, options: AuthorizationCodeLoginOptions): Promise<IssuedTokens> {
  const { conn, reporter, signal } = options;
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const server = startCallbackServer(ctx.serve, state, conn.dialect.redirect);
  let browser: CallbackRequest | undefined;
  let finished = false;
  let startFile: PrivateFile | undefined;
  try {
    const url = authorizationUrl(conn, { redirectUri: server.redirectUri, scope: options.scope, state, codeChallenge }).href;
    const fromBrowser = server.callback.then((request) => {
      browser = request;
      return request.params;
    });
    /**
     * An authorization response, from the browser or pasted: checked, redeemed, and the browser told.
     * A token on the callback is not taken from it: a state is weak proof of who sent it (on WSL and
     * Windows the start address is readable by every local user, if only once). The browser is
     * asked to paste its address instead; a paste is the user's own act. Undefined: wait on.
     */
    const complete = async (params: URLSearchParams, pasted: boolean): Promise<IssuedTokens | undefined> => {
      const granted = await checkAuthorizationResponse(conn, params, state);
      if ("token" in granted && !pasted) {
        browser?.answer(pasteAddressPage());
        reporter.askForPaste(TOKEN_ON_CALLBACK);
        return undefined;
      }
      const tokens = await redeem(conn, granted, server.redirectUri, codeVerifier, signal);
      browser?.answer(successPage());
      return tokens;
    };
    let fromCallback: Promise<{ params: URLSearchParams; pasted: false }> | undefined = fromBrowser.then((params) => ({ params, pasted: false }));
    // Awaited below in every flow that can make it fail; never an unhandled rejection meanwhile.
    fromCallback.catch(() => {});
    // Said before the browser opens, as doctor says it: the sign-in may refuse a port it does not know.
    if (conn.dialect.redirect === "localhost" && !(LOCALHOST_PORTS as readonly number[]).includes(server.port)) {
      reporter.notice(`${portsTakenLine(server.port)}\n${PORTS_TAKEN_HINT}`);
    }
    if (options.openBrowser) {
      reporter.browserUrl(url);
      // The browser's argv is every local user's to read: it gets an address that holds no secret of the sign-in.
      let address: string;
      if (ctx.platform === "win32" || ctx.isWsl()) address = server.serveStart(url);
      else {
        startFile = await privateTempFile("sign-in.html", startPage(url));
        address = startFile.url;
      }
      // A browser that fails to start is not an error: the URL is on screen, and the user is told.
      void ctx.openBrowser(address).then(
        (opened) => opened || finished || reporter.notice("Could not open a browser; open the URL above"),
        () => finished || reporter.notice("Could not open a browser; open the URL above"),
      );
      reporter.waiting(options.deadline);
      const tokens = await complete(await abortable(fromBrowser, signal), false);
      if (tokens) return tokens;
      // The callback answers once: from here on, only a paste.
      fromCallback = undefined;
    } else {
      reporter.manualUrl(url, { acceptsPaste: true });
      reporter.waiting(options.deadline);
    }
    const pasted = pastedAnswers(ctx, conn, state, reporter);
    for (;;) {
      const next = await abortable(Promise.race([...(fromCallback ? [fromCallback] : []), pasted.next()]), signal);
      if (!next.pasted) fromCallback = undefined;
      try {
        const tokens = await complete(next.params, next.pasted);
        if (tokens) return tokens;
      } catch (error) {
        // A typo, or a code already used: say so and wait for another paste (or the browser).
        if (!next.pasted || !(error instanceof CliError) || (error.code !== "auth_denied" && error.code !== "server")) throw error;
        reporter.notice(`Not accepted: ${error.message}. Paste the address again.`);
      }
    }
  } catch (error) {
    browser?.answer(pageFor(error));
    throw error;
  } finally {
    finished = true;
    await Promise.all([server.close(), startFile?.remove()]);
  }
}

/** Exchanges the code, or takes a token handed over on the callback as it is. */
async function redeem(conn: ServerConnection, granted: Authorization, redirectUri: string, codeVerifier: string, signal: AbortSignal): Promise<IssuedTokens> {
  if ("token" in granted) return { accessToken: granted.token };
  const response = await abortable(codeGrantRequest(conn, granted.code, redirectUri, codeVerifier), signal);
  return abortable(processCodeResponse(conn, response), signal);
}
