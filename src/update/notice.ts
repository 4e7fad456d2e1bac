/**
 * The update notice: after a command, at a terminal, at most once a day, one line on stderr saying
 * what is new. Never in CI, with --json or --quiet, or when PIPEOPS_SKIP_UPDATE_CHECK=true or the
 * shared file's updates.skip_update_check (the official CLI's keys, PipeOpsHQ/pipeops-cli cmd/root.go
 * and internal/config/config.go) says no. It never waits on the network: what the latest release is
 * comes from a record under the cache folder, which a detached `pipeops update check --record`
 * refreshes once a day; the line shows on a later run.
 */
import * as v from "valibot";
import { cacheFile } from "../config/cache-path.ts";
import type { Context } from "../context.ts";
import { isCi } from "../io/progress.ts";
import { COMMIT, VERSION } from "../version.ts";
import { DAY_MS, nextDue, RECORD } from "./due.ts";
import { RELEASE_PUBLIC_KEY } from "./stamp.ts";
import { compareVersions } from "./versions.ts";

const MAX_RECORD_CHARS = 4096;

const RecordSchema = v.object({
  /** When a check was last started (ms since the epoch). */
  checked_at: v.optional(v.pipe(v.number(), v.integer())),
  /** The latest release a check found, as its signature vouched. */
  latest_version: v.optional(v.pipe(v.string(), v.regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]{1,40})?$/))),
  /** When the notice was last shown. */
  noticed_at: v.optional(v.pipe(v.number(), v.integer())),
});

type UpdateRecord = v.InferOutput<typeof RecordSchema>;

/** The record, or an empty one: missing, broken, or too large. Read at once, as every command at a terminal reads it. */
function readRecord(ctx: Pick<Context, "readSmallTextFile">, path: string): UpdateRecord {
  const text = ctx.readSmallTextFile(path);
  if (text === undefined || text.length >= MAX_RECORD_CHARS) return {};
  try {
    const parsed = v.safeParse(RecordSchema, JSON.parse(text));
    return parsed.success ? parsed.output : {};
  } catch {
    return {};
  }
}

/** When the record says something next falls due, for this binary's version. */
function dueAt(record: UpdateRecord): number {
  const newer = record.latest_version !== undefined && compareVersions(record.latest_version, VERSION) > 0;
  return nextDue({ checkedAt: record.checked_at, noticedAt: record.noticed_at, newer });
}

/**
 * Written only when something was due: the file operations load then. Its modification time is
 * set to when something next falls due, which is all a command reads of it on most days (due.ts).
 */
async function writeRecord(path: string, record: UpdateRecord): Promise<void> {
  const { touchFile, writeFileAtomic } = await import("../runtime/fs.ts");
  // A home that cannot be written: no notice, no failure.
  await writeFileAtomic(path, `${JSON.stringify(record)}\n`).catch(() => {});
  await touchFile(path, new Date(dueAt(record)));
}

/** What the background check found: the latest version, kept beside when the notice was last shown. */
export async function recordLatest(ctx: Context, version: string): Promise<void> {
  const path = cacheFile(ctx, RECORD);
  const record = readRecord(ctx, path);
  await writeRecord(path, { ...record, checked_at: ctx.now(), latest_version: version });
}

/** Whether anything may be said or checked here at all; the cheap tests first. */
function allowed(ctx: Context, json: boolean): boolean {
  const { env, stderr } = ctx;
  if (!stderr.isTTY || json || stderr.quiet || isCi(env) || env.GITHUB_ACTIONS) return false;
  if (env.PIPEOPS_SKIP_UPDATE_CHECK?.trim().toLowerCase() === "true") return false;
  // A binary run from source has no release to compare with.
  return RELEASE_PUBLIC_KEY !== undefined && COMMIT !== "dev";
}

/** The official CLI's `updates.skip_update_check` in the shared file; a file that cannot be read says nothing. */
async function skippedInFile(ctx: Context): Promise<boolean> {
  const snapshot = await ctx
    .store()
    .read()
    .catch(() => undefined);
  const updates = (snapshot?.data as { updates?: { skip_update_check?: unknown } } | undefined)?.updates;
  return updates?.skip_update_check === true;
}

/** After a command: the notice when one is due, and a background check when one is due. */
export async function afterCommand(ctx: Context, options: { json: boolean }): Promise<void> {
  if (!allowed(ctx, options.json)) return;
  const path = cacheFile(ctx, RECORD);
  const record = readRecord(ctx, path);
  const now = ctx.now();
  const latest = record.latest_version;
  const noticeDue = latest !== undefined && compareVersions(latest, VERSION) > 0 && (record.noticed_at === undefined || now - record.noticed_at >= DAY_MS);
  const checkDue = record.checked_at === undefined || now - record.checked_at >= DAY_MS || record.checked_at > now;
  if (!noticeDue && !checkDue) {
    // The record's time said otherwise (a record written by an older binary, or by hand): set it right, once.
    // A runtime that cannot tell the time (Deno) reads the record every time anyway: nothing to set.
    const time = ctx.modifiedTime(path);
    if (time !== undefined && time !== dueAt(record)) await (await import("../runtime/fs.ts")).touchFile(path, new Date(dueAt(record)));
    return;
  }
  // Once a day at most, from here: a record someone else could have written says nothing (its notice would be theirs).
  const { writableByOthers } = await import("../runtime/fs.ts");
  if ((await skippedInFile(ctx)) || (noticeDue && (await writableByOthers(path)))) return;
  const next: UpdateRecord = { ...record };
  if (noticeDue) {
    ctx.stderr.write(`${ctx.stderr.colors.yellow("A new version of pipeops is available:")} ${VERSION} → ${latest}; run 'pipeops update' to install it\n`);
    next.noticed_at = now;
  }
  if (checkDue) next.checked_at = now;
  // Written before the check starts: it claims the check, so commands run meanwhile start no second
  // one, and a check that finishes first is not overwritten by this older record.
  await writeRecord(path, next);
  if (checkDue) ctx.startDetached([ctx.executablePath(), "update", "check", "--record"]);
}
