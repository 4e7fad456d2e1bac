/**
 * A QR code of the sign-in URL, to open it from a phone (as `tailscale up --qr` does): half-block
 * characters, two modules to a character cell, with a quiet zone. Rendered by uqr; this module is
 * loaded only when a QR code is asked for.
 */
import { renderUnicodeCompact } from "uqr";

/** Quiet zone in modules around the code; scanners want a margin in the background colour. */
const QUIET_ZONE = 2;

/**
 * The code's lines. Light modules are the block characters, which suits a dark terminal (light
 * text); `lightTheme` inverts it for a light one, so the code always reads dark-on-light.
 */
export function qrLines(text: string, options: { lightTheme: boolean }): string[] {
  return renderUnicodeCompact(text, { border: QUIET_ZONE, ecc: "L", invert: options.lightTheme }).split("\n");
}
