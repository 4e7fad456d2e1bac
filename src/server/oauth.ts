/**
 * What oauth4webapi needs of a connection, and its errors in our words: the one module the OAuth
 * flows (code, device, refresh, revocation, discovery, OpenID userinfo) share, and the only one
 * that loads oauth4webapi for them. A command that makes no OAuth request, such as `auth status`
 * with the PipeOps API already known, never loads it (npm run bench, with a session).
 */
import * as oauth from "oauth4webapi";
import { CliError, otherIssuer, requestRefused, requestRejected, sanitize, statusError, unexpectedFailure, unsupportedResponse } from "../errors.ts";

export type HttpOptions = oauth.HttpRequestOptions<"GET" | "POST", unknown>;

/**
 * oauth4webapi's request options for a connection: its fetch (ours, observing the server's clock
 * and refusing plain http:// to anything but loopback, which is why oauth4webapi's own refusal is off).
 */
export function oauthHttp(conn: { readonly fetch: typeof fetch }): HttpOptions {
  return { [oauth.customFetch]: conn.fetch, [oauth.allowInsecureRequests]: true } as HttpOptions;
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
