/**
 * What the user sees while a login waits: the URL, the code, notices, and a spinner with the time
 * left on stderr. The flows talk to a LoginReporter and never decide how anything looks.
 */
import type { Context, Env } from "../context.ts";

/** What the login flows tell the user; the terminal implementation is loginReporter(). */
export interface LoginReporter {
  /** Browser login: the URL, in case the browser does not open. */
  browserUrl(url: string): void;
  /**
   * The URL (and, when the URL does not carry it, the code) to open on any device; `qrUrl` is what
   * a QR code, when one was asked for, encodes (the URL with the code in it, for the device grant).
   */
  manualUrl(url: string, options?: { userCode?: string; acceptsPaste?: boolean; qrUrl?: string }): void;
  /** A line of guidance while waiting (e.g. a pasted URL that belongs to another login). */
  notice(message: string): void;
  /** From now on the login waits for a paste: the reason, then the paste prompt; nothing is redrawn over what the user types. */
  askForPaste(reason: string): void;
  /** Starts the waiting indicator; it runs until done(). */
  waiting(deadline: number): void;
  /** Clears the indicator (safe to call when none runs). */
  done(): void;
}

/** An animated indicator only on a terminal, and not when NO_COLOR or CI asks for plain output. */
export function animateProgress(env: Env, isTTY: boolean): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return isTTY && !env.NO_COLOR && (!ci || ci === "false" || ci === "0") && env.TERM !== "dumb";
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_MS = 120;
const CLEAR_LINE = "\r\x1b[2K";
export const WAITING_LINE = "Waiting for authentication...";

/** 4:05 for 245 s. */
export function formatTimeLeft(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** What the paste flow asks of the user, after the spec's lines. */
export const PASTE_PROMPT =
  "If the browser cannot reach this machine after you sign in, copy the address it ends on (or the code), paste it here and press Enter:";

/** Draws a QR code of a URL, or says it cannot (it would not fit the terminal). */
export type QrDrawer = (url: string) => string[] | undefined;

/**
 * Progress on stderr: plain lines, or one redrawn line with a spinner and the time left. While the
 * user may paste an answer, nothing is redrawn: the line they type stays as the terminal shows it.
 * With `qr`, a QR code follows the URL to open; the URL is always there as text too.
 */
export function loginReporter(ctx: Context, qr?: QrDrawer): LoginReporter {
  const { stderr } = ctx;
  const c = stderr.colors;
  let animate = animateProgress(ctx.env, stderr.isTTY);
  let acceptsPaste = false;
  let stopSpinner: AbortController | undefined;
  let frame = 0;
  let deadline = 0;

  const draw = () => {
    const left = formatTimeLeft(deadline - ctx.now());
    stderr.write(`${CLEAR_LINE}${c.cyan(FRAMES[frame % FRAMES.length]!)} ${WAITING_LINE} ${c.dim(`(${left} left)`)}`);
    frame++;
  };

  async function spin(signal: AbortSignal) {
    while (!signal.aborted) {
      draw();
      await ctx.sleep(FRAME_MS, signal).catch(() => {});
    }
  }

  return {
    browserUrl(url) {
      stderr.write(`If the browser does not open, visit:\n${url}\n\n`);
    },
    manualUrl(url, options = {}) {
      stderr.write(`Please open this URL in your browser to authenticate:\n${url}\n`);
      if (options.userCode) stderr.write(`and enter the code: ${c.bold(options.userCode)}\n`);
      stderr.write("\n");
      const code = qr?.(options.qrUrl ?? url);
      if (code) stderr.write(`${code.join("\n")}\n\n`);
      if (options.acceptsPaste) {
        acceptsPaste = true;
        animate = false;
      }
    },
    notice(message) {
      if (stopSpinner) stderr.write(CLEAR_LINE);
      stderr.write(`${message}\n`);
      if (stopSpinner) draw();
    },
    askForPaste(reason) {
      acceptsPaste = true;
      animate = false;
      if (stopSpinner) {
        stopSpinner.abort();
        stopSpinner = undefined;
        stderr.write(CLEAR_LINE);
      }
      stderr.write(`${reason}\n${PASTE_PROMPT}\n`);
    },
    waiting(at) {
      deadline = at;
      if (!animate) {
        stderr.write(`${WAITING_LINE}\n${acceptsPaste ? `${PASTE_PROMPT}\n` : ""}`);
        return;
      }
      stopSpinner?.abort();
      stopSpinner = new AbortController();
      void spin(stopSpinner.signal);
    },
    done() {
      if (!stopSpinner) return;
      stopSpinner.abort();
      stopSpinner = undefined;
      stderr.write(CLEAR_LINE);
    },
  };
}
