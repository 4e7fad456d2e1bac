/**
 * How the CLI talks to one server. A server that publishes standards metadata (RFC 8414, then
 * OpenID Connect Discovery) is used as it describes itself. The PipeOps API publishes none; for it
 * the CLI uses the endpoints the official clients use:
 * - sign-in at `{console}/auth/signin`, with `oauth=true` (PipeOpsHQ/pipeops-cli internal/auth/oauth.go, Login);
 * - `POST {api}/oauth/token` and `GET {api}/oauth/userinfo` (PipeOpsHQ/pipeops-go-sdk pipeops/oauth.go);
 * - `GET {api}/profile/data` (pipeops-go-sdk pipeops/users.go, GetProfile);
 * - no device grant and no revocation endpoint: none is guessed.
 * What discovery learned is remembered for a day (src/server/cache.ts), so a command sends only
 * the requests it needs.
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import type { ServerSettings } from "../config/store.ts";
import type { Context } from "../context.ts";
import { CliError, sanitize } from "../errors.ts";
import { type KnownServer, knownServer, type Metadata, MetadataSchema, rememberServer, type ServerFacts } from "./cache.ts";
import { ServerClock } from "./clock.ts";
import { createHttpFetch } from "./http.ts";
import { statusError } from "./responses.ts";
import { assertSecureUrl, parseServerUrl, serverName } from "./url.ts";

/** The official CLI's public client id and console (PipeOpsHQ/pipeops-cli internal/config/config.go). */
export const DEFAULT_CLIENT_ID = "pipeops_public_client";
export const DEFAULT_CONSOLE_URL = "https://console.pipeops.io";

export type HttpOptions = oauth.HttpRequestOptions<"GET" | "POST", unknown>;

/** Everything needed to talk to one server: its endpoints, our client, the HTTP options, its clock. */
export interface ServerConnection {
  readonly apiUrl: URL;
  /** "standard": it published metadata; "pipeops": it did not, and PipeOps' own endpoints are used. */
  readonly kind: ServerFacts["kind"];
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly clientAuth: oauth.ClientAuth;
  readonly http: HttpOptions;
  /** The server's clock as its responses show it (RFC 9110 Date), starting from what was last seen. */
  readonly clock: ServerClock;
  /** PipeOps' profile endpoint, for `auth me`; standards servers have none. */
  readonly profileEndpoint?: string;
  /** Extra authorization request parameters: PipeOps' console wants `oauth=true`. */
  readonly authorizationParameters: Readonly<Record<string, string>>;
  /** The scopes a server's metadata says it supports, when it says. */
  readonly scopesSupported?: readonly string[];
  /** Whether the endpoints came from the cache, and may have changed since. */
  readonly cached: boolean;
}

export function clientIdOf(ctx: Pick<Context, "env">, settings: ServerSettings = {}): string {
  return ctx.env.PIPEOPS_CLIENT_ID?.trim() || settings.clientId || DEFAULT_CLIENT_ID;
}

/** PIPEOPS_DASHBOARD_URL, else the Go CLI's oauth.dashboard_url, else the production console. */
export function consoleUrlOf(ctx: Pick<Context, "env">, settings: ServerSettings = {}): URL {
  const raw = ctx.env.PIPEOPS_DASHBOARD_URL?.trim() || settings.consoleUrl || DEFAULT_CONSOLE_URL;
  try {
    return parseServerUrl(raw);
  } catch (error) {
    // The same checks as PIPEOPS_API_URL, named for the variable that was wrong.
    if (error instanceof CliError)
      throw new CliError(error.code, error.message.replace("PIPEOPS_API_URL", "PIPEOPS_DASHBOARD_URL"), "Set it to e.g. https://console.pipeops.io");
    throw error;
  }
}

/** A path under the API's base URL (which may have a path of its own). */
function apiEndpoint(apiUrl: URL, path: string): string {
  return new URL(path, apiUrl.href.endsWith("/") ? apiUrl : `${apiUrl.href}/`).href;
}

/** The authorization server the PipeOps API is, as the official clients use it. */
function pipeopsServer(apiUrl: URL, consoleUrl: URL): oauth.AuthorizationServer {
  return {
    issuer: apiUrl.href,
    authorization_endpoint: apiEndpoint(consoleUrl, "auth/signin"),
    token_endpoint: apiEndpoint(apiUrl, "oauth/token"),
    userinfo_endpoint: apiEndpoint(apiUrl, "oauth/userinfo"),
    code_challenge_methods_supported: ["S256"],
  };
}

/** A discovery answer that says "no metadata here", rather than "something is wrong". */
function publishesNone(response: Response): boolean {
  return response.status === 404 || response.status === 405 || response.status === 410;
}

/** RFC 8414 metadata first, then OpenID Connect Discovery; neither means the PipeOps API. */
async function discover(apiUrl: URL, http: HttpOptions): Promise<ServerFacts> {
  const name = serverName(apiUrl);
  for (const algorithm of ["oauth2", "oidc"] as const) {
    const response = await oauth.discoveryRequest(apiUrl, { ...http, algorithm } as oauth.DiscoveryRequestOptions);
    if (publishesNone(response)) {
      await response.body?.cancel();
      continue;
    }
    let as: oauth.AuthorizationServer;
    try {
      as = await oauth.processDiscoveryResponse(apiUrl, response);
    } catch (error) {
      throw oauthError(error, name);
    }
    return { kind: "standard", metadata: checkedMetadata(as, name) };
  }
  return { kind: "pipeops" };
}

