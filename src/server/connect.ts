/**
 * Connecting to one server: what it is (discovery, or what was learned within a day), our client,
 * the HTTP options and its clock, and the ServerDialect chosen once for it. A server that publishes
 * standards metadata (RFC 8414, then OpenID Connect Discovery) is used as it describes itself; one
 * that publishes none is the PipeOps API (src/server/pipeops.ts). What discovery learned is
 * remembered for a day (src/server/cache.ts), so a command sends only the requests it needs.
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import type { ServerSettings } from "../config/store.ts";
import type { Context } from "../context.ts";
import { cachedElsewhere, endpointElsewhere, invalidBody } from "../errors.ts";
import { printWarning } from "../output.ts";
import { cacheFile, type KnownServer, knownServer, type Metadata, MetadataSchema, rememberServer, type ServerFacts } from "./cache.ts";
import { ServerClock } from "./clock.ts";
import type { ServerDialect } from "./dialect.ts";
import { createHttpFetch } from "./http.ts";
import { pipeopsAuthorizationServer, pipeopsDialect } from "./pipeops.ts";
import { issueKey, oauthError } from "./responses.ts";
import { standardDialect } from "./standard.ts";
import { assertSecureUrl, FILE_DASHBOARD_URL, parseServerUrl, serverName } from "./url.ts";

/** The official CLI's public client id and console (PipeOpsHQ/pipeops-cli internal/config/config.go). */
export const DEFAULT_CLIENT_ID = "pipeops_public_client";
export const DEFAULT_CONSOLE_URL = "https://console.pipeops.io";

export type HttpOptions = oauth.HttpRequestOptions<"GET" | "POST", unknown>;

/** Everything needed to talk to one server: its endpoints, our client, the HTTP options, its clock and its dialect. */
export interface ServerConnection {
  readonly apiUrl: URL;
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly clientAuth: oauth.ClientAuth;
  readonly http: HttpOptions;
  /** The server's clock as its responses show it (RFC 9110 Date), starting from what was last seen. */
  readonly clock: ServerClock;
  /** How this server's answers read: the only place its kind makes a difference. */
  readonly dialect: ServerDialect;
  /** Whether the endpoints came from the cache, and may have changed since. */
  readonly cached: boolean;
  /** What the cache held for this server once connected (read, or just written): rememberClock compares with it rather than reading again. */
  readonly remembered: KnownServer;
}

export function clientIdOf(ctx: Pick<Context, "env">, settings: ServerSettings = {}): string {
  return ctx.env.PIPEOPS_CLIENT_ID?.trim() || settings.clientId || DEFAULT_CLIENT_ID;
}

/** PIPEOPS_DASHBOARD_URL, else the Go CLI's oauth.dashboard_url, else the production console. */
export function consoleUrlOf(ctx: Pick<Context, "env">, settings: ServerSettings = {}): URL {
  const fromEnv = ctx.env.PIPEOPS_DASHBOARD_URL?.trim();
  if (fromEnv) return parseServerUrl(fromEnv, "PIPEOPS_DASHBOARD_URL", DEFAULT_CONSOLE_URL);
  return settings.consoleUrl ? parseServerUrl(settings.consoleUrl, FILE_DASHBOARD_URL, DEFAULT_CONSOLE_URL) : new URL(DEFAULT_CONSOLE_URL);
}

/** A discovery answer that says "no metadata here", rather than "something is wrong". */
function publishesNone(response: Response): boolean {
  return response.status === 404 || response.status === 405 || response.status === 410;
}

/** Where a token may go: the API's origin, and for the sign-in page (no token, but the code's way back) the console's too. */
interface Origins {
  readonly api: string;
  /** Looked up only when an authorization endpoint is not on the API's origin. */
  console(): string;
}

/**
 * The first endpoint (or the issuer) the metadata puts on another origin than the API's: tokens,
 * codes and verifiers go to these endpoints, so a cache entry or a metadata document that moved one
 * elsewhere would hand them to whoever runs it.
 */
