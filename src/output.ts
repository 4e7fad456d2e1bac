/** How results, errors and warnings look: the symbols, the error and warning lines, JSON documents. */

import type { CliError } from "./cli-error.ts";
import type { OutputStream } from "./io/streams.ts";

export const SYMBOL_OK = "✓";
export const SYMBOL_FAIL = "✗";

/** `✓ <text>` in green where the stream takes colour. */
export function successLine(stream: OutputStream, text: string): string {
  return `${stream.colors.green(SYMBOL_OK)} ${text}\n`;
}

/** Exactly one JSON document, never coloured. */
export function printJson(stdout: OutputStream, document: unknown): void {
  stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}

/** `Error: <message>` and the hint line: the only way errors reach the user. */
export function printError(stderr: OutputStream, error: CliError): void {
  stderr.write(`${stderr.colors.red("Error:")} ${error.message}\n${error.hint ? `${error.hint}\n` : ""}`);
}

export function printWarning(stderr: OutputStream, message: string, hint?: string): void {
  if (stderr.quiet) return;
  stderr.write(`${stderr.colors.yellow("Warning:")} ${message}\n${hint ? `${hint}\n` : ""}`);
}
