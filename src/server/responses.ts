/**
 * Reading what an endpoint answers, for PipeOps: the `{status, message, data}` envelope around a body,
 * and the server's own message in an error, which is `{status: "error", message}` or plain text
 * (PipeOpsHQ/pipeops-go-sdk pipeops/client.go, CheckResponse and ErrorResponse). Standard OAuth
 * error bodies (RFC 6749 §5.2) are read too, so one function serves every server.
 */
import * as v from "valibot";
import { sanitize, statusError } from "../errors.ts";
import { builtOnFirstUse } from "../schemas.ts";

/** How much of a server's message is shown: one line, never a page. */
const MESSAGE_CHARS = 200;

const text = v.pipe(v.string(), v.maxLength(10_000));

const errorBodySchema = builtOnFirstUse(() =>
  v.looseObject({
    message: v.optional(v.unknown()),
    error: v.optional(v.unknown()),
    error_description: v.optional(v.unknown()),
    data: v.optional(v.unknown()),
  }),
);

/** The envelope PipeOps wraps bodies in: `data` beside `status` (or `success`) and `message`. */
const EnvelopeSchema = v.looseObject({
  data: v.record(v.string(), v.unknown()),
  status: v.optional(v.union([text, v.number()])),
  success: v.optional(v.boolean()),
  message: v.optional(v.unknown()),
});

/**
 * The body inside a PipeOps envelope, or the body itself when it has none (a standard server).
 * Only an object whose `data` is an object and which has `status`, `success` or `message` beside
 * it counts as an envelope: `data` alone may be an ordinary claim.
 */
export function unwrapEnvelope(body: unknown): unknown {
  const envelope = v.safeParse(EnvelopeSchema, body);
  if (!envelope.success) return body;
  const { status, success, message } = envelope.output;
  return status !== undefined || success !== undefined || message !== undefined ? envelope.output.data : body;
}

/**
 * The server's own words for a failed request, sanitised and short: the envelope's `message`, an
 * RFC 6749 `error_description` (or `error`), or a plain-text body; undefined for an HTML page or
 * nothing at all.
 */
export function serverMessage(bodyText: string): string | undefined {
  const trimmed = bodyText.trim();
  if (trimmed === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    // Plain text is a message; a web page (a proxy's, a maintenance notice) is not one to repeat.
    if (/^<(!doctype|html|\?xml)/i.test(trimmed) || /<\/(html|body|head)>/i.test(trimmed)) return undefined;
    return shorten(trimmed);
  }
  const body = v.safeParse(errorBodySchema(), parsed);
  if (!body.success) return undefined;
  const { message, error, error_description } = body.output;
  for (const candidate of [message, error_description, error]) {
    if (typeof candidate === "string" && candidate.trim()) return shorten(candidate);
  }
  return undefined;
}

function shorten(message: string): string {
  return sanitize(message.split(/\r?\n/)[0] ?? "", MESSAGE_CHARS);
}

/** The body of a response as JSON, or undefined when it is not JSON (whatever its content type says). */
export async function jsonBody(response: Response): Promise<unknown> {
  const bodyText = await response.text();
  try {
    return JSON.parse(bodyText) as unknown;
  } catch {
    return undefined;
  }
}

/** A 2xx JSON body, or the one-line error its status and the server's own message make. */
export async function okJson(response: Response, server: string): Promise<unknown> {
  if (!response.ok) throw statusError(server, response.status, serverMessage(await response.text()) ?? "unexpected status code");
  const body = await jsonBody(response);
  if (body === undefined) throw statusError(server, undefined, "expected JSON");
  return body;
}

/** The first field valibot found wrong, by its path: never its message, which quotes the server's text. */
export function issueKey(issues: readonly v.BaseIssue<unknown>[]): string | null {
  return issues[0] ? v.getDotPath(issues[0]) : null;
}
