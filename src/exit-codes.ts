import { CliError } from "./errors.ts";
import type { CommandResult } from "./results.ts";

/** The one place exit codes are decided: 0 success; 1 auth, network or server failure; 2 usage; 130 interrupted. */
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

/** `auth status` fails (exit 1) when not authenticated or the token is invalid, as the spec says. */
export function exitCodeOf(result: CommandResult): number {
  if (result.kind === "status" && (!result.authenticated || result.problem)) return EXIT_FAILURE;
  return EXIT_OK;
}
