/**
 * A local server shaped like the PipeOps production API, built from the public record of how the
 * official clients talk to it (we have no other):
 * - PipeOpsHQ/pipeops-cli internal/config/config.go: client id `pipeops_public_client`, scopes
 *   `openid profile email`, the API at https://api.pipeops.io and the console at
 *   https://console.pipeops.io; internal/auth/oauth.go: sign-in at `{console}/auth/signin` with PKCE
 *   and `oauth=true`, a `http://localhost:<port>/callback` redirect, a state that may come back
 *   without its base64 padding, a callback that may carry the token itself (`token` or
 *   `access_token`), `POST {api}/oauth/token` with JSON, a token that may sit in `data.token`, a
 *   refresh answer that may omit `refresh_token`.
 * - PipeOpsHQ/pipeops-go-sdk pipeops/oauth.go: the same token endpoint with a form body, and
 *   `GET {api}/oauth/userinfo` answering `{status, message, data: {sub, email, ...}}`;
 *   pipeops/users.go: `GET {api}/profile/data` answering `{success|status, message, data: {user}}`
 *   or `data: {...}`, ids as numbers or strings; pipeops/client.go: errors as `{status, message}`
 *   or plain text; docs/authentication/overview.md: `sat_…` workspace service tokens as Bearer.
 * - For `pipeops api`: pipeops/projects.go's `GET project/fetch?workspace_uuid=&page=&limit=`
 *   (`data.projects.rows`), `GET project/fetch/{uuid}`, `POST project/create`; errors as
 *   `{status: "error", message}` (client.go, ErrorResponse). Besides those, a same-origin and an
 *   off-origin redirect and a log of any size streamed, for what a client must do with them.
 * - No discovery documents, no device grant, no revocation endpoint.
 *
 * Development and tests only: in memory, one demo user, one click to sign in.
 *   bun scripts/dev-server.ts --pipeops
 */
import { createHash, randomBytes } from "node:crypto";

export const PIPEOPS_CLIENT_ID = "pipeops_public_client";

export interface PipeOpsServerOptions {
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** How a token response looks: RFC 6749 fields (default), or the token in `data.token`. */
  tokenShape?: "rfc6749" | "envelope";
  /** Issue a new refresh token on every refresh (default false: the answer omits it, the old one stays). */
  rotateRefreshTokens?: boolean;
  /** Errors as plain text instead of `{status: "error", message}`. */
  plainTextErrors?: boolean;
  /** The console returns the access token on the callback (`token=`) instead of a code. */
  directToken?: boolean;
  /** Whether GET /profile/data exists (default true). */
  profile?: boolean;
  /** Serve the API over HTTPS with this PEM certificate and key (the console stays plain HTTP). */
  tls?: { cert: string; key: string };
  /** Where GET /project/moved redirects: another origin (default: the console's projects page). */
  elsewhere?: string;
}

/** A request to a project endpoint as the API received it, for tests to look at. */
export interface ReceivedRequest {
  method: string;
  path: string;
  /** The query string, with its "?", or "". */
  search: string;
  headers: Record<string, string>;
  body: string;
}

export interface DemoProject {
  UUID: string;
  Name: string;
  Status: string;
  [key: string]: unknown;
}

export interface PipeOpsUser {
  id: number;
  uuid: string;
  email: string;
  first_name: string;
  last_name: string;
  created_at: string;
}

export const pipeopsUser: PipeOpsUser = {
  id: 1234,
  uuid: "5f0c9a1e-7d2b-4c3a-9e8f-1a2b3c4d5e6f",
  email: "user@example.com",
  first_name: "John",
  last_name: "Doe",
  created_at: "2024-01-01T00:00:00Z",
};

export interface PipeOpsServer {
  /** The API, as PIPEOPS_API_URL names it. */
  url: string;
  /** The console, as PIPEOPS_DASHBOARD_URL names it. */
  consoleUrl: string;
  user: PipeOpsUser;
  /** Every request the API received, as "METHOD /path", in order. */
  requests: string[];
  /** Every request to a project endpoint, whole. */
  received: ReceivedRequest[];
  projects: DemoProject[];
  stats: { authorizationCodeGrants: number; refreshGrants: number; userinfoRequests: number; profileRequests: number; tokenFormats: (string | null)[] };
  /** A workspace service token (`sat_…`) that the API accepts, as production's automation tokens. */
  issueServiceToken(): string;
  /** An access token as production issues it when asked for `token_format: jwt`: a JWT whose `exp` is `ttlSeconds` away. */
  issueJwt(ttlSeconds: number): string;
  /** Spends every refresh token issued so far: the next refresh with one is refused. */
  revokeRefreshTokens(): void;
  /**
   * Ends every session on the server's side: its access tokens, unexpired as they are, answer
   * HTTP 419 from then on, as production's controller answers an ended or revoked session
   * (PipeOpsHQ/pipeops-cli utils/output.go, HandleAuthError). A refresh still gives a working token.
   */
  endSessions(): void;
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  expiresAt: number;
}

