/**
 * picocolors with colour on, for the streams that take it. Imported on demand by src/output.ts:
 * picocolors reads process.stdout when loaded, which makes Bun build its Node stdout stream.
 */
import picocolors from "picocolors";

export const terminalColors = picocolors.createColors(true);
