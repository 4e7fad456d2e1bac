/**
 * `pipeops api <path>`: any PipeOps API call with the stored session, as `gh api` is for GitHub.
 * Paths are the Go SDK's (PipeOpsHQ/pipeops-go-sdk pipeops/projects.go: `project/fetch`,
 * `project/fetch/{uuid}`, `project/create`; users.go: `profile/data`; oauth.go: `oauth/userinfo`),
 * relative to the API URL in use. Errors come as `{status, message}` envelopes or plain text
 * (pipeops/client.go, CheckResponse), and the message is what the error line shows.
 */
import { type ApiAnswer, type ApiRequest, callApi } from "../api/call.ts";
import { type Field, fieldsToBody, fieldsToQuery, splitField, typedValue } from "../api/fields.ts";
import { formatHead, prettyJson, terminalSafe } from "../api/pretty.ts";
import { apiTarget, parseHeader } from "../api/target.ts";
import { type Command, parseCommandLine, type Streams } from "../command.ts";
import type { Context } from "../context.ts";
import {
  apiFileUnreadable,
  apiInputTooLarge,
  apiStatus,
  badMethod,
  bodyWithoutRoom,
  MAX_API_INPUT_BYTES,
  redirectedElsewhere,
  stdinReadTwice,
  unknownMethod,
  usageError,
} from "../errors.ts";
import { printError } from "../output.ts";
import { AT_ONCE_BYTES, declaredWithin } from "../server/http.ts";
import { requireSession } from "../session/session.ts";
import { VERSION } from "../version.ts";

export interface ApiOptions {
  path: string;
  method?: string;
  /** -f and -F in the order given; `typed` for -F. */
  fields: readonly { arg: string; typed: boolean }[];
  input?: string;
  headers: readonly (readonly [string, string])[];
  include: boolean;
  silent: boolean;
}

export interface ApiResult extends ApiAnswer {
  readonly method: string;
}

const FLAGS = [
  { name: "--method", short: "-X", value: "<method>", description: "The HTTP method (default GET, or POST with fields or --input)" },
  { name: "--raw-field", short: "-f", value: "<key=value>", repeatable: true, description: "A string field; key[]=v for an array, key[sub]=v for an object" },
  {
    name: "--field",
    short: "-F",
    value: "<key=value>",
    repeatable: true,
    description:
      "A typed field: true, false, null, integers, @file or @- for a file's or stdin's text (@file reads any file you can read, as gh api does: never pass -F a value you did not write)",
  },
  { name: "--input", value: "<file>", description: "The request body as it is, from a file or - for stdin (at most 10 MiB)" },
  { name: "--header", short: "-H", value: "<'Name: value'>", repeatable: true, description: "A request header; repeat for more" },
  { name: "--include", short: "-i", description: "Print the status line and response headers before the body" },
  { name: "--silent", description: "Do not print the response body" },
] as const;