const CALLBACK = /^http:\/\/localhost:\d{1,5}\/callback$/;
const SIGN_IN_PARAMS = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "oauth"] as const;

const opaque = (prefix: string) => `${prefix}${randomBytes(24).toString("base64url")}`;
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

function page(title: string, body: string, status = 200): Response {
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · PipeOps</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  return new Response(html, { status, headers: { "content-type": "text/html; charset=utf-8" } });
}

export async function startPipeOpsServer(options: PipeOpsServerOptions = {}): Promise<PipeOpsServer> {
  const ttl = options.accessTokenTtl ?? 3600;
  const codes = new Map<string, Grant>();
  const accessTokens = new Map<string, number>();
  const refreshTokens = new Set<string>();
  const requests: string[] = [];
  const stats = { authorizationCodeGrants: 0, refreshGrants: 0, userinfoRequests: 0, profileRequests: 0, tokenFormats: [] as (string | null)[] };
  const ended = new Set<string>();
  const received: ReceivedRequest[] = [];
  const projects: DemoProject[] = Array.from({ length: 25 }, (_, index) => ({
    UUID: `9d3c${String(index + 1).padStart(4, "0")}-5e6f-4a7b-8c9d-0e1f2a3b4c5d`,
    Name: `demo-project-${index + 1}`,
    Status: index % 5 === 4 ? "stopped" : "running",
    workspace_uuid: "ws-demo",
  }));

  const error = (status: number, message: string) =>
    options.plainTextErrors
      ? new Response(message, { status, headers: { "content-type": "text/plain" } })
      : Response.json({ status: "error", message }, { status });

  /** An unsigned-looking JWT (the signature is random bytes: only this server checks it, by lookup). */
  const jwt = (seconds: number) => {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    return `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub: pipeopsUser.uuid, iat: now, exp: now + seconds })}.${randomBytes(32).toString("base64url")}`;
  };
  const issueAccess = (format?: string) => {
    const token = format === "jwt" ? jwt(ttl) : opaque("pat_");
    accessTokens.set(token, Date.now() + ttl * 1000);
    return token;
  };

  const tokenAnswer = (refreshToken: string | undefined, format?: string) => {
    const accessToken = issueAccess(format);
    if (options.tokenShape === "envelope") {
      return Response.json({
        status: "success",
        message: "Authenticated",
        data: { token: accessToken, ...(refreshToken ? { refresh_token: refreshToken } : {}), expires_in: ttl },
      });
    }
    // The console's page to go to next, which the official CLI ignores; a client must never follow or print it.
    const redirect_url = "https://console.pipeops.io/\u001b]0;owned\u0007";
    return Response.json({
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: ttl,
      redirect_url,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  };

  const authorized = (request: Request): boolean => {
    const match = /^Bearer (\S+)$/.exec(request.headers.get("authorization") ?? "");
    const expiresAt = match ? accessTokens.get(match[1]!) : undefined;
    return expiresAt !== undefined && expiresAt > Date.now();
  };

  /** An authenticated endpoint's refusal: 419 for a session the server ended, else 401. */
  const refusal = (request: Request, message: string): Response | undefined => {
    const match = /^Bearer (\S+)$/.exec(request.headers.get("authorization") ?? "");
    if (match && ended.has(match[1]!)) return error(419, "session expired");
    return authorized(request) ? undefined : error(401, message);
  };

  async function tokenRequest(request: Request): Promise<Response> {
    // The Go CLI sends JSON, the SDK a form: both are accepted.
    const type = request.headers.get("content-type") ?? "";
    const params: Record<string, string> = {};
    if (type.includes("application/json")) {
      const body = (await request.json().catch(() => null)) as Record<string, unknown> | null;
      for (const [key, value] of Object.entries(body ?? {})) if (typeof value === "string") params[key] = value;
    } else {
      for (const [key, value] of new URLSearchParams(await request.text())) params[key] = value;
    }
    if (params.client_id !== PIPEOPS_CLIENT_ID) return error(401, "invalid client");
    if (params.grant_type === "authorization_code") {
      const grant = params.code ? codes.get(params.code) : undefined;
      if (params.code) codes.delete(params.code);
      if (!grant || grant.expiresAt < Date.now() || grant.redirectUri !== params.redirect_uri || grant.clientId !== params.client_id) {
        return error(400, "invalid or expired authorization code");
      }
      if (!params.code_verifier || s256(params.code_verifier) !== grant.codeChallenge) return error(400, "PKCE verification failed");
      stats.authorizationCodeGrants += 1;
      // The official CLI asks for a JWT (pipeops-cli internal/auth/oauth.go, exchangeCodeForToken).
      stats.tokenFormats.push(params.token_format ?? null);
      const refreshToken = opaque("prt_");
      refreshTokens.add(refreshToken);
      return tokenAnswer(refreshToken, params.token_format);
    }
    if (params.grant_type === "refresh_token") {
      const used = params.refresh_token ?? "";
      if (!refreshTokens.has(used)) return error(401, "refresh token is invalid or expired");
      stats.refreshGrants += 1;
      if (!options.rotateRefreshTokens) return tokenAnswer(undefined);
      refreshTokens.delete(used);
      const next = opaque("prt_");
      refreshTokens.add(next);
      return tokenAnswer(next);
    }
    return error(400, "unsupported grant type");
  }

  /** The project endpoints `pipeops api` is tried against. */
  async function projectRequest(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = await request.text();
    received.push({
      method: request.method,
      path: url.pathname,
      search: url.search,
      headers: Object.fromEntries(request.headers),
      body: body.slice(0, 65_536),
    });
    const route = `${request.method} ${url.pathname}`;
    const query = url.searchParams;
    if (route === "GET /project/fetch") {
      const workspace = query.get("workspace_uuid");
      if (!workspace) return error(400, "workspace_uuid is required");
      const page = Math.max(1, Number(query.get("page")) || 1);
      const limit = Math.min(100, Math.max(1, Number(query.get("limit")) || 10));
      const inWorkspace = projects.filter((project) => project.workspace_uuid === workspace);
      const rows = inWorkspace.slice((page - 1) * limit, page * limit);
      return Response.json({
        success: true,
        status: "success",
        message: "Projects fetched",
        data: { projects: { rows, count: inWorkspace.length, page, limit } },
      });
    }
    const one = /^\/project\/fetch\/([^/]+)$/.exec(url.pathname);
    if (request.method === "GET" && one) {
      const project = projects.find((candidate) => candidate.UUID === one[1]);
      return project ? Response.json({ status: "success", message: "Project fetched", data: { project } }) : error(404, "Project not found");
    }
    if (route === "POST /project/create") {
      let fields: unknown;
      try {
        fields = JSON.parse(body);
      } catch {
        return error(400, "invalid request body");
      }
      if (!fields || typeof fields !== "object" || Array.isArray(fields)) return error(400, "invalid request body");
      const project: DemoProject = {
        Status: "creating",
        workspace_uuid: "ws-demo",
        ...(fields as Record<string, unknown>),
        UUID: crypto.randomUUID(),
        Name: String((fields as { name?: unknown }).name ?? "unnamed"),
      };
      projects.push(project);
      return Response.json({ status: "success", message: "Project created", data: { project } }, { status: 201 });
    }
    // An old path, moved on the same origin; and one that sends the client to another origin.
    if (route === "GET /project/list") return new Response(null, { status: 301, headers: { location: `/project/fetch${url.search}` } });
    if (route === "GET /project/moved") return new Response(null, { status: 302, headers: { location: options.elsewhere ?? `${consoleOrigin()}/projects` } });
    const logs = /^\/project\/logs\/([^/]+)$/.exec(url.pathname);
    if (request.method === "GET" && logs) {
      const size = Math.min(Number(query.get("bytes") ?? 1024 * 1024) || 0, 4 * 1024 ** 3);
      const line = new TextEncoder().encode(`${new Date(0).toISOString()} ${logs[1]} build step ok ${"-".repeat(40)}\n`);
      const chunk = new Uint8Array(64 * 1024);
      for (let at = 0; at < chunk.length; at += line.length) chunk.set(line.subarray(0, Math.min(line.length, chunk.length - at)), at);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= size) return controller.close();
          const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
          sent += part.length;
          controller.enqueue(part.slice());
        },
      });
      return new Response(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    return error(404, "route not found");
  }

  const api = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    ...(options.tls ? { tls: options.tls } : {}),
    async fetch(request) {
      const { pathname } = new URL(request.url);
      requests.push(`${request.method} ${pathname}`);
      if (request.method === "POST" && pathname === "/oauth/token") return tokenRequest(request);
      if (request.method === "GET" && pathname === "/oauth/userinfo") {
        const refused = refusal(request, "Unauthorized: invalid or expired token");
        if (refused) return refused;
        stats.userinfoRequests += 1;
        const { uuid, email, first_name, last_name } = pipeopsUser;
        return Response.json({
          status: "success",
          message: "User info retrieved",
          data: { sub: uuid, email, email_verified: true, name: `${first_name} ${last_name}`, given_name: first_name, family_name: last_name, picture: "" },
        });
      }
      if (pathname.startsWith("/project/")) {
        const refused = refusal(request, "Unauthorized");
        if (refused) return refused;
        return projectRequest(request);
      }
      if (request.method === "GET" && pathname === "/profile/data" && options.profile !== false) {
        const refused = refusal(request, "Unauthorized");
        if (refused) return refused;
        stats.profileRequests += 1;
        const { first_name, last_name } = pipeopsUser;
        return Response.json({ success: true, message: "Profile retrieved", data: { user: { ...pipeopsUser, full_name: `${first_name} ${last_name}` } } });
      }
      return error(404, "route not found");
    },
  });

  const consoleOrigin = () => `http://127.0.0.1:${consoleServer.port}`;
  const consoleServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname !== "/auth/signin") return page("Not found", "<p>Nothing here.</p>", 404);
      const params = request.method === "POST" ? new URLSearchParams(await request.text()) : url.searchParams;
      const get = (name: string) => params.get(name) ?? "";
      // The sign-in page refuses what production would not accept, without redirecting anywhere.
      if (get("client_id") !== PIPEOPS_CLIENT_ID) return page("Sign-in failed", `<p id="error">Unknown client '${escapeHtml(get("client_id"))}'.</p>`, 400);
      if (!CALLBACK.test(get("redirect_uri"))) return page("Sign-in failed", '<p id="error">The redirect address is not registered for this client.</p>', 400);
      if (get("response_type") !== "code" || get("code_challenge_method") !== "S256" || !get("code_challenge") || !get("state") || get("oauth") !== "true") {
        return page("Sign-in failed", '<p id="error">The sign-in request is incomplete.</p>', 400);
      }
      if (request.method === "GET") {
        const hidden = SIGN_IN_PARAMS.map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(get(name))}">`).join("");
        return page(
          "Sign in to PipeOps",
          `<p>The PipeOps CLI wants access to your account (${escapeHtml(get("scope"))}).</p><form method="post" action="/auth/signin">${hidden}<button type="submit" id="sign-in" name="decision" value="approve">Sign in as ${escapeHtml(pipeopsUser.email)}</button><button type="submit" id="deny" name="decision" value="deny">Deny</button></form>`,
        );
      }
      const back = new URL(get("redirect_uri"));
      // Production may return the state without its base64 padding.
      back.searchParams.set("state", get("state").replace(/=+$/, ""));
      if (get("decision") === "deny") {
        back.searchParams.set("error", "access_denied");
        back.searchParams.set("error_description", "The user denied the request");
      } else if (options.directToken) {
        back.searchParams.set("token", issueAccess());
      } else {
        const code = opaque("code_");
        codes.set(code, { clientId: get("client_id"), redirectUri: get("redirect_uri"), codeChallenge: get("code_challenge"), expiresAt: Date.now() + 60_000 });
        back.searchParams.set("code", code);
      }
      return new Response(null, { status: 303, headers: { location: back.href } });
    },
  });

  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${api.port}`,
    consoleUrl: `http://127.0.0.1:${consoleServer.port}`,
    user: pipeopsUser,
    requests,
    received,
    projects,
    stats,
    issueServiceToken() {
      const token = opaque("sat_");
      accessTokens.set(token, Number.POSITIVE_INFINITY);
      return token;
    },
    issueJwt(ttlSeconds) {
      const token = jwt(ttlSeconds);
      accessTokens.set(token, Date.now() + ttlSeconds * 1000);
      return token;
    },
    revokeRefreshTokens: () => refreshTokens.clear(),
    endSessions() {
      for (const token of accessTokens.keys()) ended.add(token);
    },
    async close() {
      await Promise.all([api.stop(true), consoleServer.stop(true)]);
    },
  };
}
