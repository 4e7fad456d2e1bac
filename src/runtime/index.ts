import { bunRuntime } from "./bun.ts";
import { denoRuntime } from "./deno.ts";
import type { Runtime } from "./types.ts";

export type { LocalServer, Runtime, ServeOptions, Signal } from "./types.ts";

/** Picks the implementation for the runtime we were started on: Deno when its global exists, else Bun. */
export function currentRuntime(): Runtime {
  return "Deno" in globalThis ? denoRuntime() : bunRuntime;
}
