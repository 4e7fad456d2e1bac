import { dirname } from "node:path";
import * as v from "valibot";
import { lockFailed } from "../errors.ts";
import {
  canonicalTarget,
  createExclusive,
  describeFailure,
  ensureFolderOf,
  isPermissionError,
  linkIfAbsent,
  readFileIfExists,
  removeFile,
  renameIfExists,
  touchFile,
} from "../runtime/fs.ts";
import { parseRfc3339 } from "../time.ts";
import { saveError } from "./writable.ts";

const LOCK_WAYS_OUT = "The lock beside the credential file guards its writes: make that folder writable, or name another file with --config FILE";

/** A lock older than this is broken even when its holder still runs (a refresh never takes that long). */
export const LOCK_STALE_MS = 30_000;
const POLL_MS = 25;
const HEARTBEAT_MS = 5_000;

export interface FileLock {
  readonly path: string;
  /** Removes the lock file, unless it was broken and someone else holds it now. */
  release(): Promise<void>;
}

/** Where the lock tells the user what it waits for, when it waits long enough to be noticed. */
export interface LockContext {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Ours, written into the lock; and whether a holder's still runs. */
  readonly pid: number;
  processAlive(pid: number): boolean;
  readonly stderr?: { write(text: string): void };
}

/** A lock file whose content is not a holder's (a holder writes it right after creating it) is broken this soon. */
const UNREADABLE_GRACE_MS = 2_000;
/** After this long waiting, say for what. */
const NOTICE_AFTER_MS = 1_000;

const HolderSchema = v.object({
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  created_at: v.pipe(
    v.string(),
    v.check((text) => parseRfc3339(text) !== undefined),
  ),
  nonce: v.optional(v.string()),
});

/**
 * The lock file that guards read-refresh-write of the credential file at `path`: named after the
 * file itself, so two processes that reach it by different names (a symlink, PIPEOPS_CONFIG_PATH
 * naming the real file) take the same lock, and a rotated refresh token is never spent twice.
 */
export async function lockPathFor(path: string): Promise<string> {
  return `${await canonicalTarget(path)}.lock`;
}

/**
 * Takes an exclusive lock: a file created with O_EXCL that holds our pid and the time. Waits while
 * another live process holds it; breaks it when its holder has died or it is older than 30 s.
 */
export async function acquireLock(ctx: LockContext, path: string, staleMs = LOCK_STALE_MS): Promise<FileLock> {
  // Unreadable contents (a holder that died between creating and writing) have no time; count from first sight.
  const firstSeen = new Map<string, number>();
  const waitingSince = ctx.now();
  let noticed = false;
  await attempt(path, () => ensureFolderOf(path));
  for (;;) {
    const content = `${JSON.stringify({ pid: ctx.pid, created_at: new Date(ctx.now()).toISOString(), nonce: crypto.randomUUID() })}\n`;
    if (await attempt(path, () => createExclusive(path, content))) return heldLock(path, content);
    const existing = await attempt(path, () => readFileIfExists(path));
    if (existing === null) continue;
    if (isStale(ctx, existing.text, existing.mtimeMs, staleMs, firstSeen)) {
      await attempt(path, () => breakLock(path, existing.text));
      continue;
    }
    if (!noticed && ctx.stderr && ctx.now() - waitingSince >= NOTICE_AFTER_MS) {
      noticed = true;
      const pid = holderOf(existing.text)?.pid;
      ctx.stderr.write(
        `Waiting for another pipeops process${pid ? ` (pid ${pid})` : ""} that holds ${path}; a lock left by a stuck process is broken after ${staleMs / 1000} s\n`,
      );
    }
    await ctx.sleep(POLL_MS + Math.random() * POLL_MS);
  }
}

/** Runs `work` while holding the lock at `path`. */
export async function withLock<T>(ctx: LockContext, path: string, work: () => Promise<T>, { heartbeatMs = HEARTBEAT_MS } = {}): Promise<T> {
  const lock = await acquireLock(ctx, path);
  // A live holder keeps its lock fresh, so a slow request (up to the HTTP timeout) is never taken for a stale one.
  const heartbeat = setInterval(() => void touchFile(path, new Date(ctx.now())), heartbeatMs);
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    await lock.release();
  }
}

function holderOf(text: string): v.InferOutput<typeof HolderSchema> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const holder = v.safeParse(HolderSchema, parsed);
  return holder.success ? holder.output : undefined;
}

function isStale(ctx: LockContext, text: string, touchedAt: number, staleMs: number, firstSeen: Map<string, number>): boolean {
  const now = ctx.now();
  const holder = holderOf(text);
  if (!holder) {
    const seen = firstSeen.get(text) ?? now;
    firstSeen.set(text, seen);
    return now - seen > Math.min(UNREADABLE_GRACE_MS, staleMs);
  }
  if (!ctx.processAlive(holder.pid)) return true;
  // The holder's heartbeat moves the file's mtime; the recorded creation time is the fallback.
  const lastSign = Math.max(parseRfc3339(holder.created_at)!.getTime(), touchedAt);
  // Also far in the future: the clock was set back, and the age cannot be told.
  return Math.abs(now - lastSign) > staleMs;
}

/**
 * Removes a stale lock without ever removing a live one: move it aside, and if what was moved is
 * not the stale lock we judged (another process broke it and locked anew meanwhile), put it back.
 */
async function breakLock(path: string, staleText: string): Promise<void> {
  const aside = `${path}.${crypto.randomUUID().slice(0, 8)}.stale`;
  if (!(await renameIfExists(path, aside))) return;
  try {
    const moved = await readFileIfExists(aside);
    if (moved && moved.text !== staleText) await linkIfAbsent(aside, path);
  } finally {
    await removeFile(aside);
  }
}

function heldLock(path: string, content: string): FileLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const current = await readFileIfExists(path).catch(() => null);
      if (current?.text === content) await removeFile(path);
    },
  };
}

async function attempt<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // A folder we may not write: the spec's error, as writing the file itself would give.
    if (isPermissionError(error)) throw saveError(path, { at: dirname(path), error }, LOCK_WAYS_OUT);
    throw lockFailed(path, describeFailure(error), error);
  }
}
