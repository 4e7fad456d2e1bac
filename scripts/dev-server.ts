/**
 * Local development authorization server for the PipeOps CLI.
 *
 * A real OAuth 2.0 / OpenID Connect server (oidc-provider) configured like the
 * production one the CLI talks to: one public native client, PKCE, rotating
 * refresh tokens with reuse detection, device flow, revocation and userinfo.
 * Everything is dev-only: in-memory storage, keys and cookie secrets generated
 * at startup, a one-click login for a single demo user.
 *
 *   bun scripts/dev-server.ts [--port N] [--access-token-ttl SECONDS] [--no-device-flow] [--hostname H]
 *   bun scripts/dev-server.ts --pipeops   (the PipeOps-shaped mode: scripts/pipeops-server.ts)
 */
import { createHmac, generateKeyPair, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { parseArgs, promisify } from "node:util";

export interface DevServerOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Default true; false hides device_authorization_endpoint from metadata and disables it. */
  deviceFlow?: boolean;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** `interval` advertised in device authorization responses, seconds (default 1, keeps CLI tests fast). */
  devicePollInterval?: number;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** The issuer identifier, when clients reach the server by another name (through a proxy); default its own address. */
  publicUrl?: string;
}

export interface DevServerStats {
  refreshGrants: number;
  revocations: number;
  refreshReuseDetected: number;
  authorizationCodeGrants: number;
  deviceCodeGrants: number;
  userinfoRequests: number;
}

export interface DemoUser {
  sub: string;
  email: string;
  name: string;
  organization: string;
  role: string;
  created_at: string;
}

export interface DevServer {
  /** http://127.0.0.1:PORT (or the publicUrl given), also the issuer identifier. */
  url: string;
  port: number;
  stats: DevServerStats;
  user: DemoUser;
  close(): Promise<void>;
}

export const demoUser: DemoUser = {
  sub: "usr_1234567890",
  email: "user@example.com",
  name: "John Doe",
  organization: "Acme Corp",
  role: "admin",
  created_at: "2024-01-01T00:00:00Z",
};

/** The one registered client: the CLI itself, under the official CLI's public client id. */
export const DEV_CLIENT_ID = "pipeops_public_client";

const SCOPES = ["openid", "email", "profile", "offline_access"];
const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const DAY = 24 * 60 * 60;

// ---------------------------------------------------------------------------
// Minimal typings for the parts of oidc-provider used here (it ships no types).

type Json = Record<string, unknown>;

interface KoaContext {
  path: string;
  method: string;
  status: number;
  body: unknown;
  type: string;
  req: IncomingMessage;
  res: ServerResponse;
  redirect(url: string): void;
  oidc?: OidcContext;
}

interface OidcContext {
  route?: string;
  params?: Json;
  session?: { state?: { secret?: string } };
}

interface ClientModel {
  clientId: string;
  clientName?: string;
  grantTypeAllowed(grantType: string): boolean;
}

interface TokenModel {
  clientId?: string;
}

interface GrantModel {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}

interface GrantClass {
  new (init: { accountId: string; clientId: string }): GrantModel;
  find(id: string): Promise<GrantModel | undefined>;
}

interface Interaction {
  uid: string;
  grantId?: string;
  params: Json;
  prompt: { name: string; details: Json };
  session?: { accountId?: string };
}

type InteractionResult = { login?: { accountId: string }; consent?: { grantId: string } } | { error: string; error_description: string };

type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface Provider {
  Grant: GrantClass;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(middleware: Middleware): void;
  on(event: "server_error", listener: (ctx: KoaContext, error: Error) => void): void;
  on(event: string, listener: (ctx: KoaContext) => void): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResult, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
}

type ProviderClass = new (issuer: string, configuration: Json) => Provider;

// ---------------------------------------------------------------------------
// Quieting oidc-provider's development notices.

let quietDepth = 0;
const consoleOriginals = { warn: console.warn, info: console.info };

/**
 * oidc-provider prints "unsupported runtime" (Bun) on import and dev notices on
 * construction; console.info even goes to stdout, which must stay clean for
 * `eval "$(bun scripts/dev-server.ts)"`. Drop only its lines, only meanwhile.
 */
