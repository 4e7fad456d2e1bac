/**
 * The credential file's lock: O_EXCL, pid and time inside, broken when the holder is dead or the
 * lock is older than 30 s, never removed from under a live holder.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { acquireLock, LOCK_STALE_MS, type LockContext, lockPathFor, withLock } from "../../../src/config/lock.ts";
import { PLAIN_COLORS } from "../../../src/io/colour.ts";
import { bunRuntime } from "../../../src/runtime/bun.ts";
import { sleep } from "../../../src/sleep.ts";
import { tempDir } from "../../helpers/context.ts";

const OTHER_PID = 4_000_001;

/** A lock context whose clock the test moves; `alive` decides which pids run. */
function lockContext(options: { alive?: (pid: number) => boolean; now?: number } = {}) {
  const clock = { now: options.now ?? Date.now() };
  const ctx: LockContext = {
    now: () => clock.now,
    // Waiting moves the fake clock, so a 30 s wait takes no real time.
    sleep: async (ms) => {
      clock.now += ms;
      await Promise.resolve();
    },
    pid: process.pid,
    processAlive: options.alive ?? (() => true),
  };
  return { ctx, clock };
}

/** A lock for a file nobody links to: named after the file (see the naming tests below). */
function lockFile(): string {
  return `${join(tempDir(), ".pipeops.json")}.lock`;
}

function holder(pid: number, createdAt: number): string {
  return `${JSON.stringify({ pid, created_at: new Date(createdAt).toISOString() })}\n`;
}

