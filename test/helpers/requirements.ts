/**
 * Test groups that need something a machine may lack (Chromium, a shell, an x64 Linux host). Where
 * it is missing the group is skipped, and said: the skip is recorded for scripts/test.ts, which
 * lists every skipped group at the end of the run, and fails the run in CI, where nothing may be.
 */
import { describe, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

function record(group: string, missing: string): void {
  const line = `${group}: skipped, ${missing}`;
  const folder = process.env.PIPEOPS_TEST_SKIPS;
  if (folder) writeFileSync(join(folder, `${crypto.randomUUID()}.txt`), `${line}\n`);
  else console.warn(`Skipped: ${line}`);
}

/** `describe` where `present`; else `describe.skip`, the skip and its reason recorded. */
export function describeNeeding(present: boolean, group: string, missing: string): typeof describe | typeof describe.skip {
  if (present) return describe;
  record(group, missing);
  return describe.skip;
}

/** The same for tests that sit among others in a group. */
export function testNeeding(present: boolean, group: string, missing: string): typeof test | typeof test.skip {
  if (present) return test;
  record(group, missing);
  return test.skip;
}
