/**
 * Authorization code grant with PKCE (RFC 7636) and a loopback redirect (RFC 8252 §7.3), through
 * oauth4webapi. The response arrives at the callback server or, for users without a working
 * redirect (SSH), as an address or code pasted on stdin: whichever comes first wins, and a wrong
 * paste (another login's address, a typo the server refuses) is explained and asked for again.
 */
import * as oauth from "oauth4webapi";
import type { Context } from "../context.ts";
import { CliError, RETRY_HINT, sanitize } from "../errors.ts";
import { type IssuedTokens, processTokenResponse } from "../oauth/tokens.ts";
import { oauthError, type ServerConnection } from "../server/connect.ts";
import { serverName } from "../server/url.ts";
import { type CallbackRequest, sameState, startCallbackServer } from "./loopback.ts";
import { type CallbackPage, deniedPage, failedPage, successPage } from "./pages.ts";
import { abortable, type LoginReporter } from "./wait.ts";

export interface AuthorizationCodeLoginOptions {
  conn: ServerConnection;
  scope: string;
  /** Open the browser (true), or print the URL and also accept a pasted answer on stdin (false). */
  openBrowser: boolean;
  reporter: LoginReporter;
  signal: AbortSignal;
  deadline: number;
}

export const authDenied = (detail?: string) => new CliError("auth_denied", `authentication was denied${detail ? ` (${detail})` : ""}`, RETRY_HINT);