/** The methods an API call may use (the runtime's fetch turns others into GET, or refuses them). */
const METHODS: readonly string[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** Methods whose fields go into the query string: they carry no body. */
const QUERY_METHODS = new Set(["GET", "HEAD", "DELETE"]);

async function parse(argv: readonly string[]): Promise<ApiOptions> {
  const { values, args, given } = await parseCommandLine(command, argv);
  const path = args[0];
  if (path === undefined) throw usageError("api needs a path, e.g. pipeops api oauth/userinfo", "Run 'pipeops api --help' for usage");
  const method = values.method?.toUpperCase();
  if (method !== undefined && !/^[A-Z]{1,20}$/.test(method)) throw badMethod();
  // The runtime's fetch sends a method it does not know as GET: only these go out as typed.
  if (method !== undefined && !METHODS.includes(method)) throw unknownMethod(method, (await import("../suggest.ts")).closest(method, METHODS));
  // -f and -F together, in the order given: `-f a[]=x -F a[]=1` is ["x", 1].
  const fields = given.filter(([name]) => name === "--raw-field" || name === "--field").map(([name, arg]) => ({ arg, typed: name === "--field" }));
  for (const field of fields) splitField(field.arg, field.typed ? "-F" : "-f");
  return {
    path,
    method,
    fields,
    input: values.input,
    headers: (values.header ?? []).map(parseHeader),
    include: values.include ?? false,
    silent: values.silent ?? false,
  };
}

/** Reads standard input at most once, whoever asks. */
function stdinOnce(ctx: Context): (what: string) => Promise<Uint8Array> {
  let used = false;
  return async (what) => {
    if (used) throw stdinReadTwice();
    used = true;
    const bytes = await ctx.stdin.readBytes(MAX_API_INPUT_BYTES);
    if (bytes.length > MAX_API_INPUT_BYTES) throw apiInputTooLarge(what);
    return bytes;
  };
}

async function readFileBytes(what: string, path: string): Promise<Uint8Array> {
  const fs = await import("../runtime/fs.ts");
  try {
    return await fs.readBoundedFile(path, MAX_API_INPUT_BYTES, () => apiInputTooLarge(`${what} ${path}`));
  } catch (error) {
    if (error instanceof fs.NotAFileError) throw apiFileUnreadable(what, path, error.message);
    if (fs.errorCode(error) === "ENOENT") throw apiFileUnreadable(what, path, "no such file");
    if (fs.isPermissionError(error)) throw apiFileUnreadable(what, path, "permission denied");
    throw error;
  }
}

/** The request the options describe: fields read (files, stdin), then in the query or a JSON body. */
async function buildRequest(ctx: Context, options: ApiOptions, apiUrl: URL): Promise<ApiRequest> {
  const readStdin = stdinOnce(ctx);
  const fields: Field[] = [];
  for (const { arg, typed } of options.fields) {
    const { key, path, raw } = splitField(arg, typed ? "-F" : "-f");
    let value = typed ? typedValue(raw) : raw;
    if (typed && raw.startsWith("@")) {
      const what = `the file for field '${key}'`;
      const bytes = raw === "@-" ? await readStdin(`standard input for field '${key}'`) : await readFileBytes(what, raw.slice(1));
      value = new TextDecoder().decode(bytes);
    }
    fields.push({ key, path, value });
  }
  let body: Uint8Array | undefined;
  if (options.input !== undefined) {
    body = options.input === "-" ? await readStdin("standard input for --input") : await readFileBytes("the --input file", options.input);
  }
  const method = options.method ?? (fields.length > 0 || body ? "POST" : "GET");
  if (body !== undefined && (method === "GET" || method === "HEAD")) throw bodyWithoutRoom(method);
  const url = apiTarget(apiUrl, options.path);
  const headers = new Headers({ accept: "application/json", "user-agent": `pipeops/${VERSION}` });
  if (body !== undefined || QUERY_METHODS.has(method)) {
    for (const [key, value] of fieldsToQuery(fields)) url.searchParams.append(key, value);
  } else if (fields.length > 0) {
    body = new TextEncoder().encode(JSON.stringify(fieldsToBody(fields)));
  }
  if (body !== undefined) headers.set("content-type", "application/json");
  for (const [name, value] of options.headers) headers.set(name, value);
  return { method, url, headers: [...headers], body };
}

async function run(ctx: Context, options: ApiOptions): Promise<ApiResult> {
  const session = await requireSession(ctx);
  const request = await buildRequest(ctx, options, session.apiUrl);
  return { ...(await callApi(ctx, session, request)), method: request.method };
}

/** What JSON looks like by its Content-Type: application/json and the +json types. */
const isJson = (response: Response) => /^application\/([\w.-]+\+)?json\b/i.test(response.headers.get("content-type") ?? "");

/** How much of a JSON body is held to indent it at a terminal; past this it is shown as it comes. */
const MAX_PRETTY_BYTES = 8 * 1024 * 1024;
/** How much of an error body is held to find its message. */
const MAX_ERROR_BYTES = 64 * 1024;

/** The body piece by piece: a stream's reader, or the whole of a small body in one piece. */
type BodyReader = Pick<ReadableStreamDefaultReader<Uint8Array>, "read" | "cancel">;

/** The body's reader: a small one of declared length in one piece, read by the runtime (src/server/http.ts, declaredWithin). */
function bodyReader(response: Response): BodyReader | undefined {
  if (!declaredWithin(response, AT_ONCE_BYTES)) return response.body?.getReader();
  let read = false;
  return {
    async read() {
      const value = read ? undefined : await response.bytes();
      read = true;
      return value?.length ? { done: false, value } : { done: true, value: undefined };
    },
    async cancel(reason) {
      if (!read) await response.body?.cancel(reason);
      read = true;
    },
  };
}

/** Up to `limit` bytes of the body, and whether that was all of it (the reader is left where it stopped). */
async function readUpTo(reader: BodyReader, limit: number): Promise<{ chunks: Uint8Array[]; size: number; done: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const { value, done } = await reader.read();
    if (done) return { chunks, size, done: true };
    chunks.push(value);
    size += value.length;
  }
  return { chunks, size, done: false };
}

