/**
 * Discovery: RFC 8414 metadata, then OpenID Connect Discovery, asked of a server not remembered
 * (src/server/cache.ts); neither means the PipeOps API. Loaded by connect() only then.
 */
import * as oauth from "oauth4webapi";
import * as v from "valibot";
import { endpointElsewhere, invalidBody } from "../errors.ts";
import { type Metadata, MetadataSchema, type ServerFacts } from "./cache.ts";
import { oauthError, oauthHttp } from "./oauth.ts";
import { type Origins, offOrigin } from "./origins.ts";
import { issueKey } from "./responses.ts";
import { assertSecureUrl, serverName } from "./url.ts";

/** A discovery answer that says "no metadata here", rather than "something is wrong". */
function publishesNone(response: Response): boolean {
  return response.status === 404 || response.status === 405 || response.status === 410;
}

/** RFC 8414 metadata first, then OpenID Connect Discovery; neither means the PipeOps API. */
export async function discover(apiUrl: URL, fetch: typeof globalThis.fetch, origins: Origins): Promise<ServerFacts> {
  const name = serverName(apiUrl);
  const http = oauthHttp({ fetch });
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
