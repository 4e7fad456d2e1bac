/**
 * What scripts/build.ts stamps in for `pipeops update` (with --define, as the version), kept here
 * rather than in src/version.ts so that only the update code loads it.
 */
declare const PIPEOPS_RELEASE_PUBLIC_KEY: string | undefined;
declare const PIPEOPS_BUILD_TARGET: string | undefined;

/** The minisign public key (base64 line) `pipeops update` trusts, compiled in; none when running from source. */
export const RELEASE_PUBLIC_KEY: string | undefined = typeof PIPEOPS_RELEASE_PUBLIC_KEY === "string" ? PIPEOPS_RELEASE_PUBLIC_KEY : undefined;
/** The release target this binary was built as (linux-x64-musl, ...); none for a build for this machine. */
export const BUILD_TARGET: string | undefined = typeof PIPEOPS_BUILD_TARGET === "string" ? PIPEOPS_BUILD_TARGET : undefined;