async function withoutProviderNotices<T>(work: () => Promise<T> | T): Promise<T> {
  // Depth-counted so overlapping starts (parallel tests) restore the real console exactly once.
  if (quietDepth++ === 0) {
    Object.assign(consoleOriginals, { warn: console.warn, info: console.info });
    const keep =
      (original: (...args: unknown[]) => void) =>
      (...args: unknown[]) => {
        if (typeof args[0] === "string" && args[0].includes("oidc-provider")) return;
        original.apply(console, args);
      };
    console.warn = keep(consoleOriginals.warn);
    console.info = keep(consoleOriginals.info);
  }
  try {
    return await work();
  } finally {
    if (--quietDepth === 0) Object.assign(console, consoleOriginals);
  }
}

let providerClass: Promise<ProviderClass> | undefined;

function loadProvider(): Promise<ProviderClass> {
  // Dynamic import so the import-time runtime warning can be silenced; the
  // specifier is a variable because the package has no type declarations.
  const specifier = "oidc-provider";
  providerClass ??= withoutProviderNotices(async () => (await import(specifier)).default as ProviderClass);
  return providerClass;
}

// ---------------------------------------------------------------------------
// Dev-only secrets: generated once per process, never persisted.

let signingKeys: Promise<{ keys: Json[] }> | undefined;

/** RS256 is the default ID token algorithm for clients; one key per process is plenty. */
function devJwks(): Promise<{ keys: Json[] }> {
  signingKeys ??= promisify(generateKeyPair)("rsa", { modulusLength: 2048 }).then(({ privateKey }) => ({
    keys: [{ ...(privateKey.export({ format: "jwk" }) as Json), use: "sig", alg: "RS256", kid: "dev-rs256" }],
  }));
  return signingKeys;
}

/**
 * Keygrip-compatible cookie signer (koa's `cookies` accepts any object with sign/verify/index).
 * Keygrip's tsscmp calls crypto.pseudoRandomBytes, which Bun flags with a DEP0115 warning
 * on every process; this avoids it and uses HMAC-SHA256 with a per-start secret.
 */
class CookieSigner {
  readonly #secret = randomBytes(32);

  sign(data: string): string {
    return createHmac("sha256", this.#secret).update(data).digest("base64url");
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) === 0;
  }

  index(data: string, digest: string): number {
    const expected = Buffer.from(this.sign(data));
    const actual = Buffer.from(String(digest));
    return actual.length === expected.length && timingSafeEqual(actual, expected) ? 0 : -1;
  }
}

// ---------------------------------------------------------------------------
// In-memory storage adapter (one per server, so servers in one process are isolated).

/** Models whose rows belong to a grant and die with it (grant revocation). */
const GRANT_BOUND = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode"]);
/** Rows outlive their exp a little so "expired" is reported rather than "not found". */
const CLOCK_TOLERANCE_S = 15;

interface Row {
  payload: Json;
  expiresAt: number;
}

class MemoryStore {
  readonly rows = new Map<string, Row>();
  readonly lookups = new Map<string, string>();
  readonly grants = new Map<string, Set<string>>();

  get(key: string): Json | undefined {
    const row = this.rows.get(key);
    if (row && row.expiresAt <= Date.now()) {
      this.delete(key);
      return undefined;
    }
    return row?.payload;
  }

  set(model: string, key: string, payload: Json, expiresIn?: number): void {
    this.delete(key);
    const expiresAt = expiresIn === undefined ? Infinity : Date.now() + (expiresIn + CLOCK_TOLERANCE_S) * 1000;
    this.rows.set(key, { payload, expiresAt });
    if (model === "Session") this.lookups.set(`uid:${payload.uid}`, key);
    if (typeof payload.userCode === "string") this.lookups.set(`userCode:${payload.userCode}`, key);
    if (GRANT_BOUND.has(model) && typeof payload.grantId === "string") {
      const members = this.grants.get(payload.grantId) ?? new Set();
      this.grants.set(payload.grantId, members.add(key));
    }
  }

  lookup(index: string): Json | undefined {
    const key = this.lookups.get(index);
    return key === undefined ? undefined : this.get(key);
  }

