/**
 * What the user sees while a login waits: the URL, the code, notices, and a spinner with the time
 * left on stderr. The flows talk to a LoginReporter and never decide how anything looks.
 */
import type { Context } from "../context.ts";
import { animateProgress, CLEAR_LINE, FRAME_MS, FRAMES, fitLine, isCi } from "../io/progress.ts";

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

/** Nobody is there to answer: CI, or neither stdin nor stderr is a terminal. */
export function unattended(ctx: Pick<Context, "env" | "stdin" | "stderr">): boolean {
  return isCi(ctx.env) || (!ctx.stdin.isTTY && !ctx.stderr.isTTY);
}

export const WAITING_LINE = "Waiting for authentication...";

/** 4:05 for 245 s. */
export function formatTimeLeft(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** What the paste flow asks of the user, after the spec's lines. */
export const PASTE_PROMPT =
  "If the browser cannot reach this machine after you sign in, copy the address it ends on (or the code), paste it here and press Enter:";

/** Draws a QR code of a URL, or says in one line why it cannot (it would not fit the terminal, and what would). */
export type QrDrawer = (url: string) => { lines: string[] } | { notice: string };

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
  // A prompt only where someone can type the answer: a pipe may still carry one, but is not asked.
  const prompt = ctx.stdin.isTTY ? `${PASTE_PROMPT}\n` : "";
  let stopSpinner: AbortController | undefined;
  let frame = 0;
  let deadline = 0;

  /** The line fits the terminal as it is now (a resized one too): the countdown shortens first, then the words. */
  const draw = () => {
    const left = formatTimeLeft(deadline - ctx.now());
    const symbol = FRAMES[frame % FRAMES.length]!;
    const plain = fitLine(
      [
        `${symbol} ${WAITING_LINE} (${left} left)`,
        `${symbol} ${WAITING_LINE} (${left})`,
        `${symbol} ${WAITING_LINE}`,
        `${symbol} Waiting... (${left})`,
        `${symbol} Waiting...`,
      ],
      ctx.terminalSize()?.columns,
    );
    // Colour only on the whole parts that fit: the symbol, and the countdown when it is there.
    const shown = plain.replace(symbol, c.cyan(symbol)).replace(/ (\([^)]*\))$/, (_, countdown: string) => ` ${c.dim(countdown)}`);
    stderr.write(`${CLEAR_LINE}${shown}`);
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
      if (code) stderr.write("lines" in code ? `${code.lines.join("\n")}\n\n` : `${code.notice}\n\n`);
      if (options.acceptsPaste && ctx.stdin.isTTY) {
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
      stderr.write(`${reason}\n${prompt}`);
    },
    waiting(at) {
      deadline = at;
      // From here until done(), the terminal's redrawn line is the login's: a slow request draws none over it.
      if (stderr.line) stderr.line.held = true;
      if (!animate) {
        stderr.write(`${WAITING_LINE}\n${acceptsPaste ? prompt : ""}`);
        return;
      }
      stopSpinner?.abort();
      stopSpinner = new AbortController();
      void spin(stopSpinner.signal);
    },
    done() {
      if (stderr.line) stderr.line.held = false;
      if (!stopSpinner) return;
      stopSpinner.abort();
      stopSpinner = undefined;
      stderr.write(CLEAR_LINE);
    },
  };
}
