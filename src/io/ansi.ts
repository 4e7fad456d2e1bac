/** picocolors' ANSI colours, in a module of its own: loaded only when a stream takes colour (src/io/colour.ts). */
import pc from "picocolors";

export const ansi = pc.createColors(true);
