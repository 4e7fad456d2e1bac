/** Whether a stream takes colour, and the colours it then gets (picocolors, loaded only when one does). */
import { withColorFlag } from "../runtime/colour-probe.ts";
import type { Env } from "../runtime/types.ts";

/** The colours pipeops uses, from picocolors' createColors(). */
export type Colors = Pick<ReturnType<typeof import("picocolors").createColors>, "red" | "green" | "yellow" | "cyan" | "bold" | "dim">;

const plain = (text: string | number | null | undefined) => `${text}`;
export const PLAIN_COLORS: Colors = { red: plain, green: plain, yellow: plain, cyan: plain, bold: plain, dim: plain };

/**
 * NO_COLOR wins (https://no-color.org), then FORCE_COLOR (0 or false turns colour off, anything
 * else on, as in Node), then whether the stream is a terminal that is not TERM=dumb.
 */
export function colorEnabled(env: Env, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  return isTTY && env.TERM !== "dumb";
}

/**
 * ANSI colours when `enabled`, else plain text. picocolors is loaded only when a stream takes
 * colour: pipes and files never pay for it.
 */
export async function colorsFor(enabled: boolean): Promise<Colors> {
  return enabled ? (await withColorFlag(() => import("../runtime/ansi.ts"))).ansi : PLAIN_COLORS;
}
