import { bunRuntime } from "./bun.ts";
import type { Runtime } from "./types.ts";

export type { Keyring, LocalServer, Runtime, ServeOptions, Signal } from "./types.ts";

/**
 * Picks the implementation for the runtime we were started on: Deno when its global exists, else
 * Bun. The Deno module is imported only under Deno, so the Bun binary never parses it at start.
 */
export async function currentRuntime(): Promise<Runtime> {
  return "Deno" in globalThis ? (await import("./deno.ts")).denoRuntime() : bunRuntime;
}
