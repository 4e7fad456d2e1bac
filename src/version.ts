import pkg from "../package.json" with { type: "json" };

// Stamped by scripts/build.ts with --define; absent when running from source.
declare const PIPEOPS_BUILD_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof PIPEOPS_BUILD_COMMIT === "string" ? PIPEOPS_BUILD_COMMIT : "dev";

export function versionLine(): string {
  return `pipeops ${VERSION} (commit ${COMMIT})\n`;
}
