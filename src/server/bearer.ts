/** What a bearer token can be, wherever it comes from: a grant, the file, the environment or stdin. */

/** The longest token accepted from anywhere: far beyond any real access token, far less than `yes` sends. */
export const MAX_TOKEN_CHARS = 16 * 1024;

/**
 * RFC 6750 §2.1 b64token: what a bearer token can be. Anything else (a line break, a space, bytes
 * that were not UTF-8) would corrupt the Authorization header, so it is refused before any request.
 */
export function isBearerToken(token: string): boolean {
  return token.length <= MAX_TOKEN_CHARS && /^[A-Za-z0-9\-._~+/]+=*$/.test(token);
}
