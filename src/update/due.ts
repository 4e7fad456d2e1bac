/**
 * Whether the update notice has anything to do after a command, told from the record's modification
 * time without reading it or loading the notice's code: every write of the record sets that time to
 * when something next falls due, a check or a notice (src/update/notice.ts). A command at a terminal
 * then pays one stat on most days (npm run bench, at a terminal).
 */
import { cacheFile } from "../config/cache-path.ts";
import type { Env } from "../runtime/types.ts";

export const DAY_MS = 24 * 60 * 60 * 1000;
export const RECORD = "update.json";

/** What the record says, as far as what falls due goes. */
export interface DueTimes {
  checkedAt?: number;
  noticedAt?: number;
  /** Whether the record names a release newer than this binary. */
  newer: boolean;
}

/** When the next check or notice falls due: a day after the last of each (now, when never). */
export function nextDue({ checkedAt, noticedAt, newer }: DueTimes): number {
  const check = checkedAt === undefined ? 0 : checkedAt + DAY_MS;
  const notice = newer ? (noticedAt === undefined ? 0 : noticedAt + DAY_MS) : Number.POSITIVE_INFINITY;
  return Math.min(check, notice);
}

/**
 * False only when the record's time says nothing falls due yet. A missing record, a runtime that
 * cannot tell, or a time more than a day ahead (a clock set back, or a record another tool wrote)
 * all say: ask the notice.
 */
export function noticeMaybeDue(
  where: { readonly env: Env; readonly platform: string; readonly homedir: string; modifiedTime(path: string): number | undefined },
  now: number,
): boolean {
  const due = where.modifiedTime(cacheFile(where, RECORD));
  return due === undefined || due <= now || due > now + DAY_MS;
}
