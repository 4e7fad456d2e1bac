/** Lines redrawn in place on stderr: when they may be, how they fit the terminal, and one for a slow wait. */
import type { Env } from "../runtime/types.ts";
import type { OutputStream } from "./streams.ts";

/** CI set to anything but "", "0" or "false", as CI services set it. */
export function isCi(env: Env): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return Boolean(ci) && ci !== "false" && ci !== "0";
}

/** An animated indicator only on a terminal, and not when NO_COLOR or CI asks for plain output. */
export function animateProgress(env: Env, isTTY: boolean): boolean {
  return isTTY && !env.NO_COLOR && !isCi(env) && env.TERM !== "dumb";
}

export const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
export const FRAME_MS = 120;
export const CLEAR_LINE = "\r\x1b[2K";

/**
 * The longest of `variants` (most detail first) that fits in `columns` less one (a line that
 * fills the last column wraps on some terminals, and a wrapped line cannot be redrawn with \r);
 * the last one cut to fit when none does. Counted in code points: these lines have no wide characters.
 */
export function fitLine(variants: readonly string[], columns: number | undefined): string {
  if (columns === undefined) return variants[0] ?? "";
  const room = Math.max(columns - 1, 1);
  const fits = variants.find((line) => [...line].length <= room);
  return fits ?? [...(variants.at(-1) ?? "")].slice(0, room).join("");
}

/** What a slow-wait line needs from the context: no module-level state, no Context type (io is below it). */
export interface WaitLineContext {
  readonly env: Env;
  readonly stderr: OutputStream;
  terminalSize(): { columns: number } | undefined;
}

/** After this long without an answer, a terminal shows that pipeops is waiting, and for what. */
export const SLOW_WAIT_MS = 1_000;

/**
 * "⠙ Waiting for api.pipeops.io (3 s)" on stderr once a wait passes SLOW_WAIT_MS, redrawn until
 * stop(), which clears it. Only at a terminal that takes animation, and only while no other line
 * (the login's indicator, a paste being typed) holds stderr's line. Nothing at all on a pipe.
 */
export function slowWaitLine(ctx: WaitLineContext, what: string): () => void {
  const { stderr } = ctx;
  const line = stderr.line;
  if (!line || stderr.quiet || !animateProgress(ctx.env, stderr.isTTY)) return () => {};
  const started = Date.now();
  let frame = 0;
  let drawn = false;
  let interval: ReturnType<typeof setInterval> | undefined;
  const draw = () => {
    if (line.held && !drawn) return;
    line.held = true;
    drawn = true;
    const seconds = Math.floor((Date.now() - started) / 1000);
    const symbol = FRAMES[frame++ % FRAMES.length]!;
    const text = fitLine([`${symbol} Waiting for ${what} (${seconds} s)`, `${symbol} Waiting for ${what}`, `${symbol} Waiting…`], ctx.terminalSize()?.columns);
    stderr.write(`${CLEAR_LINE}${text}`);
  };
  const timer = setTimeout(() => {
    draw();
    interval = setInterval(draw, FRAME_MS);
  }, SLOW_WAIT_MS);
  return () => {
    clearTimeout(timer);
    clearInterval(interval);
    if (!drawn) return;
    stderr.write(CLEAR_LINE);
    line.held = false;
  };
}
