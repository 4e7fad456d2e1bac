/**
 * Tokens in the OS keyring (opt-in: `auth login --keyring`, PIPEOPS_CREDENTIAL_STORE=keyring): one
 * entry per credential file and API origin, holding the access and refresh tokens; the file keeps
 * `"credential_store": "keyring"` and what is not secret. Every failure is closed: an error that
 * names the reason and the ways out, never a quiet fall back to a plain-text file (as gh does,
 * cli/cli#10108), and never a wait of more than a few seconds (a keyring that does not answer).
 */
import * as v from "valibot";
import { CliError, keyringFailed, keyringUnavailable } from "../errors.ts";
import type { Keyring } from "../runtime/types.ts";

export const KEYRING_SERVICE = "pipeops";
/** How long one keyring call may take before the keyring counts as unusable. */
export const KEYRING_TIMEOUT_MS = 5_000;
/** Far more than two tokens need. */
const MAX_ENTRY_CHARS = 40 * 1024;

const EntrySchema = v.object({
  access_token: v.pipe(v.string(), v.minLength(1), v.maxLength(16 * 1024)),
  refresh_token: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(16 * 1024))),
});

export type KeyringEntry = v.InferOutput<typeof EntrySchema>;

/** The entry's name: the API's origin and the credential file, so two files or two servers never share one. */
export function entryName(apiOrigin: string, configPath: string): string {
  return `${apiOrigin} ${configPath}`;
}

/** The keyring call, or the reason it cannot be used: none in this runtime, an error, or no answer in time. */
async function call<T>(keyring: Keyring | undefined, action: (keyring: Keyring) => Promise<T>): Promise<T> {
  if (!keyring) throw keyringUnavailable("this runtime has no access to the OS keyring (Deno)");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(keyringUnavailable(`it did not answer within ${KEYRING_TIMEOUT_MS / 1000} s`)), KEYRING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([action(keyring), timeout]);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw keyringUnavailable(reasonOf(error), error);
  } finally {
    clearTimeout(timer);
  }
}

/** The platform's own words, on one line ("Cannot autolaunch D-Bus without X11 $DISPLAY"). */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, 200) || "unknown error";
}

/** Whether the keyring can be used here: a read of an entry that is not there. */
export async function probeKeyring(keyring: Keyring | undefined): Promise<void> {
  await call(keyring, (k) => k.get(KEYRING_SERVICE, "pipeops availability probe"));
}

export async function readEntry(keyring: Keyring | undefined, name: string): Promise<KeyringEntry | null> {
  const text = await call(keyring, (k) => k.get(KEYRING_SERVICE, name));
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = text.length > MAX_ENTRY_CHARS ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const entry = v.safeParse(EntrySchema, parsed);
  if (!entry.success) throw keyringFailed(`the keyring entry "${name}" is not one pipeops wrote`);
  return entry.output;
}

/** Writes the entry and reads it back: only an entry seen to be there lets the file lose its tokens. */
export async function writeEntry(keyring: Keyring | undefined, name: string, entry: KeyringEntry): Promise<void> {
  const text = JSON.stringify(entry);
  await call(keyring, (k) => k.set(KEYRING_SERVICE, name, text));
  if ((await call(keyring, (k) => k.get(KEYRING_SERVICE, name))) !== text) throw keyringFailed("the keyring did not keep what was written to it");
}

export async function deleteEntry(keyring: Keyring | undefined, name: string): Promise<boolean> {
  return call(keyring, (k) => k.delete(KEYRING_SERVICE, name));
}