/**
 * The body to stdout as it arrives. On a pipe, byte for byte; at a terminal, JSON indented and
 * coloured (when it fits in memory), other text with terminal controls made visible.
 */
async function writeBody(io: Streams, response: Response, held: Uint8Array[], reader: BodyReader, done: boolean): Promise<void> {
  const { stdout } = io;
  if (!stdout.isTTY) {
    for (const chunk of held) if (!(await stdout.writeBytes(chunk))) return void (await reader.cancel());
    for (let next = done ? undefined : await reader.read(); next && !next.done; next = await reader.read()) {
      if (!(await stdout.writeBytes(next.value))) return void (await reader.cancel());
    }
    return;
  }
  const decoder = new TextDecoder();
  let rest = held;
  let finished = done;
  if (isJson(response) && !done) {
    const more = await readUpTo(reader, MAX_PRETTY_BYTES);
    rest = [...held, ...more.chunks];
    finished = more.done;
  }
  let text = rest.map((chunk) => decoder.decode(chunk, { stream: true })).join("");
  const pretty = finished && isJson(response) ? prettyJson(text + decoder.decode(), stdout.colors) : undefined;
  if (pretty !== undefined) return stdout.write(pretty);
  let last = "";
  for (;;) {
    if (text) stdout.write(terminalSafe(text));
    last = text || last;
    if (finished) break;
    const next = await reader.read();
    finished = next.done;
    text = next.done ? decoder.decode() : decoder.decode(next.value, { stream: true });
  }
  // The shell's prompt on a line of its own.
  if (last && !last.endsWith("\n")) stdout.write("\n");
}

/** The server's own words for a failure: its envelope's message, an OAuth error, or a short plain text. */
function failureMessage(held: Uint8Array[], response: Response): string {
  const decoder = new TextDecoder();
  const text = (held.map((chunk) => decoder.decode(chunk, { stream: true })).join("") + decoder.decode()).trim();
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object") {
      const { message, error_description, error } = body as Record<string, unknown>;
      for (const candidate of [message, error_description, error]) if (typeof candidate === "string" && candidate.trim()) return candidate;
    }
  } catch {
    if (text && !text.includes("\n") && text.length <= 200 && !/^</.test(text)) return text;
  }
  return response.statusText || "the request failed";
}

async function render(io: Streams, result: ApiResult, options: ApiOptions): Promise<void> {
  const { response } = result;
  if (options.include) io.stdout.write(formatHead(response));
  if (result.offOrigin) {
    await response.body?.cancel();
    throw redirectedElsewhere(result.url.origin, result.offOrigin);
  }
  const failed = response.status >= 400;
  const reader = bodyReader(response);
  let message: string | undefined;
  if (reader) {
    // An error's body is small: held whole (to find its message) before it goes out.
    const first = failed ? await readUpTo(reader, MAX_ERROR_BYTES) : { chunks: [], size: 0, done: false };
    if (failed) message = failureMessage(first.chunks, response);
    if (options.silent || result.method === "HEAD") await reader.cancel();
    else await writeBody(io, response, first.chunks, reader, first.done);
  }
  if (failed) printError(io.stderr, apiStatus(message ?? (response.statusText || "the request failed"), response.status));
}

export const command: Command<ApiOptions, ApiResult, typeof FLAGS> = {
  name: "api",
  summary: "Make an authenticated request to the PipeOps API",
  usage: "<path> [flags]",
  arguments: ["<path>"],
  flags: FLAGS,
  examples: [
    "pipeops api oauth/userinfo",
    "pipeops api -X GET project/fetch -f workspace_uuid=$WORKSPACE -F limit=50",
    "pipeops api project/create -f name=web -F port=8080 -F 'settings[public]=true'",
    "pipeops api project/create --input project.json",
    "pipeops api project/fetch/$UUID -i -H 'Accept: application/json'",
    "pipeops api \"project/fetch?workspace_uuid=$WORKSPACE\" | jq '.data.projects.rows[].Name'",
  ],
  parse,
  run,
  render,
  exitCode: (result) => (result.response.status >= 400 ? 1 : 0),
};
