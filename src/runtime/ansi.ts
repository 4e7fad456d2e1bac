/** picocolors' ANSI colours, in a module of its own: what a runtime that cannot load them when first painted (Deno) loads before the command (src/io/colour.ts). */
import pc from "picocolors";

export const ansi = pc.createColors(true);