  delete(key: string): void {
    const payload = this.rows.get(key)?.payload;
    this.rows.delete(key);
    if (!payload) return;
    if (this.lookups.get(`uid:${payload.uid}`) === key) this.lookups.delete(`uid:${payload.uid}`);
    if (this.lookups.get(`userCode:${payload.userCode}`) === key) this.lookups.delete(`userCode:${payload.userCode}`);
    if (typeof payload.grantId === "string") this.grants.get(payload.grantId)?.delete(key);
  }

  revokeGrant(grantId: string): void {
    for (const key of this.grants.get(grantId) ?? []) this.delete(key);
    this.grants.delete(grantId);
  }
}

/** oidc-provider calls the adapter factory once per model name. */
function adapterFor(store: MemoryStore) {
  return (model: string) => {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id: string, payload: Json, expiresIn?: number) => store.set(model, key(id), payload, expiresIn),
      find: async (id: string) => store.get(key(id)),
      findByUid: async (uid: string) => store.lookup(`uid:${uid}`),
      findByUserCode: async (userCode: string) => store.lookup(`userCode:${userCode}`),
      consume: async (id: string) => {
        const payload = store.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id: string) => store.delete(key(id)),
      revokeByGrantId: async (grantId: string) => store.revokeGrant(grantId),
    };
  };
}

// ---------------------------------------------------------------------------
// HTML pages (plain markup with stable ids: driven by scripts and headless browsers alike).

function escapeHtml(value: unknown): string {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · PipeOps dev</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}
button{display:block;width:100%;margin:.5rem 0;padding:.6rem;font-size:1rem;cursor:pointer}
input[type=text]{width:100%;box-sizing:border-box;padding:.6rem;font-size:1.2rem;text-align:center;text-transform:uppercase}
code{font-size:1.5rem}.error{color:#b00020}.hint{color:#666;font-size:.85rem}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

function loginPage(interaction: Interaction): string {
  const action = `/interaction/${encodeURIComponent(interaction.uid)}`;
  return htmlPage(
    "Sign in",
    `<p><strong>${escapeHtml(interaction.params.client_id)}</strong> wants access to your PipeOps account.</p>
<p class="hint">Requested scopes: ${escapeHtml(interaction.params.scope)}</p>
<form method="post" action="${action}/login">
<button type="submit" id="sign-in">Sign in as ${escapeHtml(demoUser.email)}</button>
</form>
<form method="post" action="${action}/deny">
<button type="submit" id="deny">Deny</button>
</form>`,
  );
}

function userCodeMessage(error?: { name?: string; userCode?: string }): string {
  if (!error) return "<p>Enter the code displayed by the PipeOps CLI.</p>";
  if (error.name === "AbortedError") return '<p class="error" id="aborted">The sign-in request was denied.</p>';
  if (error.userCode || error.name === "NoCodeError") return '<p class="error">That code is not valid. Try again.</p>';
  return '<p class="error">The request could not be processed.</p>';
}

// oidc-provider hands over its own <form> (with the xsrf token); buttons reference it via form="...".
async function userCodeInputSource(ctx: KoaContext, form: string, _out: unknown, error?: { name?: string; userCode?: string }) {
  ctx.type = "html";
  ctx.body = htmlPage(
    "Connect a device",
    `${userCodeMessage(error)}
${form}
<button type="submit" id="continue" form="op.deviceInputForm">Continue</button>`,
  );
}

async function userCodeConfirmSource(ctx: KoaContext, form: string, client: ClientModel, _info: unknown, userCode: string) {
  ctx.type = "html";
  ctx.body = htmlPage(
    "Confirm device",
    `<p><strong>${escapeHtml(client.clientName ?? client.clientId)}</strong> is asking to sign in.</p>
<p>Check that the CLI shows this code:</p>
<p><code id="user-code">${escapeHtml(userCode)}</code></p>
${form}
<button type="submit" id="confirm" form="op.deviceConfirmForm">Confirm</button>
<button type="submit" id="abort" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  );
}

async function deviceSuccessSource(ctx: KoaContext) {
  ctx.type = "html";
  ctx.body = htmlPage("Device connected", '<p id="success">You are signed in. Return to the terminal; this window can be closed.</p>');
}

async function renderError(ctx: KoaContext, out: Json) {
  ctx.type = "html";
  const rows = Object.entries(out).map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`);
  ctx.body = htmlPage("Something went wrong", `<div class="error" id="error">${rows.join("\n")}</div>`);
}

// ---------------------------------------------------------------------------
// Interactions (login / consent) served next to the provider's own routes.

const INTERACTION_PATH = /^\/interaction\/([\w-]+)(?:\/(login|deny))?$/;

/** Consent is implicit for the first-party CLI: grant exactly what was requested. */
async function grantRequested(provider: Provider, interaction: Interaction, accountId: string): Promise<string> {
  const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId: String(interaction.params.client_id) });
  grant.addOIDCScope(String(interaction.params.scope ?? "openid"));
  const missingClaims = interaction.prompt.details.missingOIDCClaims;
  if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims);
  return grant.save();
}

