/**
 * The error type, its codes and the exit code each maps to, and the spec's own messages: what
 * every start may need. src/errors.ts re-exports all of it beside every other message.
 */

/** Stable error codes, and the one place they are mapped to exit codes (exitCodeFor). */
export type ErrorCode =
  | "not_authenticated"
  | "token_expired"
  | "invalid_token"
  | "config_invalid"
  | "config_write"
  | "network"
  | "timeout"
  | "server"
  /** An endpoint answered 404, or the issuer changed: what was learned of the server may be out of date (exit 1). */
  | "server_changed"
  | "insecure_url"
  | "auth_denied"
  | "auth_timeout"
  | "usage"
  | "interrupted";

/** Finer than the code, for the few places that act on which one it was. */
export type ErrorReason = "access_denied" | "session_ended";

/** The one error type commands throw: a code, a one-line message and an optional hint line. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly reason?: ErrorReason;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown; reason?: ErrorReason },
  ) {
    super(message, options);
    if (options?.reason) this.reason = options.reason;
  }
}

/** The server could not be reached or did not answer in time: worth a wait or a retry, not a verdict. */
export function isUnreachable(error: unknown): error is CliError {
  return error instanceof CliError && (error.code === "network" || error.code === "timeout");
}

// The spec's messages, and the hints they share.

export const LOGIN_HINT = "Run 'pipeops auth login' to authenticate";
export const RELOGIN_HINT = "Run 'pipeops auth login' to re-authenticate";
export const RETRY_HINT = "Run 'pipeops auth login' to try again";

export const usageError = (message: string, hint = "Run 'pipeops --help' for usage") => new CliError("usage", message, hint);

/** `storedFor`: the server a stored session belongs to, when this invocation talks to another one. */
export const notAuthenticated = (storedFor?: string) =>
  new CliError("not_authenticated", "not authenticated", storedFor ? `${LOGIN_HINT}\n${storedSessionLine(storedFor)}` : LOGIN_HINT);

export const storedSessionLine = (storedFor: string) => `The stored session belongs to ${storedFor}; unset PIPEOPS_API_URL to use it`;
export const tokenExpired = (cause?: unknown) => new CliError("token_expired", "authentication token has expired", RELOGIN_HINT, { cause });
export const invalidToken = () => new CliError("invalid_token", "invalid authentication token", RELOGIN_HINT);

/** The spec's invalid-token error; for a token from the environment, the hint names the variable. */
export const invalidTokenFor = (variable: string | undefined) =>
  variable ? new CliError("invalid_token", "invalid authentication token", `Unset ${variable} or set it to a valid token`) : invalidToken();

// Server URLs: `source` is where the URL came from (PIPEOPS_API_URL, the file's api_url, ...).

/** A URL that is not one, or not http(s). */
export function badServerUrl(source: string, raw: string, example: string): CliError {
  const why = URL.canParse(raw) ? "must be an http(s) URL" : "is not a valid URL";
  return new CliError("usage", `${source} ${why}: '${sanitize(raw, 100)}'`, `Set it to e.g. ${example}`);
}

/** Plain http:// to anything but loopback: tokens travel on these requests. */
export const insecureUrl = (url: URL, source: string) =>
  new CliError(
    "insecure_url",
    `refusing to connect to ${url.origin || url.href}: HTTPS is required (plain http:// is allowed only for localhost)`,
    `Use an https:// URL in ${source}`,
  );

/**
 * C0 and C1 controls (terminal escapes among them), the bidi marks and overrides that reorder what
 * a terminal shows (U+061C, the Arabic letter mark, among them), and the line and paragraph
 * separators U+2028 and U+2029, which some terminals and editors break a line at.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
export const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Strips control characters (terminal escapes included) from text that came from a server or a file. */
export function sanitize(text: string, maxLength = 300): string {
  const clean = text.replace(new RegExp(UNPRINTABLE.source, "g"), " ").trim();
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}

/** Exit codes: 0 success; 1 not authenticated, invalid or expired token, network or server failure; 2 usage; 130 interrupted. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) {
    if (error.code === "usage") return EXIT_USAGE;
    if (error.code === "interrupted") return EXIT_INTERRUPTED;
  }
  return EXIT_FAILURE;
}
