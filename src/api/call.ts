/**
 * One `pipeops api` call with the session's token: redirects followed only within the API's origin
 * (the token never leaves it), the body streamed, and a refused token (401, or production's 419 for
 * an ended session) refreshed once and the request tried once more, as every other command does.
 */
import type { Context } from "../context.ts";
import { CliError, invalidToken, invalidTokenFor, sessionEnded, tokenExpired, tooManyRedirects } from "../errors.ts";
import { createHttpFetch } from "../server/http.ts";
import { canRefresh, isExpired, type Session } from "../session/session.ts";

export interface ApiRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Uint8Array;
}

export interface ApiAnswer {
  readonly response: Response;
  /** Where the answer came from, after redirects on the API's origin. */
  readonly url: URL;
  /** A redirect elsewhere, which was not followed. */
  readonly offOrigin?: URL;
}

const MAX_REDIRECTS = 5;

/** The request with `token`, following redirects that stay on the API's origin. */
async function send(http: typeof fetch, request: ApiRequest, token: string): Promise<ApiAnswer> {
  let { method, url, body } = request;
  for (let hop = 0; ; hop++) {
    const headers = new Headers(request.headers as [string, string][]);
    headers.set("authorization", `Bearer ${token}`);
    if (!body) headers.delete("content-type");
    const response = await http(url, { method, headers, body: body as BodyInit | undefined });
    const location = response.status >= 300 && response.status < 400 ? response.headers.get("location") : null;
    if (location === null) return { response, url };
    const next = new URL(location, url);
    if (next.origin !== request.url.origin) return { response, url, offOrigin: next };
    await response.body?.cancel();
    if (hop === MAX_REDIRECTS) throw tooManyRedirects(url.origin);
    // 303 always, and 301 and 302 for anything but GET and HEAD, go on as a GET without the body (RFC 9110 §15.4).
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method !== "GET" && method !== "HEAD")) {
      method = method === "HEAD" ? "HEAD" : "GET";
      body = undefined;
    }
    url = next;
  }
}

/** A refusal of the token as the error the session code knows: one refresh may mend it. */
async function refusalAsError(answer: ApiAnswer): Promise<ApiAnswer> {
  const { status } = answer.response;
  if (status !== 401 && status !== 419) return answer;
  await answer.response.body?.cancel();
  throw status === 419 ? sessionEnded() : invalidToken();
}

/**
 * The call, with the session's token kept fresh. A token that cannot be refreshed (from the
 * environment, a service token, a session without a refresh token) is sent as it is, with no other
 * request; a refused one is reported as expired, or for a variable's token, as invalid, naming it.
 */
export async function callApi(ctx: Context, session: Session, request: ApiRequest): Promise<ApiAnswer> {
  const http = createHttpFetch(ctx, { stream: true });
  const attempt = async (token: string) => refusalAsError(await send(http, request, token));
  try {
    // What refreshing needs (the server's metadata, oauth4webapi, the lock) loads only for a session that can.
    if (canRefresh(session)) return (await (await import("../session/authenticated.ts")).withSession(ctx, session, attempt)).value;
    if (isExpired(session, ctx.now())) throw tokenExpired();
    return await attempt(session.accessToken);
  } catch (error) {
    if (!(error instanceof CliError && error.code === "invalid_token")) throw error;
    throw session.source === "env" ? invalidTokenFor(session.variable) : tokenExpired(error);
  }
}
