/**
 * Authorization code grant with PKCE (RFC 7636) and a loopback redirect (RFC 8252 §7.3), through
 * oauth4webapi. The response arrives at the callback server or, for users without a working
 * redirect (SSH), as a pasted URL or code on stdin: whichever comes first wins.
 */
import * as oauth from "oauth4webapi";
import type { Context } from "../context.ts";
import { CliError, sanitize } from "../errors.ts";
import { type CallbackRequest, constantTimeEqual, startCallbackServer } from "./loopback.ts";
import { type CallbackPage, deniedPage, failedPage, successPage } from "./pages.ts";
import { type ServerConnection, oauthError } from "../api/server.ts";
import { serverName } from "../api/server-url.ts";
import { type LoginReporter, RETRY_HINT, abortable } from "./wait.ts";

export interface AuthorizationCodeLoginOptions {
  conn: ServerConnection;
  scope: string;
  /** Open the browser (true), or print the URL and also accept a pasted answer on stdin (false). */
  openBrowser: boolean;
  reporter: LoginReporter;
  signal: AbortSignal;
  deadline: number;
}

export const authDenied = (detail?: string) =>
  new CliError("auth_denied", `authentication was denied${detail ? ` (${detail})` : ""}`, RETRY_HINT);

/** The authorization request URL (RFC 6749 §4.1.1 with RFC 7636 §4.3). */
export function authorizationUrl(
  conn: ServerConnection,
  params: { redirectUri: string; scope: string; state: string; codeChallenge: string },
): URL {
  const endpoint = conn.as.authorization_endpoint;
  if (!endpoint) throw new CliError("server", `${serverName(conn.apiUrl)} does not advertise an authorization endpoint`);
  const methods = conn.as.code_challenge_methods_supported;
  if (methods && !methods.includes("S256")) {
    throw new CliError("server", `${serverName(conn.apiUrl)} does not support PKCE with S256, which the CLI requires`);
  }
  const url = new URL(endpoint);
  url.searchParams.set("client_id", conn.client.client_id);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("redirect_uri", params.redirectUri);
  url.searchParams.set("scope", params.scope);
  url.searchParams.set("state", params.state);
  url.searchParams.set("code_challenge", params.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  return url;
}

/** An authorization response handed over by the user: a redirect URL, or just the code. */
export type PastedAnswer = { kind: "params"; params: URLSearchParams } | { kind: "wrong_state" } | { kind: "unrecognised" };

export function parsePastedAnswer(line: string, conn: ServerConnection, expectedState: string): PastedAnswer {
  const text = line.trim();
  if (text === "") return { kind: "unrecognised" };
  const asUrl = URL.canParse(text) ? new URL(text) : undefined;
  const query = asUrl ? asUrl.searchParams : text.includes("=") ? new URLSearchParams(text.replace(/^\?/, "")) : undefined;
  if (query && (query.has("code") || query.has("error"))) {
    const state = query.get("state");
    if (state === null || !constantTimeEqual(state, expectedState)) return { kind: "wrong_state" };
    return { kind: "params", params: query };
  }
  if (asUrl || !/^[\x21-\x7e]{1,2048}$/.test(text)) return { kind: "unrecognised" };
  // A bare code typed by the user comes from no redirect, so there is no state or iss to check;
  // add the expected ones so oauth4webapi's response validation applies unchanged.
  const params = new URLSearchParams({ code: text, state: expectedState });
  if (conn.as.authorization_response_iss_parameter_supported) params.set("iss", conn.as.issuer);
  return { kind: "params", params };
}

/** Reads stdin lines until one is an authorization response for this login; never settles at end of input. */
async function pastedResponse(ctx: Context, options: AuthorizationCodeLoginOptions, state: string): Promise<URLSearchParams> {
  for (;;) {
    const line = await ctx.stdin.readLine();
    if (line === null) return new Promise<never>(() => {});
    const answer = parsePastedAnswer(line, options.conn, state);
    if (answer.kind === "params") return answer.params;
    if (options.signal.aborted) return new Promise<never>(() => {});
    options.reporter.notice(
      answer.kind === "wrong_state"
        ? "That address belongs to a different sign-in; paste the one from this login."
        : "That is not a sign-in address or code; paste the whole address from the browser.",
    );
  }
}

/** Validates the authorization response (state, RFC 9207 iss, error) into code-grant parameters. */
export function checkAuthorizationResponse(conn: ServerConnection, params: URLSearchParams, state: string): URLSearchParams {
  let grant: URLSearchParams;
  try {
    grant = oauth.validateAuthResponse(conn.as, conn.client, params, state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      if (error.error === "access_denied") throw authDenied();
      const detail = error.error_description ? `: ${sanitize(error.error_description, 200)}` : "";
      throw new CliError("auth_denied", `authentication failed (${sanitize(error.error, 60)}${detail})`, RETRY_HINT, { cause: error });
    }
    if (error instanceof oauth.OperationProcessingError && /"iss"/.test(error.message)) {
      throw new CliError("server", `the authorization response did not come from ${serverName(conn.apiUrl)} (issuer mismatch)`, RETRY_HINT, {
        cause: error,
      });
    }
    throw oauthError(error, serverName(conn.apiUrl));
  }
  if (!grant.get("code")) {
    throw new CliError("server", `the authorization response from ${serverName(conn.apiUrl)} carries no code`, RETRY_HINT);
  }
  return grant;
}

/** The page the browser shows for how the login ended. */
function pageFor(error: unknown): CallbackPage {
  if (error instanceof CliError && error.code === "auth_denied") {
    return error.message === authDenied().message ? deniedPage() : deniedPage(error.message);
  }
  if (error instanceof CliError && error.code === "interrupted") return failedPage("The sign-in was cancelled in the terminal.");
  if (error instanceof CliError && error.code === "auth_timeout") return failedPage("The CLI stopped waiting (time limit reached).");
  return failedPage(error instanceof Error ? sanitize(error.message, 200) : "unexpected error");
}

/** Runs the whole grant and returns the token response; the callback server is closed on every path. */
export async function authorizationCodeLogin(ctx: Context, options: AuthorizationCodeLoginOptions): Promise<oauth.TokenEndpointResponse> {
  const { conn, reporter, signal } = options;
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const server = startCallbackServer(ctx.runtime.serve, state);
  let browser: CallbackRequest | undefined;
  try {
    const url = authorizationUrl(conn, { redirectUri: server.redirectUri, scope: options.scope, state, codeChallenge }).href;
    const sources: Promise<URLSearchParams>[] = [
      server.callback.then((request) => {
        browser = request;
        return request.params;
      }),
    ];
    if (options.openBrowser) {
      reporter.browserUrl(url);
      // A browser that fails to start is not an error: the URL is on screen.
      await ctx.openBrowser(url).catch(() => false);
    } else {
      reporter.manualUrl(url, { acceptsPaste: true });
      sources.push(pastedResponse(ctx, options, state));
    }
    reporter.waiting(options.deadline);
    const params = await abortable(Promise.race(sources), signal);
    const grant = checkAuthorizationResponse(conn, params, state);
    const tokens = await abortable(exchangeCode(conn, grant, server.redirectUri, codeVerifier), signal);
    browser?.answer(successPage());
    return tokens;
  } catch (error) {
    browser?.answer(pageFor(error));
    throw error;
  } finally {
    await server.close();
  }
}

async function exchangeCode(
  conn: ServerConnection,
  params: URLSearchParams,
  redirectUri: string,
  codeVerifier: string,
): Promise<oauth.TokenEndpointResponse> {
  try {
    const response = await oauth.authorizationCodeGrantRequest(conn.as, conn.client, conn.clientAuth, params, redirectUri, codeVerifier, conn.http);
    return await oauth.processAuthorizationCodeResponse(conn.as, conn.client, response);
  } catch (error) {
    throw oauthError(error, serverName(conn.apiUrl));
  }
}
