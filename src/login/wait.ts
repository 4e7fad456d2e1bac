/** Waiting for the user: the time limit and Ctrl-C as one AbortSignal, whose reason is the error to report. */
import type { Context } from "../context.ts";
import { authTimedOut, loginInterrupted } from "../errors.ts";
import { unattended } from "./progress.ts";

/** The time limit and Ctrl-C of one login, as a signal whose reason is the CliError to report. */
export interface WaitScope {
  readonly signal: AbortSignal;
  /** ms since the epoch (ctx.now()) when the wait gives up. */
  readonly deadline: number;
  dispose(): void;
}

export function startWait(ctx: Context, timeoutSeconds: number): WaitScope {
  const controller = new AbortController();
  const disposed = new AbortController();
  const timeoutMs = timeoutSeconds * 1000;
  ctx.sleep(timeoutMs, disposed.signal).then(
    () => controller.abort(authTimedOut({ unattended: unattended(ctx) })),
    () => {},
  );
  const removeSigint = ctx.onSignal("SIGINT", () => controller.abort(loginInterrupted()));
  return {
    signal: controller.signal,
    deadline: ctx.now() + timeoutMs,
    dispose() {
      disposed.abort();
      removeSigint();
    },
  };
}

/** Settles with the promise, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
