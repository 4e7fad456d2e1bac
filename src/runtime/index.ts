import { bunRuntime } from "./bun.ts";
import type { Runtime } from "./types.ts";

export type { LocalServer, Runtime, ServeOptions, Signal } from "./types.ts";

/** Picks the implementation for the runtime we were started on. */
export function currentRuntime(): Runtime {
  return bunRuntime;
}