function offOrigin(metadata: Metadata, origins: Origins): string | undefined {
  if (new URL(metadata.issuer).origin !== origins.api) return "issuer";
  for (const key of ["token_endpoint", "userinfo_endpoint", "device_authorization_endpoint", "revocation_endpoint"] as const) {
    const value = metadata[key];
    if (value && new URL(value).origin !== origins.api) return key;
  }
  const signIn = metadata.authorization_endpoint ? new URL(metadata.authorization_endpoint).origin : origins.api;
  return signIn === origins.api || signIn === origins.console() ? undefined : "authorization_endpoint";
}

/** RFC 8414 metadata first, then OpenID Connect Discovery; neither means the PipeOps API. */
async function discover(apiUrl: URL, http: HttpOptions, origins: Origins): Promise<ServerFacts> {
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
    const metadata = checkedMetadata(as, name);
    const moved = offOrigin(metadata, origins);
    if (moved) throw endpointElsewhere(name, moved);
    return { kind: "standard", metadata };
  }
  return { kind: "pipeops" };
}

function checkedMetadata(as: oauth.AuthorizationServer, name: string): Metadata {
  const checked = v.safeParse(MetadataSchema, Object.fromEntries(Object.keys(MetadataSchema.entries).map((key) => [key, as[key]])));
  if (!checked.success) throw invalidBody(name, "server metadata", issueKey(checked.issues));
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
  const origins: Origins = { api: apiUrl.origin, console: () => consoleUrlOf(ctx, settings).origin };
  const report = (message: string, hint: string) => printWarning(ctx.stderr, message, hint);
  let known = options.relearn ? undefined : await knownServer(ctx, name, report);
  const moved = known?.facts.kind === "standard" ? offOrigin(known.facts.metadata, origins) : undefined;
  if (moved) {
    report(...cachedElsewhere(name, moved, cacheFile(ctx)));
    known = undefined;
  }
  const clock = new ServerClock(() => ctx.now(), known?.clockOffsetMs ?? 0);
  const http = {
    [oauth.customFetch]: clock.observing(createHttpFetch(ctx)),
    // Our fetch already refuses plain http:// to anything but loopback (assertSecureUrl).
    [oauth.allowInsecureRequests]: true,
  } as HttpOptions;
  const facts = known?.facts ?? (await discover(apiUrl, http, origins));
  const remembered = known ?? { facts, clockOffsetMs: clock.offsetMs };
  if (!known) await rememberServer(ctx, name, remembered);
  const client = { client_id: clientIdOf(ctx, settings) };
  const as = facts.kind === "pipeops" ? pipeopsAuthorizationServer(apiUrl, consoleUrlOf(ctx, settings)) : facts.metadata;
  const base = { as, client, server: name };
  const dialect = facts.kind === "pipeops" ? pipeopsDialect({ ...base, apiUrl }) : standardDialect(base);
  return { apiUrl, as, client, clientAuth: oauth.None(), http, clock, dialect, cached: known !== undefined, remembered };
}

/**
 * Keeps the server's clock offset for the next command when it moved by more than the Date
 * header's precision, so `auth token` can judge expiry without asking.
 */
export async function rememberClock(ctx: Context, conn: ServerConnection): Promise<void> {
  const name = serverName(conn.apiUrl);
  const before = conn.remembered;
  if (Math.abs(before.clockOffsetMs - conn.clock.offsetMs) <= 2_000) return;
  await rememberServer(ctx, name, { facts: before.facts, clockOffsetMs: conn.clock.offsetMs });
}

/** Forgets what was learned of the server, after its endpoints answered 404 or its issuer changed. */
export async function forgetServer(ctx: Context, apiUrl: URL): Promise<void> {
  await rememberServer(ctx, serverName(apiUrl), undefined);
}