/** The authorization request URL (RFC 6749 §4.1.1 with RFC 7636 §4.3), plus what the server asks for besides. */
export function authorizationUrl(conn: ServerConnection, params: { redirectUri: string; scope: string; state: string; codeChallenge: string }): URL {
  const endpoint = conn.as.authorization_endpoint;
  if (!endpoint) throw new CliError("server", `${serverName(conn.apiUrl)} does not advertise an authorization endpoint`);
  const methods = conn.as.code_challenge_methods_supported;
  if (methods && !methods.includes("S256")) {
    throw new CliError("server", `${serverName(conn.apiUrl)} does not support PKCE with S256, which the CLI requires`);
  }
  const url = new URL(endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", conn.client.client_id);
  url.searchParams.set("redirect_uri", params.redirectUri);
  url.searchParams.set("scope", params.scope);
  url.searchParams.set("state", params.state);
  url.searchParams.set("code_challenge", params.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  for (const [name, value] of Object.entries(conn.authorizationParameters)) url.searchParams.set(name, value);
  return url;
}

/** An authorization response handed over by the user: a redirect URL, or just the code. */
export type PastedAnswer = { kind: "params"; params: URLSearchParams } | { kind: "wrong_state" } | { kind: "unrecognised" };

/** What a response carries: a code or (PipeOps) the token itself, or an error. */
const RESPONSE_KEYS = ["code", "error", "token", "access_token"] as const;

export function parsePastedAnswer(line: string, conn: ServerConnection, expectedState: string): PastedAnswer {
  const text = line.trim();
  if (text === "") return { kind: "unrecognised" };
  const asUrl = URL.canParse(text) ? new URL(text) : undefined;
  const query = asUrl ? asUrl.searchParams : text.includes("=") ? new URLSearchParams(text.replace(/^\?/, "")) : undefined;
  if (query && RESPONSE_KEYS.some((key) => query.has(key))) {
    const state = query.get("state");
    if (state === null || !sameState(state, expectedState)) return { kind: "wrong_state" };
    return { kind: "params", params: query };
  }
  if (asUrl || !/^[\x21-\x7e]{1,2048}$/.test(text)) return { kind: "unrecognised" };
  // A bare code typed by the user comes from no redirect, so there is no state or iss to check;
  // add the expected ones so the response validation applies unchanged.
  const params = new URLSearchParams({ code: text, state: expectedState });
  if (conn.as.authorization_response_iss_parameter_supported) params.set("iss", conn.as.issuer);
  return { kind: "params", params };
}

/** What an authorization response grants: a code to exchange, or (PipeOps) the access token itself. */
export type Authorization = { code: URLSearchParams } | { token: string };

/**
 * Validates the authorization response: state (padding ignored), error, and for standards servers
 * the RFC 9207 iss through oauth4webapi. PipeOps may put the token itself on the callback, which
 * oauth4webapi refuses as an implicit grant; it is taken only with a matching state.
 */
export function checkAuthorizationResponse(conn: ServerConnection, params: URLSearchParams, state: string): Authorization {
  const server = serverName(conn.apiUrl);
  if (conn.kind === "pipeops") {
    const returned = params.get("state");
    if (returned === null || !sameState(returned, state))
      throw new CliError("server", `the authorization response from ${server} is for another sign-in (state mismatch)`, RETRY_HINT);
    const error = params.get("error");
    if (error) throw refused(error, params.get("error_description"));
    const token = params.get("token") || params.get("access_token");
    if (token) return { token };
    // The padding-free state we sent, so the code grant sees exactly what it expects.
    params.set("state", state);
  }
  let grant: URLSearchParams;
  try {
    grant = oauth.validateAuthResponse(conn.as, conn.client, params, state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) throw refused(error.error, error.error_description);
    if (error instanceof oauth.OperationProcessingError && /"iss"/.test(error.message)) {
      throw new CliError("server_changed", `the authorization response did not come from ${server} (issuer mismatch)`, RETRY_HINT, { cause: error });
    }
    throw oauthError(error, server);
  }
  if (!grant.get("code")) throw new CliError("server", `the authorization response from ${server} carries no code`, RETRY_HINT);
  return { code: grant };
}

/** An error on the authorization response (RFC 6749 §4.1.2.1). */
function refused(error: string, description: string | null | undefined): CliError {
  if (error === "access_denied") return authDenied();
  const detail = description ? `: ${sanitize(description, 200)}` : "";
  return new CliError("auth_denied", `authentication failed (${sanitize(error, 60)}${detail})`, RETRY_HINT);
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

/** Why a pasted line was not taken: one line, then the CLI waits for another. */
const PASTE_NOTICES = {
  wrong_state: "That address belongs to a different sign-in; paste the one from this login.",
  unrecognised: "That is not a sign-in address or code; paste the whole address from the browser's address bar.",
} as const;

/**
 * Runs the whole grant and returns the tokens; the callback server is closed on every path. A code
 * that came from the browser and is refused ends the login; a pasted one is asked for again.
 */
export async function authorizationCodeLogin(ctx: Context, options: AuthorizationCodeLoginOptions): Promise<IssuedTokens> {
  const { conn, reporter, signal } = options;
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const server = startCallbackServer(ctx.serve, state, conn.kind === "pipeops" ? "localhost" : "127.0.0.1");
  let browser: CallbackRequest | undefined;
  let finished = false;
  try {
    const url = authorizationUrl(conn, { redirectUri: server.redirectUri, scope: options.scope, state, codeChallenge }).href;
    const fromBrowser = server.callback.then((request) => {
      browser = request;
      return request.params;
    });
    // An authorization response, from the browser or pasted: checked, redeemed, and the browser told.
    const complete = async (params: URLSearchParams): Promise<IssuedTokens> => {
      const tokens = await redeem(conn, checkAuthorizationResponse(conn, params, state), server.redirectUri, codeVerifier, signal);
      browser?.answer(successPage());
      return tokens;
    };
    if (options.openBrowser) {
      reporter.browserUrl(url);
      // A browser that fails to start is not an error: the URL is on screen, and the user is told.
      void ctx.openBrowser(url).then(
        (opened) => opened || finished || reporter.notice("Could not open a browser; open the URL above"),
        () => finished || reporter.notice("Could not open a browser; open the URL above"),
      );
      reporter.waiting(options.deadline);
      return await complete(await abortable(fromBrowser, signal));
    }
    reporter.manualUrl(url, { acceptsPaste: true });
    reporter.waiting(options.deadline);
    const pasted = pastedAnswers(ctx, conn, state, reporter);
    for (;;) {
      const next = await abortable(Promise.race([fromBrowser.then((params) => ({ params, pasted: false })), pasted.next()]), signal);
      try {
        return await complete(next.params);
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
    await server.close();
  }
}

/** Lines pasted on stdin that look like an answer for this login; the others are explained. Never ends at end of input. */
function pastedAnswers(
  ctx: Context,
  conn: ServerConnection,
  state: string,
  reporter: LoginReporter,
): { next(): Promise<{ params: URLSearchParams; pasted: true }> } {
  let reading: Promise<{ params: URLSearchParams; pasted: true }> | undefined;
  const read = async (): Promise<{ params: URLSearchParams; pasted: true }> => {
    for (;;) {
      const line = await ctx.stdin.readLine();
      if (line === null) return new Promise<never>(() => {});
      const answer = parsePastedAnswer(line, conn, state);
      if (answer.kind === "params") return { params: answer.params, pasted: true };
      reporter.notice(PASTE_NOTICES[answer.kind]);
    }
  };
  return {
    // One read at a time: a race lost to the browser keeps its read for the next round.
    next() {
      reading ??= read();
      const current = reading;
      void current.then(() => {
        if (reading === current) reading = undefined;
      });
      return current;
    },
  };
}

/** Exchanges the code (RFC 6749 §4.1.3), or takes a token handed over on the callback as it is. */
async function redeem(conn: ServerConnection, granted: Authorization, redirectUri: string, codeVerifier: string, signal: AbortSignal): Promise<IssuedTokens> {
  if ("token" in granted) return { accessToken: granted.token };
  const server = serverName(conn.apiUrl);
  let response: Response;
  try {
    response = await abortable(
      oauth.authorizationCodeGrantRequest(conn.as, conn.client, conn.clientAuth, granted.code, redirectUri, codeVerifier, conn.http),
      signal,
    );
  } catch (error) {
    throw oauthError(error, server);
  }
  return abortable(processTokenResponse(conn, "authorization_code", response), signal);
}
