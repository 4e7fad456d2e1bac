/**
 * Reading what an endpoint answers: oauth4webapi's errors as one-line CliErrors, and for PipeOps: the `{status, message, data}` envelope around a body,
 * and the server's own message in an error, which is `{status: "error", message}` or plain text
 * (PipeOpsHQ/pipeops-go-sdk pipeops/client.go, CheckResponse and ErrorResponse). Standard OAuth
 * error bodies (RFC 6749 §5.2) are read too, so one function serves every server.
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import { CliError, otherIssuer, requestRefused, requestRejected, sanitize, statusError, unexpectedFailure, unsupportedResponse } from "../errors.ts";

/** How much of a server's message is shown: one line, never a page. */
const MESSAGE_CHARS = 200;

const text = v.pipe(v.string(), v.maxLength(10_000));

const ErrorBodySchema = v.looseObject({
  message: v.optional(v.unknown()),
  error: v.optional(v.unknown()),
  error_description: v.optional(v.unknown()),
  data: v.optional(v.unknown()),
});

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
  const body = v.safeParse(ErrorBodySchema, parsed);
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

/** Maps oauth4webapi's errors to one-line CliErrors; CliErrors pass through unchanged. */
export function oauthError(error: unknown, server: string): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof oauth.ResponseBodyError) return requestRejected(server, error.error, error.error_description, error);
  if (error instanceof oauth.WWWAuthenticateChallengeError) return requestRefused(server, error.status, error);
  if (error instanceof oauth.UnsupportedOperationError) return unsupportedResponse(server, error.message, error);
  if (error instanceof oauth.OperationProcessingError) {
    if (error.code === oauth.JSON_ATTRIBUTE_COMPARISON) return otherIssuer(server, error);
    // After the HTTP client's retries: say that the server is down or busy, not that it is odd.
    const status = error.cause instanceof Response ? error.cause.status : undefined;
    return statusError(server, status, describeProcessingError(error), error);
  }
  return unexpectedFailure(server, error);
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
