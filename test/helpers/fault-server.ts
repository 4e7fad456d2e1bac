/**
 * A loopback HTTP server that stands in front of the local authorization server and misbehaves on
 * request: resets connections mid-body, accepts and never answers, answers one byte at a time,
 * rate-limits, fails with 5xx then recovers, serves a maintenance page, a 20 MB body, invalid JSON,
 * the wrong content type, or a redirect to another host. Everything else is passed through.
 *
 * It speaks HTTP/1.1 itself on raw sockets (node:net), so it can do what no HTTP framework allows:
 * stop halfway through a body, or send a TCP reset. Every answer closes its connection.
 *
 * A connection refused needs no server: refusingUrl() names a loopback port where nothing listens.
 * startSink() is "another host" (127.0.0.2) that records whatever reaches it, for redirects and traps.
 *
 * Passing through: the upstream's discovery documents are rewritten to name this server, so the CLI
 * talks only to it; id_token is dropped from token responses, because its `iss` names the upstream
 * (OpenID Connect makes it optional on refresh, and the CLI never needs it).
 */
import { afterAll, expect } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type RunResult, runBinary } from "./binary.ts";

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: Record<string, string>;
  body: string;
  /** ms since the fault server started. */
  at: number;
  /** What the server did with it. */
  fault: Fault["kind"];
}

export type Fault =
  /** Forward to the upstream and relay its answer, changed by `transform` when given. */
  | { kind: "pass"; transform?: (answer: CannedAnswer) => CannedAnswer }
  /** The status line, headers and half the body of the upstream's answer (or `answer`), then a TCP reset. */
  | { kind: "reset"; answer?: CannedAnswer }
  /** Close the connection without a byte of answer. */
  | { kind: "close" }
  /** Read the request and never answer (the connection stays open until the server closes). */
  | { kind: "hang" }
  /** The upstream's answer (or `answer`), written one byte every `byteDelayMs`. */
  | { kind: "slow"; byteDelayMs: number; answer?: CannedAnswer }
  /** A fixed answer. */
  | ({ kind: "answer" } & CannedAnswer)
  /** `bytes` of body, streamed; with or without a Content-Length announcing them. */
  | { kind: "huge"; bytes: number; declareLength: boolean; contentType?: string };

export interface CannedAnswer {
  status: number;
  /** A list sends the header once per value (Set-Cookie). */
  headers?: Record<string, string | string[]>;
  body?: string;
}

export interface Rule {
  /** Which requests: a path prefix, a pattern over the path, or every request when omitted. */
  path?: string | RegExp;
  method?: string;
  /** How many matching requests get the fault; then the rule is spent. Default: all of them. */
  times?: number;
  fault: Fault;
}

