/**
 * picocolors with colour on, for the streams that take it; imported on demand by src/output.ts.
 * Loading picocolors works out a default it would use without an argument: unless FORCE_COLOR is
 * set, by reading process.stdout, which makes Bun build its Node stdout stream (about 20 ms, at
 * every start on a terminal). We never use that default, so FORCE_COLOR is set while it loads.
 */
import type { Runtime } from "./runtime/index.ts";

export async function terminalColors(runtime: Pick<Runtime, "withEnvVariable">) {
  const picocolors = await runtime.withEnvVariable("FORCE_COLOR", "1", () => import("picocolors"));
  return picocolors.default.createColors(true);
}