/** Decides what an interaction request does: a page to show, or a result that ends the interaction. */
async function interactionOutcome(
  provider: Provider,
  interaction: Interaction,
  method: string,
  action: string | undefined,
): Promise<{ page: string } | { result: InteractionResult }> {
  if (method === "GET" && action === undefined) {
    const accountId = interaction.session?.accountId;
    // Native clients always hit the consent prompt (even when logged in); grant it silently.
    if (interaction.prompt.name !== "login" && accountId) {
      return { result: { consent: { grantId: await grantRequested(provider, interaction, accountId) } } };
    }
    return { page: loginPage(interaction) };
  }
  if (method === "POST" && action === "login") {
    const grantId = await grantRequested(provider, interaction, demoUser.sub);
    // Login and consent in one step, so the CLI sees a single click.
    return { result: { login: { accountId: demoUser.sub }, consent: { grantId } } };
  }
  if (method === "POST" && action === "deny") {
    // RFC 6749 §4.1.2.1: access_denied goes back to the client's redirect_uri.
    return { result: { error: "access_denied", error_description: "End-User denied the authorization request" } };
  }
  throw new Error(`unsupported ${method} on interaction`);
}

function interactionRoutes(provider: Provider): Middleware {
  return async (ctx, next) => {
    const match = INTERACTION_PATH.exec(ctx.path);
    if (!match) return next();
    try {
      const interaction = await provider.interactionDetails(ctx.req, ctx.res);
      if (interaction.uid !== match[1]) throw new Error("interaction does not match this browser session");
      const outcome = await interactionOutcome(provider, interaction, ctx.method, match[2]);
      if ("page" in outcome) {
        ctx.type = "html";
        ctx.body = outcome.page;
        return;
      }
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, outcome.result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(returnTo);
    } catch (error) {
      ctx.status = 400;
      await renderError(ctx, { error: "invalid_request", error_description: (error as Error).message });
    }
  };
}

// ---------------------------------------------------------------------------
// Statistics (exact counts; events fire before the response is written).

function emptyStats(): DevServerStats {
  return { refreshGrants: 0, revocations: 0, refreshReuseDetected: 0, authorizationCodeGrants: 0, deviceCodeGrants: 0, userinfoRequests: 0 };
}

function trackStats(provider: Provider, stats: DevServerStats): void {
  provider.on("grant.success", (ctx: KoaContext) => {
    const grantType = ctx.oidc?.params?.grant_type;
    if (grantType === "refresh_token") stats.refreshGrants += 1;
    if (grantType === "authorization_code") stats.authorizationCodeGrants += 1;
    if (grantType === DEVICE_CODE_GRANT) stats.deviceCodeGrants += 1;
  });
  // The refresh_token grant revokes the whole grant only when a consumed (rotated) token is replayed.
  provider.on("grant.revoked", (ctx: KoaContext) => {
    if (ctx.oidc?.route === "token" && ctx.oidc.params?.grant_type === "refresh_token") stats.refreshReuseDetected += 1;
  });
  // oidc-provider 9 emits no success events for these routes; count 200 responses instead.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status !== 200) return;
    if (ctx.oidc?.route === "revocation") stats.revocations += 1;
    if (ctx.oidc?.route === "userinfo") stats.userinfoRequests += 1;
  });
}