export interface FaultServer {
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Replaces the rules (first match wins) and clears the request log. */
  use(...rules: Rule[]): void;
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  200: "OK",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Canned answers for the common faults. */
export const faults = {
  rateLimited: (retryAfter: string): Fault => ({
    kind: "answer",
    status: 429,
    headers: { "retry-after": retryAfter, "content-type": "application/json" },
    body: '{"error":"rate_limited","error_description":"Too many requests"}',
  }),
  serverError: (status = 503): Fault => ({
    kind: "answer",
    status,
    headers: { "content-type": "application/json" },
    body: '{"error":"server_error","error_description":"The server is temporarily unavailable"}',
  }),
  maintenancePage: (): Fault => ({
    kind: "answer",
    status: 503,
    headers: { "content-type": "text/html; charset=utf-8", "retry-after": "1" },
    body: MAINTENANCE_PAGE,
  }),
  /** A 200 that claims JSON and is not. */
  invalidJson: (): Fault => ({ kind: "answer", status: 200, headers: { "content-type": "application/json" }, body: '{"sub": "usr_1", "email": ' }),
  /** Valid JSON under a content type that is not JSON. */
  wrongContentType: (body: string): Fault => ({ kind: "answer", status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body }),
  redirect: (location: string, status = 302): Fault => ({ kind: "answer", status, headers: { location } }),
  huge: (declareLength: boolean, bytes = 20 * 1024 * 1024): Fault => ({ kind: "huge", bytes, declareLength, contentType: "application/json" }),
  /** The upstream's answer under another content type. */
  relabel: (contentType: string): Fault => ({
    kind: "pass",
    transform: (answer) => ({ ...answer, headers: { ...answer.headers, "content-type": contentType } }),
  }),
  /** The upstream's JSON answer with some members replaced. */
  patchJson: (patch: Record<string, unknown>): Fault => ({
    kind: "pass",
    transform: (answer) => ({ ...answer, body: JSON.stringify({ ...(JSON.parse(answer.body ?? "{}") as object), ...patch }) }),
  }),
};

export const MAINTENANCE_PAGE =
  "<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>PipeOps is down for maintenance</h1>" +
  "<p>We'll be back shortly.</p><script>console.log('x')</script></body></html>";

interface ParsedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** Parses one request from the bytes so far; undefined until it is complete. */
function parseRequest(buffer: Buffer): ParsedRequest | undefined {
  const end = buffer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [requestLine = "", ...lines] = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const [method = "GET", path = "/"] = requestLine.split(" ");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = buffer.subarray(end + 4);
  if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
    const body: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const lineEnd = rest.indexOf("\r\n", offset);
      if (lineEnd < 0) return undefined;
      const size = parseInt(rest.subarray(offset, lineEnd).toString("latin1"), 16);
      if (size === 0) return { method, path, headers, body: Buffer.concat(body) };
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      body.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(headers["content-length"] ?? 0);
  if (rest.length < length) return undefined;
  return { method, path, headers, body: rest.subarray(0, length) };
}

function head(status: number, headers: Record<string, string | string[]>): string {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${one}`);
  }
  lines.push("connection: close", "", "");
  return lines.join("\r\n");
}

function serialize(answer: CannedAnswer): Buffer {
  const body = Buffer.from(answer.body ?? "");
  return Buffer.concat([Buffer.from(head(answer.status, { ...answer.headers, "content-length": String(body.length) })), body]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the fault server on 127.0.0.1 (port 0) in front of `upstream` (or of nothing: then "pass" is a 502). */
export async function startFaultServer(upstream?: string): Promise<FaultServer> {
  const started = Date.now();
  const requests: RecordedRequest[] = [];
  let rules: (Rule & { used: number })[] = [];
  const sockets = new Set<Socket>();
  let url = "";

  function pick(request: ParsedRequest): Fault {
    const pathname = request.path.split("?")[0] ?? "/";
    for (const rule of rules) {
      if (rule.method && rule.method !== request.method) continue;
      if (typeof rule.path === "string" && !pathname.startsWith(rule.path)) continue;
      if (rule.path instanceof RegExp && !rule.path.test(pathname)) continue;
      if (rule.times !== undefined && rule.used >= rule.times) continue;
      rule.used++;
      return rule.fault;
    }
    return { kind: "pass" };
  }

  /** The upstream's answer as bytes, rewritten to name this server. */
  async function passThrough(request: ParsedRequest): Promise<CannedAnswer> {
    if (!upstream) return { status: 502, headers: { "content-type": "text/plain" }, body: "no upstream" };
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (!["host", "connection", "content-length", "transfer-encoding", "accept-encoding"].includes(name)) headers.set(name, value);
    }
    const response = await fetch(`${upstream}${request.path}`, {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : new Uint8Array(request.body),
      redirect: "manual",
    });
    let body = await response.text();
    const pathname = request.path.split("?")[0] ?? "";
    if (pathname.startsWith("/.well-known/")) body = body.replaceAll(upstream, url);
    const contentType = response.headers.get("content-type") ?? "";
    if (contentType.includes("json") && body.includes('"id_token"')) {
      const json = JSON.parse(body) as Record<string, unknown>;
      delete json.id_token;
      body = JSON.stringify(json);
    }
    // Everything but framing; cookies one by one (the login pages need them); redirects renamed.
    const relayed: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      if (!["connection", "content-length", "transfer-encoding", "content-encoding", "keep-alive", "set-cookie"].includes(name)) relayed[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) relayed["set-cookie"] = cookies;
    const location = response.headers.get("location");
    // The RFC 9207 iss parameter of a redirect names the upstream too, URL-encoded.
    if (location !== null) relayed.location = location.replaceAll(upstream, url).replaceAll(encodeURIComponent(upstream), encodeURIComponent(url));
    return { status: response.status, headers: relayed, body };
  }

  async function respond(socket: Socket, request: ParsedRequest): Promise<void> {
    const fault = pick(request);
    requests.push({
      method: request.method,
      path: request.path,
      headers: request.headers,
      body: request.body.toString("utf8"),
      at: Date.now() - started,
      fault: fault.kind,
    });
    switch (fault.kind) {
      case "hang":
        return;
      case "close":
        socket.destroy();
        return;
      case "reset": {
        const bytes = serialize(fault.answer ?? (await passThrough(request)));
        const headEnd = bytes.indexOf("\r\n\r\n") + 4;
        socket.write(bytes.subarray(0, headEnd + Math.max(1, Math.floor((bytes.length - headEnd) / 2))));
        await sleep(20);
        socket.resetAndDestroy();
        return;
      }
      case "slow": {
        const bytes = serialize(fault.answer ?? (await passThrough(request)));
        for (let i = 0; i < bytes.length && !socket.destroyed; i++) {
          socket.write(bytes.subarray(i, i + 1));
          await sleep(fault.byteDelayMs);
        }
        socket.end();
        return;
      }
      case "huge": {
        const headers: Record<string, string> = { "content-type": fault.contentType ?? "application/json" };
        if (fault.declareLength) headers["content-length"] = String(fault.bytes);
        socket.write(head(200, headers));
        // A valid JSON string that never seems to end, written as fast as the client reads it.
        const chunk = Buffer.alloc(64 * 1024, "x");
        let sent = 0;
        socket.write('{"sub":"');
        sent += 8;
        while (sent < fault.bytes && !socket.destroyed) {
          const piece = chunk.subarray(0, Math.min(chunk.length, fault.bytes - sent - 2));
          if (!socket.write(piece)) await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
          sent += piece.length;
          if (fault.bytes - sent <= 2) break;
        }
        if (!socket.destroyed) socket.end('"}');
        return;
      }
      case "answer":
        socket.end(serialize(fault));
        return;
      case "pass": {
        const answer = await passThrough(request);
        socket.end(serialize(fault.transform ? fault.transform(answer) : answer));
        return;
      }
    }
  }

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    let handled = false;
    socket.on("data", (data: Buffer) => {
      if (handled) return;
      buffer = Buffer.concat([buffer, data]);
      const request = parseRequest(buffer);
      if (!request) return;
      handled = true;
      respond(socket, request).catch(() => socket.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    requests,
    use(...next) {
      rules = next.map((rule) => ({ ...rule, used: 0 }));
      requests.length = 0;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL where nothing listens: connections are refused. */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * Another loopback "host" (127.0.0.2) that records whatever reaches it: the target of redirects and of
 * a hostile working folder's settings, which must never receive a request.
 */
export async function startSink(hostname = "127.0.0.2"): Promise<{ url: string; hits: RecordedRequest[]; close(): Promise<void> }> {
  const hits: RecordedRequest[] = [];
  const started = Date.now();
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      const request = parseRequest(buffer);
      if (!request) return;
      hits.push({ ...request, body: request.body.toString("utf8"), at: Date.now() - started, fault: "answer" });
      socket.end(serialize({ status: 200, headers: { "content-type": "application/json" }, body: '{"sub":"sink","email":"sink@example.com"}' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, hostname, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${hostname}:${port}`, hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ---------------------------------------------------------------------------
// What every fault test does with the binary.

export interface FaultHome {
  dir: string;
  /** The credential file. */
  path: string;
  /** Its bytes as written, to compare after the run. */
  before: string;
  env: Record<string, string>;
}

/** A HOME whose credential file holds `fields` (plus a key of the user's); HTTP timeout 2 s. */
export function loggedInHome(fields: Record<string, unknown>): FaultHome {
  const dir = mkdtempSync(join(tmpdir(), "pipeops-faults-"));
  const path = join(dir, ".pipeops.json");
  const before = `${JSON.stringify({ ...fields, settings: { theme: "dark" } }, null, 2)}\n`;
  writeFileSync(path, before, { mode: 0o600 });
  return { dir, path, before, env: { HOME: dir, PIPEOPS_HTTP_TIMEOUT: "2" } };
}

export async function timedRun(args: string[], env: Record<string, string>, stdin?: string): Promise<RunResult & { ms: number }> {
  const started = performance.now();
  const result = await runBinary(args, { env, stdin, timeoutMs: 50_000 });
  return { ...result, ms: performance.now() - started };
}

/**
 * The failure every fault must end in: exit 1, nothing on stdout, one `Error:` line (and at most a
 * hint), no stack trace, no HTML, none of the `secrets`.
 */
export function expectCleanFailure(result: RunResult, message: string | RegExp, secrets: string[]): void {
  const lines = result.stderr.trimEnd().split("\n");
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: "" });
  expect(lines.length).toBeLessThanOrEqual(2);
  if (typeof message === "string") expect(lines[0]).toBe(`Error: ${message}`);
  else expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at |node_modules|\.ts:\d+|<html|<!DOCTYPE/im);
  for (const secret of secrets) expect(result.stderr).not.toContain(secret);
}

/**
 * What every fault test file runs against: the standards server, the fault proxy in front of it,
 * and a sink on another loopback address that must never be reached; closed together after the file.
 */
export async function startFaultStack(): Promise<{ dev: DevServer; fault: FaultServer; sink: Awaited<ReturnType<typeof startSink>> }> {
  const dev = await startDevServer({ port: 0 });
  const fault = await startFaultServer(dev.url);
  const sink = await startSink();
  afterAll(async () => {
    await fault.close();
    await sink.close();
    await dev.close();
  });
  return { dev, fault, sink };
}