function checkedMetadata(as: oauth.AuthorizationServer, name: string): Metadata {
  const checked = v.safeParse(MetadataSchema, Object.fromEntries(Object.keys(MetadataSchema.entries).map((key) => [key, as[key]])));
  if (!checked.success) {
    // Name the key, not valibot's message: that quotes the server's text, escapes included.
    const key = checked.issues[0] ? v.getDotPath(checked.issues[0]) : null;
    throw new CliError("server", `${name} sent invalid server metadata${key ? ` (${key})` : ""}`);
  }
  for (const key of ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "device_authorization_endpoint", "revocation_endpoint"] as const) {
    const value = checked.output[key];
    if (value) assertSecureUrl(new URL(value));
  }
  return checked.output;
}

export interface ConnectOptions {
  /** Ignore what is remembered and ask the server again (its endpoints answered 404, say). */
  relearn?: boolean;
}

/**
 * The connection to a server: from what was learned within a day, else by discovery, which is then
 * remembered. Requests on the connection keep its clock up to date.
 */
export async function connect(ctx: Context, apiUrl: URL, settings: ServerSettings = {}, options: ConnectOptions = {}): Promise<ServerConnection> {
  const name = serverName(apiUrl);
  const known = options.relearn ? undefined : await knownServer(ctx, name);
  const clock = new ServerClock(() => ctx.now(), known?.clockOffsetMs ?? 0);
  const http = {
    [oauth.customFetch]: clock.observing(createHttpFetch(ctx)),
    // Our fetch already refuses plain http:// to anything but loopback (assertSecureUrl).
    [oauth.allowInsecureRequests]: true,
  } as HttpOptions;
  const facts = known?.facts ?? (await discover(apiUrl, http));
  if (!known) await rememberServer(ctx, name, { facts, clockOffsetMs: clock.offsetMs });
  const client = { client_id: clientIdOf(ctx, settings) };
  const common = { apiUrl, client, clientAuth: oauth.None(), http, clock, cached: known !== undefined };
  if (facts.kind === "pipeops") {
    return {
      ...common,
      kind: "pipeops",
      as: pipeopsServer(apiUrl, consoleUrlOf(ctx, settings)),
      profileEndpoint: apiEndpoint(apiUrl, "profile/data"),
      authorizationParameters: { oauth: "true" },
    };
  }
  const { metadata } = facts;
  return {
    ...common,
    kind: "standard",
    as: metadata,
    authorizationParameters: {},
    ...(metadata.scopes_supported ? { scopesSupported: metadata.scopes_supported } : {}),
  };
}

/**
 * Keeps the server's clock offset for the next command when it moved by more than the Date
 * header's precision, so `auth token` can judge expiry without asking.
 */
export async function rememberClock(ctx: Context, conn: ServerConnection, known?: KnownServer): Promise<void> {
  const name = serverName(conn.apiUrl);
  const before = known ?? (await knownServer(ctx, name));
  if (!before || Math.abs(before.clockOffsetMs - conn.clock.offsetMs) <= 2_000) return;
  await rememberServer(ctx, name, { facts: before.facts, clockOffsetMs: conn.clock.offsetMs });
}

/** Forgets what was learned of the server, after its endpoints answered 404 or its issuer changed. */
export async function forgetServer(ctx: Context, apiUrl: URL): Promise<void> {
  await rememberServer(ctx, serverName(apiUrl), undefined);
}

/** Maps oauth4webapi's errors to one-line CliErrors; CliErrors pass through unchanged. */
export function oauthError(error: unknown, server: string): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    // error_description is whatever the server sent: only a string is shown.
    const detail = typeof error.error_description === "string" && error.error_description ? `: ${sanitize(error.error_description)}` : "";
    return new CliError("server", `${server} rejected the request (${sanitize(error.error, 60)}${detail})`, undefined, { cause: error });
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new CliError("server", `${server} refused the request (HTTP ${error.status})`, undefined, { cause: error });
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new CliError("server", `${server} sent a response the CLI does not support (${sanitize(error.message, 80)})`, undefined, { cause: error });
  }
  if (error instanceof oauth.OperationProcessingError) {
    // After the HTTP client's retries: say that the server is down or busy, not that it is odd.
    const code = error.cause instanceof Response ? error.cause.status : undefined;
    if (error.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      return new CliError("server_changed", `${server} sent a response from another issuer than the one it published`, undefined, { cause: error });
    }
    return statusError(server, code, describeProcessingError(error), error);
  }
  return new CliError("server", `unexpected failure talking to ${server}`, undefined, { cause: error });
}

function describeProcessingError(error: oauth.OperationProcessingError): string {
  switch (error.code) {
    case oauth.RESPONSE_IS_NOT_JSON:
      return "expected JSON";
    case oauth.PARSE_ERROR:
      return "the body is not valid JSON";
    case oauth.RESPONSE_IS_NOT_CONFORM:
      return "unexpected status code";
    case oauth.JSON_ATTRIBUTE_COMPARISON:
      return "the issuer does not match the server URL";
    default:
      return sanitize(error.message.replace(/"response" /g, ""), 120);
  }
}
