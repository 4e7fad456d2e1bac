/**
 * What the CLI learned about each server, so later commands do not ask again: the metadata it
 * publishes (or that it publishes none, as PipeOps production), and how far its clock is from ours.
 * One JSON file in the user's cache folder, keyed by server, kept for a day, written atomically at
 * 0600 and validated when read. It never holds a token. A broken or foreign file is ignored and
 * rewritten: losing it only costs the requests to learn the server again.
 */
import * as v from "valibot";
import { cacheFile } from "../config/cache-path.ts";
import { readFileIfExists, writableByOthers, writeFileAtomic } from "../runtime/fs.ts";
import type { Env } from "../runtime/types.ts";
import { isSecureUrl } from "./url.ts";

/** How long what was learned is trusted. */
export const CACHE_TTL_MS = 24 * 60 * 60 * 1000;
/** More servers than anyone uses; the oldest go first. */
const MAX_SERVERS = 32;
const MAX_FILE_BYTES = 256 * 1024;

/** An endpoint a token may be sent to: https, or plain http to loopback only (as every request is checked). */
const url = v.pipe(
  v.string(),
  v.maxLength(2048),
  v.url(),
  v.check((text) => URL.canParse(text) && isSecureUrl(new URL(text)), "must be https (or http to loopback)"),
);
const endpoint = v.optional(url);
const names = v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(200))), v.maxLength(100)));

/** The part of RFC 8414 / OpenID metadata the CLI uses; everything else is not kept. */
export const MetadataSchema = v.object({
  issuer: url,
  authorization_endpoint: endpoint,
  token_endpoint: endpoint,
  userinfo_endpoint: endpoint,
  device_authorization_endpoint: endpoint,
  revocation_endpoint: endpoint,
  code_challenge_methods_supported: names,
  scopes_supported: names,
  authorization_response_iss_parameter_supported: v.optional(v.boolean()),
});

export type Metadata = v.InferOutput<typeof MetadataSchema>;

/** What discovery learned: the server's own metadata, or that it publishes none (the PipeOps API). */
export type ServerFacts = { kind: "standard"; metadata: Metadata } | { kind: "pipeops" };

const FactsSchema = v.variant("kind", [v.object({ kind: v.literal("standard"), metadata: MetadataSchema }), v.object({ kind: v.literal("pipeops") })]);

const EntrySchema = v.object({
  facts: FactsSchema,
  learned_at: v.pipe(v.number(), v.finite()),
  clock_offset_ms: v.pipe(v.number(), v.finite()),
});

const CacheSchema = v.object({ version: v.literal(1), servers: v.record(v.pipe(v.string(), v.maxLength(2100)), EntrySchema) });

type CacheFile = v.InferOutput<typeof CacheSchema>;

export interface KnownServer {
  facts: ServerFacts;
  /** Server time minus local time, as its Date headers last showed. */
  clockOffsetMs: number;
}

export interface CacheLocation {
  readonly env: Env;
  readonly platform: string;
  readonly homedir: string;
  now(): number;
}

export { cacheFile };

/** Told why a cache was not believed, so the user can fix it; the command goes on without it. */
export type CacheReport = (message: string, hint: string) => void;

/**
 * The cache, or an empty one. A file that someone else could have written (it, or its folder, is
 * another user's or writable by others) may point our tokens anywhere: it is ignored, and `report`
 * says so.
 */
async function readCache(path: string, report?: CacheReport): Promise<CacheFile> {
  const empty: CacheFile = { version: 1, servers: {} };
  try {
    // Read and checked at once: the check's stats and the read go to the thread pool together.
    const [file, loose] = await Promise.all([readFileIfExists(path, MAX_FILE_BYTES), writableByOthers(path)]);
    if (!file) return empty;
    if (loose) {
      report?.(`ignored the cache ${path}: ${loose} can be written by other users`, `Remove it (rm '${path}'); pipeops writes a new one, readable by you only`);
      return empty;
    }
    const parsed = v.safeParse(CacheSchema, JSON.parse(file.text));
    return parsed.success ? parsed.output : empty;
  } catch {
    return empty;
  }
}

/** What is known of the server, when it was learned less than a day ago. */
export async function knownServer(where: CacheLocation, server: string, report?: CacheReport): Promise<KnownServer | undefined> {
  const entry = (await readCache(cacheFile(where), report)).servers[server];
  if (!entry) return undefined;
  const age = where.now() - entry.learned_at;
  if (age < 0 || age > CACHE_TTL_MS) return undefined;
  return { facts: entry.facts, clockOffsetMs: entry.clock_offset_ms };
}

/**
 * Records what was learned (or, with `known` undefined, forgets it). A cache that cannot be
 * written is no failure of the command.
 */
export async function rememberServer(where: CacheLocation, server: string, known: KnownServer | undefined, learnedAt = where.now()): Promise<void> {
  const path = cacheFile(where);
  try {
    const cache = await readCache(path);
    delete cache.servers[server];
    if (known) cache.servers[server] = { facts: known.facts, learned_at: learnedAt, clock_offset_ms: Math.round(known.clockOffsetMs) };
    const newest = Object.entries(cache.servers)
      .sort(([, a], [, b]) => b.learned_at - a.learned_at)
      .slice(0, MAX_SERVERS);
    await writeFileAtomic(path, `${JSON.stringify({ version: 1, servers: Object.fromEntries(newest) }, null, 2)}\n`);
  } catch {
    // Read-only home, full disk: the next command learns the server again.
  }
}
