/**
 * Whether the credential file can take what a command would store, asked before anything leaves
 * the machine: a login or a refresh whose result cannot be kept is not started at all.
 */
import { type CliError, cannotSave } from "../errors.ts";
import { describeFailure, errorCode, isPermissionError, type WriteProblem, writeProblem } from "../runtime/fs.ts";

/** Why a write to `path` failed (or would), in the words a user can act on. */
export function describeWriteProblem(path: string, { at, error }: WriteProblem): { reason: string; denied: boolean } {
  if (errorCode(error) === "EROFS") return { reason: `${at} is on a read-only file system`, denied: true };
  if (isPermissionError(error)) return { reason: at === path ? "you may not replace it" : `you may not create files in ${at}`, denied: true };
  return { reason: at === path ? describeFailure(error) : `${describeFailure(error)} (${at})`, denied: false };
}

/** The error for a credential file that cannot be written, with the ways out the caller offers. */
export function saveError(path: string, problem: WriteProblem, waysOut: string): CliError {
  return cannotSave(path, describeWriteProblem(path, problem), waysOut, problem.error);
}

/** Throws saveError() when a write to `path` could not succeed now. */
export async function assertWritable(path: string, waysOut: string): Promise<void> {
  const problem = await writeProblem(path);
  if (problem) throw saveError(path, problem, waysOut);
}
