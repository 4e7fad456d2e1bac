/** picocolors' ANSI colours, in a module of its own: loaded only when a stream takes colour. */
import pc from "picocolors";

export const ansi = pc.createColors(true);