/** RFC 8628 §3.2: `interval` defaults to 5 s when absent; advertise a shorter one for dev. */
function devicePollInterval(seconds: number): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === "device_authorization" && ctx.status === 200 && ctx.body && typeof ctx.body === "object") {
      (ctx.body as Json).interval = seconds;
    }
  };
}

// ---------------------------------------------------------------------------
// Provider configuration.

interface ResolvedOptions {
  port: number;
  hostname: string;
  accessTokenTtl: number;
  deviceFlow: boolean;
  devicePollInterval: number;
}

function cliClient(deviceFlow: boolean): Json {
  return {
    client_id: DEV_CLIENT_ID,
    client_name: "PipeOps CLI",
    application_type: "native",
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token", ...(deviceFlow ? [DEVICE_CODE_GRANT] : [])],
    response_types: ["code"],
    // RFC 8252 §7.3: oidc-provider ignores the port of loopback redirect URIs for native clients.
    redirect_uris: ["http://127.0.0.1/callback", "http://localhost/callback"],
  };
}

function demoAccount(sub: string) {
  if (sub !== demoUser.sub) return undefined;
  return { accountId: sub, claims: async () => ({ ...demoUser }) };
}

function providerConfiguration(options: ResolvedOptions, store: MemoryStore, jwks: { keys: Json[] }): Json {
  return {
    adapter: adapterFor(store),
    clients: [cliClient(options.deviceFlow)],
    jwks,
    cookies: { keys: new CookieSigner() },
    scopes: SCOPES,
    // Authorization code flow only (no implicit / hybrid), public clients only.
    responseTypes: ["code"],
    clientAuthMethods: ["none"],
    // Custom claims ride on the standard scopes (OIDC Core §5.4).
    claims: {
      openid: ["sub"],
      email: ["email"],
      profile: ["name", "organization", "role", "created_at"],
    },
    findAccount: async (_ctx: unknown, sub: string) => demoAccount(sub),
    interactions: { url: async (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: options.deviceFlow,
        userCodeInputSource,
        userCodeConfirmSource,
        successSource: deviceSuccessSource,
      },
      // RFC 7009: a client may revoke only its own tokens.
      revocation: { enabled: true, allowedPolicy: async (_ctx: unknown, client: ClientModel, token: TokenModel) => token.clientId === client.clientId },
      userinfo: { enabled: true },
    },
    // RFC 7636 / RFC 8252 §8.1: PKCE is mandatory for public native clients (S256 is the only method offered).
    pkce: { required: () => true },
    // Always issue a refresh token to a client allowed to use them, without the offline_access+consent dance.
    issueRefreshToken: async (_ctx: unknown, client: ClientModel) => client.grantTypeAllowed("refresh_token"),
    // CLI tokens must not die with the browser session used to sign in.
    expiresWithSession: async () => false,
    // OAuth 2.0 Security BCP (RFC 9700 §4.14.2): rotate public-client refresh tokens on every use;
    // oidc-provider revokes the whole grant when a rotated (consumed) token is replayed.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: () => options.accessTokenTtl,
      AuthorizationCode: () => 60,
      DeviceCode: () => 10 * 60,
      IdToken: () => 60 * 60,
      RefreshToken: () => 14 * DAY,
      Interaction: () => 60 * 60,
      Session: () => 14 * DAY,
      Grant: () => 14 * DAY,
    },
    renderError,
    // No browser-based clients exist, so no CORS origins are allowed.
    clientBasedCORS: () => false,
  };
}

// ---------------------------------------------------------------------------
// Server lifecycle.

function resolveOptions(options: DevServerOptions): ResolvedOptions {
  return {
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    accessTokenTtl: options.accessTokenTtl ?? 3600,
    deviceFlow: options.deviceFlow ?? true,
    devicePollInterval: options.devicePollInterval ?? 1,
  };
}

function listen(server: Server, port: number, hostname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive connections (fetch pools them) would otherwise hold close() open.
    server.closeAllConnections();
  });
}

