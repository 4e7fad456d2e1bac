/**
 * The error type itself, its codes and the exit code each maps to: what every start loads. The
 * messages users see, one factory each, are in src/errors.ts.
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
export type ErrorReason = "access_denied";

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

/** Strips control characters (terminal escapes included) from text that came from a server or a file. */
export function sanitize(text: string, maxLength = 300): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, " ").trim();
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
