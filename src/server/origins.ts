/** Where a server's endpoints may be: a token goes only to the origin it was issued by. */
import type { Metadata } from "./cache.ts";

/** Where a token may go: the API's origin, and for the sign-in page (no token, but the code's way back) the console's too. */
export interface Origins {
  readonly api: string;
  /** Looked up only when an authorization endpoint is not on the API's origin. */
  console(): string;
}

/**
 * The first endpoint (or the issuer) the metadata puts on another origin than the API's: tokens,
 * codes and verifiers go to these endpoints, so a cache entry or a metadata document that moved one
 * elsewhere would hand them to whoever runs it.
 */
export function offOrigin(metadata: Metadata, origins: Origins): string | undefined {
  if (new URL(metadata.issuer).origin !== origins.api) return "issuer";
  for (const key of ["token_endpoint", "userinfo_endpoint", "device_authorization_endpoint", "revocation_endpoint"] as const) {
    const value = metadata[key];
    if (value && new URL(value).origin !== origins.api) return key;
  }
  const signIn = metadata.authorization_endpoint ? new URL(metadata.authorization_endpoint).origin : origins.api;
  return signIn === origins.api || signIn === origins.console() ? undefined : "authorization_endpoint";
}
