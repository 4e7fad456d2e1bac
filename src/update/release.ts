/**
 * The latest release, from where scripts/install.sh downloads it (PIPEOPS_INSTALL_BASE_URL names a
 * mirror for both): SHA256SUMS, its minisign signature, and BUILD-INFO.json for the date and notes.
 * No API call, so no rate limit. Only what the signature vouches for is believed: the checksums,
 * and the version in its trusted comment. The key is compiled in (src/version.ts).
 */
import * as v from "valibot";
import type { Context } from "../context.ts";
import { CliError, isUnreachable, sanitize } from "../errors.ts";
import { createHttpFetch } from "../server/http.ts";
import { parseServerUrl } from "../server/url.ts";
import { parsePublicKey, SignatureError, verifySignature, vouchedVersion } from "./minisign.ts";

/** Where install.sh takes the latest release from, and so do we. */
export const DEFAULT_RELEASE_BASE = "https://github.com/PipeOpsHQ/pipeops-cli/releases/latest/download";
const RELEASE_HOST_HINT =
  "Check the connection to where releases are published; PIPEOPS_INSTALL_BASE_URL names a mirror of them, and PIPEOPS_HTTP_TIMEOUT waits longer";
const INSTALL_HINT = "Or install it again: curl -fsSL https://raw.githubusercontent.com/PipeOpsHQ/pipeops-cli/main/scripts/install.sh | sh";

export interface Release {
  /** The version the signature vouches for. */
  version: string;
  /** Archive name → SHA-256 (hex), as the signed SHA256SUMS lists them. */
  sums: ReadonlyMap<string, string>;
  /** The folder the files are in (no trailing slash). */
  base: string;
  /** From BUILD-INFO.json, which is not signed: shown, never acted on. */
  releasedAt: string | null;
  notes: string;
}

/** The release folder: PIPEOPS_INSTALL_BASE_URL, else the project's latest release; https, or http to loopback. */
export function releaseBase(ctx: Pick<Context, "env">): string {
  const configured = ctx.env.PIPEOPS_INSTALL_BASE_URL?.trim();
  if (!configured) return DEFAULT_RELEASE_BASE;
  return parseServerUrl(configured, "PIPEOPS_INSTALL_BASE_URL", DEFAULT_RELEASE_BASE).href.replace(/\/+$/, "");
}

const MAX_SUMS_BYTES = 64 * 1024;
const MAX_INFO_BYTES = 64 * 1024;
const MAX_NOTES_CHARS = 4000;
const MAX_REDIRECTS = 5;

/** GET, following redirects (a release host sends downloads elsewhere: nothing secret goes with them), each hop https or loopback http. */
export async function getFollowing(ctx: Context, url: string, options: { stream?: boolean } = {}): Promise<Response> {
  const http = createHttpFetch(ctx, { ...options, networkHint: false });
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await http(current, { headers: { accept: "*/*" } });
    } catch (error) {
      if (isUnreachable(error) && !error.hint) throw new CliError(error.code, error.message, RELEASE_HOST_HINT, { cause: error });
      throw error;
    }
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    if (hop >= MAX_REDIRECTS) throw new CliError("server", `${current.origin} redirected more than ${MAX_REDIRECTS} times`);
    current = new URL(location, current);
  }
}

/** A small file of the release, or null where it is not there (404); anything else is an error naming it. */
async function smallFile(ctx: Context, base: string, name: string, maxBytes: number): Promise<Uint8Array | null> {
  const response = await getFollowing(ctx, `${base}/${name}`);
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CliError("server", `could not download ${name} from ${base} (HTTP ${response.status})`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > maxBytes) throw new CliError("server", `${name} at ${base} is too large`);
  return bytes;
}

/** `<64 hex>  <name>` lines (sha256sum's format, `*` for binary mode allowed). */
function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *]([A-Za-z0-9._-]+)$/.exec(line.trim());
    if (match) sums.set(match[2]!, match[1]!);
  }
  return sums;
}

const InfoSchema = v.object({
  released_at: v.optional(v.pipe(v.string(), v.maxLength(40))),
  notes: v.optional(v.pipe(v.string(), v.maxLength(MAX_INFO_BYTES))),
});

export const releaseRefused = (base: string, why: string, hint = INSTALL_HINT) =>
  new CliError("server", `the release at ${base} was refused: ${why}`, `Nothing was installed. ${hint}`);

/** The latest release, its signature checked against `publicKey` (the compiled-in key's base64 line). */
export async function latestRelease(ctx: Context, publicKey: string): Promise<Release> {
  const base = releaseBase(ctx);
  const [sums, signature, info] = await Promise.all([
    smallFile(ctx, base, "SHA256SUMS", MAX_SUMS_BYTES),
    smallFile(ctx, base, "SHA256SUMS.minisig", 4096),
    smallFile(ctx, base, "BUILD-INFO.json", MAX_INFO_BYTES),
  ]);
  if (!sums) throw new CliError("server", `there is no release at ${base} (no SHA256SUMS)`, "Check PIPEOPS_INSTALL_BASE_URL, or try again later");
  if (!signature) throw releaseRefused(base, "it is not signed (no SHA256SUMS.minisig)");
  let comment: string;
  try {
    comment = await verifySignature(sums, new TextDecoder().decode(signature), parsePublicKey(publicKey));
  } catch (error) {
    if (error instanceof SignatureError) throw releaseRefused(base, `its signature does not check out: ${error.message}`);
    throw error;
  }
  const version = vouchedVersion(comment);
  if (!version) throw releaseRefused(base, "its signature vouches for no version");
  let parsed: v.InferOutput<typeof InfoSchema> = {};
  try {
    const result = info ? v.safeParse(InfoSchema, JSON.parse(new TextDecoder().decode(info))) : undefined;
    if (result?.success) parsed = result.output;
  } catch {
    // Not JSON: no date and no notes, which are only shown.
  }
  const releasedAt = parsed.released_at && /^\d{4}-\d{2}-\d{2}/.test(parsed.released_at) ? parsed.released_at.slice(0, 10) : null;
  const notes = (parsed.notes ?? "")
    .split("\n")
    .map((line) => sanitize(line, 200))
    .join("\n")
    .slice(0, MAX_NOTES_CHARS)
    .trim();
  return { version, sums: parseSums(new TextDecoder().decode(sums)), base, releasedAt, notes };
}
