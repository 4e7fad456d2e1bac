import * as oauth from "oauth4webapi";
import * as v from "valibot";
import { createHttpFetch } from "./http.ts";
import { assertSecureUrl, serverName } from "./server-url.ts";
import type { Context } from "../context.ts";
import { CliError, sanitize } from "../errors.ts";

export const DEFAULT_CLIENT_ID = "pipeops-cli";

/** Everything needed to talk OAuth to one server: its metadata, our client, and the HTTP options. */
export interface ServerConnection {
  readonly apiUrl: URL;
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly clientAuth: oauth.ClientAuth;
  readonly http: oauth.HttpRequestOptions<"GET" | "POST", unknown>;
}

const endpoint = v.optional(v.pipe(v.string(), v.url()));
const MetadataSchema = v.looseObject({
  issuer: v.pipe(v.string(), v.url()),
  authorization_endpoint: endpoint,
  token_endpoint: endpoint,
  userinfo_endpoint: endpoint,
  device_authorization_endpoint: endpoint,
  revocation_endpoint: endpoint,
  code_challenge_methods_supported: v.optional(v.array(v.string())),
  authorization_response_iss_parameter_supported: v.optional(v.boolean()),
});

/** Production endpoints, for a server that publishes no metadata. */
function builtInMetadata(apiUrl: URL): oauth.AuthorizationServer {
  const at = (path: string) => new URL(path, apiUrl.href.endsWith("/") ? apiUrl : `${apiUrl.href}/`).href;
  return {
    issuer: apiUrl.href,
    authorization_endpoint: at("oauth/authorize"),
    token_endpoint: at("oauth/token"),
    userinfo_endpoint: at("oauth/userinfo"),
    device_authorization_endpoint: at("oauth/device/code"),
    revocation_endpoint: at("oauth/revoke"),
    code_challenge_methods_supported: ["S256"],
  };
}

export function clientId(ctx: Context): string {
  return ctx.env.PIPEOPS_CLIENT_ID?.trim() || DEFAULT_CLIENT_ID;
}

/** Discovers the server's endpoints: RFC 8414 metadata first, then OpenID Connect Discovery. */
export async function connect(ctx: Context, apiUrl: URL): Promise<ServerConnection> {
  const http = {
    [oauth.customFetch]: createHttpFetch(ctx),
    // Our fetch already refuses plain http:// to anything but loopback (assertSecureUrl).
    [oauth.allowInsecureRequests]: true,
  } as oauth.HttpRequestOptions<"GET" | "POST", unknown>;
  const name = serverName(apiUrl);
  let as: oauth.AuthorizationServer | undefined;
  for (const algorithm of ["oauth2", "oidc"] as const) {
    const response = await oauth.discoveryRequest(apiUrl, { ...http, algorithm } as oauth.DiscoveryRequestOptions);
    if (response.status === 404 || response.status === 405 || response.status === 410) continue;
    try {
      as = await oauth.processDiscoveryResponse(apiUrl, response);
    } catch (error) {
      throw oauthError(error, name);
    }
    break;
  }
  as ??= builtInMetadata(apiUrl);
  const checked = v.safeParse(MetadataSchema, as);
  if (!checked.success) {
    // Name the key, not valibot's message: that quotes the server's text, escapes included.
    const key = checked.issues[0] ? v.getDotPath(checked.issues[0]) : null;
    throw new CliError("server", `${name} sent invalid server metadata${key ? ` (${key})` : ""}`);
  }
  for (const key of ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "device_authorization_endpoint", "revocation_endpoint"] as const) {
    const value = checked.output[key];
    if (value) assertSecureUrl(new URL(value));
  }
  return { apiUrl, as, client: { client_id: clientId(ctx) }, clientAuth: oauth.None(), http };
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
    if (code === 429) return new CliError("server", `${server} is rate limiting requests (HTTP 429)`, "Wait a minute and try again", { cause: error });
    if (code !== undefined && code >= 500) return new CliError("server", `${server} is unavailable (HTTP ${code})`, "Try again later", { cause: error });
    const status = code === undefined ? "" : ` (HTTP ${code})`;
    return new CliError("server", `${server} sent an unexpected response${status}: ${describeProcessingError(error)}`, undefined, { cause: error });
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