function hostForUrl(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

const USERINFO_ALIAS = "/oauth/userinfo";

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const resolved = resolveOptions(options);
  const [Provider, jwks] = await Promise.all([loadProvider(), devJwks()]);

  // Listen first: the issuer identifier has to carry the real port.
  const server = options.tls ? createHttpsServer(options.tls) : createServer();
  const port = await listen(server, resolved.port, resolved.hostname);
  const url = options.publicUrl ?? `${options.tls ? "https" : "http"}://${hostForUrl(resolved.hostname)}:${port}`;

  const stats = emptyStats();
  const provider = await withoutProviderNotices(() => new Provider(url, providerConfiguration(resolved, new MemoryStore(), jwks)));
  trackStats(provider, stats);
  provider.use(devicePollInterval(resolved.devicePollInterval));
  provider.use(interactionRoutes(provider));
  // Unexpected failures get a one-line log instead of koa's default stack dump.
  provider.on("server_error", (_ctx: unknown, error: Error) => console.error(`dev-server: server_error: ${error.stack ?? error}`));
  const handle = provider.callback();
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    // PipeOps' own userinfo path (PipeOpsHQ/pipeops-go-sdk pipeops/oauth.go) answers as the provider's /me does,
    // so `pipeops api oauth/userinfo` works against both local servers. Discovery still names /me.
    if (request.url === USERINFO_ALIAS || request.url?.startsWith(`${USERINFO_ALIAS}?`)) request.url = `/me${request.url.slice(USERINFO_ALIAS.length)}`;
    return handle(request, response);
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    stats,
    user: demoUser,
    close: () => (closing ??= closeServer(server)),
  };
}

// ---------------------------------------------------------------------------
// CLI entry point.

function parseCliOptions(argv: string[]): DevServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      "access-token-ttl": { type: "string" },
      "no-device-flow": { type: "boolean" },
      hostname: { type: "string" },
    },
  });
  const number = (name: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} expects a non-negative integer, got "${raw}"`);
    return value;
  };
  return {
    port: number("port", values.port),
    accessTokenTtl: number("access-token-ttl", values["access-token-ttl"]),
    deviceFlow: !values["no-device-flow"],
    hostname: values.hostname,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--pipeops")) return mainPipeOps(argv.filter((arg) => arg !== "--pipeops"));
  const server = await startDevServer(parseCliOptions(argv));
  // stdout carries only the shell line, so `eval "$(bun scripts/dev-server.ts)"` works.
  process.stdout.write(`export PIPEOPS_API_URL=${server.url}\n`);
  console.error(`PipeOps dev authorization server listening on ${server.url}`);
  console.error(`  discovery: ${server.url}/.well-known/openid-configuration`);
  console.error(`  client_id: ${DEV_CLIENT_ID} (public, PKCE S256, redirect http://127.0.0.1:<any port>/callback)`);
  console.error(`  user:      ${demoUser.email} (one click, no password)`);
  console.error("Press Ctrl+C to stop.");
  stopOnSignals(() => server.close());
}

/** The PipeOps-shaped server: no discovery, the console's sign-in page, envelopes. */
async function mainPipeOps(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { "access-token-ttl": { type: "string" } } });
  const ttl = values["access-token-ttl"] === undefined ? undefined : Number(values["access-token-ttl"]);
  const { startPipeOpsServer, PIPEOPS_CLIENT_ID } = await import("./pipeops-server.ts");
  const server = await startPipeOpsServer({ accessTokenTtl: ttl });
  process.stdout.write(`export PIPEOPS_API_URL=${server.url} PIPEOPS_DASHBOARD_URL=${server.consoleUrl}\n`);
  console.error(`PipeOps-shaped dev server: API ${server.url}, console ${server.consoleUrl}`);
  console.error("  no discovery documents, no device grant, no revocation (as production)");
  console.error(`  client_id: ${PIPEOPS_CLIENT_ID} (redirect http://localhost:<port>/callback)`);
  console.error(`  user:      ${server.user.email} (one click, no password)`);
  console.error("Press Ctrl+C to stop.");
  stopOnSignals(() => server.close());
}

function stopOnSignals(close: () => Promise<void>): void {
  const stop = async (signal: string) => {
    console.error(`\n${signal} received, shutting down.`);
    await close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`dev-server: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