/** Whether the promise is still pending after other work has had `ms` of real time. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return !settled;
}

describe("acquireLock", () => {
  test("creates the lock beside the file with our pid and the time, 0600; release removes it", async () => {
    const { ctx, clock } = lockContext();
    const path = lockFile();
    expect(path).toEndWith(".pipeops.json.lock");
    const lock = await acquireLock(ctx, path);
    const content = JSON.parse(readFileSync(path, "utf8"));
    expect(content.pid).toBe(process.pid);
    expect(Date.parse(content.created_at)).toBe(clock.now);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await lock.release();
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(join(path, ".."))).toEqual([]);
  });

  test("waits while a live process holds a fresh lock, and gets it once released", async () => {
    const { ctx } = lockContext({ alive: () => true });
    const path = lockFile();
    // Real time here: the holder's lock must stay fresh while we watch.
    const realCtx: LockContext = { ...ctx, now: () => Date.now(), sleep };
    const first = await acquireLock(realCtx, path);
    const second = acquireLock(realCtx, path);
    expect(await pendingAfter(second, 300)).toBe(true);
    await first.release();
    const lock = await second;
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  test("breaks a lock whose holder has died, at once", async () => {
    const { ctx, clock } = lockContext({ alive: (pid) => pid !== OTHER_PID });
    const path = lockFile();
    writeFileSync(path, holder(OTHER_PID, clock.now), { mode: 0o600 });
    const started = clock.now;
    const lock = await acquireLock(ctx, path);
    expect(clock.now).toBe(started);
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    await lock.release();
    expect(readdirSync(join(path, ".."))).toEqual([]);
  });

  test("breaks a live holder's lock only once it is older than 30 s", async () => {
    const { ctx, clock } = lockContext({ alive: () => true });
    const path = lockFile();
    const created = clock.now;
    writeFileSync(path, holder(OTHER_PID, created), { mode: 0o600 });
    const lock = await acquireLock(ctx, path);
    expect(clock.now - created).toBeGreaterThan(LOCK_STALE_MS);
    expect(clock.now - created).toBeLessThan(LOCK_STALE_MS + 1_000);
    await lock.release();
  });

  test("an unreadable lock (holder died while writing it, or garbage) is broken 2 s after first seeing it, not 30 s", async () => {
    for (const garbage of ["", "not json", '{"pid":"x"}']) {
      const { ctx, clock } = lockContext();
      const path = lockFile();
      writeFileSync(path, garbage, { mode: 0o600 });
      const started = clock.now;
      const lock = await acquireLock(ctx, path);
      expect(clock.now - started).toBeGreaterThan(2_000);
      expect(clock.now - started).toBeLessThan(3_000);
      await lock.release();
    }
  });

  test("waiting for a live holder says for what after a second, once", async () => {
    const { ctx } = lockContext();
    let said = "";
    const path = lockFile();
    writeFileSync(path, holder(OTHER_PID, Date.now()), { mode: 0o600 });
    const write = (text: string) => {
      said += text;
    };
    const waiting = { ...ctx, stderr: { write, writeBytes: async () => false, isTTY: false, colors: PLAIN_COLORS } };
    // The fake clock moves 25-50 ms a poll; the lock is stale (and broken) after 30 s.
    const lock = await acquireLock(waiting, path);
    expect(said).toBe(`Waiting for another pipeops process (pid ${OTHER_PID}) that holds ${path}; a lock left by a stuck process is broken after 30 s\n`);
    await lock.release();
  });

  test("release leaves alone a lock that is no longer ours", async () => {
    const { ctx, clock } = lockContext();
    const path = lockFile();
    const lock = await acquireLock(ctx, path);
    // Someone judged ours stale, broke it and holds their own now.
    writeFileSync(path, holder(OTHER_PID, clock.now));
    await lock.release();
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(OTHER_PID);
  });

  test("a missing folder is created (0700); a path through a file is a sentence naming it", async () => {
    const { ctx } = lockContext();
    const dir = join(tempDir(), "missing", "deeper");
    const lock = await acquireLock(ctx, join(dir, ".pipeops.json.lock"));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await lock.release();
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "");
    const through = join(file, ".pipeops.json.lock");
    await expect(acquireLock(ctx, through)).rejects.toThrow(`cannot create the lock file ${through}: a part of the path is a file, not a folder`);
  });
});

describe("withLock", () => {
  test("a live holder's heartbeat keeps its lock from being taken as stale, however long the work", async () => {
    const { ctx, clock } = lockContext();
    const path = lockFile();
    let finish!: () => void;
    const holding = withLock(ctx, path, () => new Promise<void>((resolve) => (finish = resolve)), { heartbeatMs: 10 });
    await sleep(20);
    const started = clock.now;
    const waiter = acquireLock(ctx, path);
    // The waiter's polls move the shared fake clock past twice the stale limit while the holder beats.
    const realDeadline = Date.now() + 20_000;
    while (clock.now - started <= 2 * LOCK_STALE_MS && Date.now() < realDeadline) await sleep(10);
    expect(clock.now - started).toBeGreaterThan(2 * LOCK_STALE_MS);
    expect(await pendingAfter(waiter, 0)).toBe(true);
    finish();
    await holding;
    await (await waiter).release();
  });

  test("never lets two holders in at once", async () => {
    const path = lockFile();
    const ctx: LockContext = { now: () => Date.now(), sleep, pid: bunRuntime.pid, processAlive: bunRuntime.processAlive };
    let inside = 0;
    let most = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withLock(ctx, path, async () => {
          inside += 1;
          most = Math.max(most, inside);
          await sleep(5);
          inside -= 1;
          done += 1;
        }),
      ),
    );
    expect(done).toBe(12);
    expect(most).toBe(1);
    expect(existsSync(path)).toBe(false);
  });

  test("releases the lock when the work fails", async () => {
    const path = lockFile();
    const { ctx } = lockContext();
    await expect(withLock(ctx, path, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(existsSync(path)).toBe(false);
  });
});

describe("the lock's name", () => {
  test("one file reached by a link, a linked folder, a relative path or its own name: one lock", async () => {
    const folder = realpathSync(tempDir());
    const real = join(folder, "real.json");
    writeFileSync(real, "{}");
    const links = tempDir();
    symlinkSync(real, join(links, "link.json"));
    symlinkSync(folder, join(links, "folder"));
    const expected = `${real}.lock`;
    expect(await lockPathFor(real)).toBe(expected);
    expect(await lockPathFor(join(links, "link.json"))).toBe(expected);
    expect(await lockPathFor(join(links, "folder", "real.json"))).toBe(expected);
    expect(await lockPathFor(relative(process.cwd(), real))).toBe(expected);
  });

  test("a link to a file not written yet names the file it will create", async () => {
    const folder = realpathSync(tempDir());
    const links = tempDir();
    symlinkSync(join(folder, "later.json"), join(links, ".pipeops.json"));
    expect(await lockPathFor(join(links, ".pipeops.json"))).toBe(join(folder, "later.json.lock"));
  });
});
