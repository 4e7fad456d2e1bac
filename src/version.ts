import pkg from "../package.json" with { type: "json" };

// Stamped by scripts/build.ts with --define; absent when running from source. The stamped version
// keeps package.json (every script and dependency in it) out of the binary's start-up.
declare const PIPEOPS_BUILD_VERSION: string | undefined;
declare const PIPEOPS_BUILD_COMMIT: string | undefined;

export const VERSION: string = typeof PIPEOPS_BUILD_VERSION === "string" ? PIPEOPS_BUILD_VERSION : pkg.version;
export const COMMIT: string = typeof PIPEOPS_BUILD_COMMIT === "string" ? PIPEOPS_BUILD_COMMIT : "dev";

export function versionLine(): string {
  return `pipeops ${VERSION} (commit ${COMMIT})\n`;
}
