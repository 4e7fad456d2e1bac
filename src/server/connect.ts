/**
 * Connecting to one server: what it is (discovery, or what was learned within a day), our client,
 * the HTTP options and its clock, and the ServerDialect chosen once for it. A server that publishes
 * standards metadata (RFC 8414, then OpenID Connect Discovery) is used as it describes itself; one
 * that publishes none is the PipeOps API (src/server/pipeops.ts). What discovery learned is
 * remembered for a day (src/server/cache.ts), so a command sends only the requests it needs.
 */
import type * as oauth from "oauth4webapi";
import type { ServerSettings } from "../config/store.ts";
import type { Context } from "../context.ts";
import { cachedElsewhere } from "../errors.ts";
import { printWarning } from "../output.ts";
import { cacheFile, type KnownServer, knownServer, rememberServer } from "./cache.ts";
import { ServerClock } from "./clock.ts";
import type { ServerDialect } from "./dialect.ts";
import { createHttpFetch } from "./http.ts";
import { type Origins, offOrigin } from "./origins.ts";
import { FILE_DASHBOARD_URL, parseServerUrl, serverName } from "./url.ts";

/** The official CLI's public client id and console (PipeOpsHQ/pipeops-cli internal/config/config.go). */
export const DEFAULT_CLIENT_ID = "pipeops_public_client";
export const DEFAULT_CONSOLE_URL = "https://console.pipeops.io";

/**
 * Everything needed to talk to one server: its endpoints, our client, its fetch, its clock and its
 * dialect. The OAuth flows make oauth4webapi's options from it (src/server/oauth.ts): connecting
 * loads no OAuth code, and a server already known asks for no discovery either.
 */
export interface ServerConnection {
  readonly apiUrl: URL;
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  /** Our fetch for this server: the clock observed, plain http:// refused but to loopback, retries, the timeout. */
  readonly fetch: typeof fetch;
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
  const fetch = clock.observing(createHttpFetch(ctx));
  // Discovery, and each dialect, load only where they are needed: a server remembered as PipeOps needs neither OAuth code nor discovery.
  const facts = known?.facts ?? (await (await import("./discovery.ts")).discover(apiUrl, fetch, origins));
  const remembered = known ?? { facts, clockOffsetMs: clock.offsetMs };
  if (!known) await rememberServer(ctx, name, remembered);
  const client = { client_id: clientIdOf(ctx, settings) };
  let as: oauth.AuthorizationServer;
  let dialect: ServerDialect;
  if (facts.kind === "pipeops") {
    const { pipeopsAuthorizationServer, pipeopsDialect } = await import("./pipeops.ts");
    as = pipeopsAuthorizationServer(apiUrl, consoleUrlOf(ctx, settings));
    dialect = pipeopsDialect({ as, client, server: name, fetch, apiUrl });
  } else {
    as = facts.metadata;
    dialect = (await import("./standard.ts")).standardDialect({ as, client, server: name, fetch });
  }
  return { apiUrl, as, client, fetch, clock, dialect, cached: known !== undefined, remembered };
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
