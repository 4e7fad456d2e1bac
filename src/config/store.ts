/**
 * The credential file. A read loads this module alone with valibot and the schema (a command that
 * only reads its session pays for nothing else: npm run bench, with a session); writing, the
 * keyring and the words of an error load when a command needs them.
 */
import * as v from "valibot";
import { sanitize } from "../cli-error.ts";
import type { CliError, PathSetting } from "../errors.ts";
import { errorCode, type FileInfo, FileTooLargeError, isPermissionError, NotAFileError, readFileIfExists } from "../runtime/read.ts";
import type { Keyring } from "../runtime/types.ts";
import { formatRfc3339, parseRfc3339 } from "../time.ts";
import { EMPTY_CONFIG } from "./path.ts";
import { type ConfigFile, ConfigFileSchema, describeIssue } from "./schema.ts";

/** How to reach a server beyond its URL, as the file says (the Go CLI's oauth.client_id and oauth.dashboard_url). */
export interface ServerSettings {
  clientId?: string;
  consoleUrl?: string;
}

/** Credentials as pipeops uses them, whichever keys of the file they came from. */
export interface StoredCredentials {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: Date;
  /** Where they were read: our own keys, the Go CLI's nested `oauth` object, or the OS keyring. */
  source: "file" | "go-cli" | "keyring";
}

/** Where tokens are kept: the credential file (the default), or the OS keyring. */
export type CredentialStoreKind = "file" | "keyring";

export interface CredentialUpdate {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: Date;
  apiUrl?: string;
  /** Where to keep the tokens from now on; unset: where they are kept now. */
  store?: CredentialStoreKind;
}

export interface ConfigSnapshot {
  /** The whole file as read (an empty object when the file is missing or empty). */
  data: ConfigFile;
  credentials: StoredCredentials | null;
  /** The server the credentials belong to: our api_url, else the Go CLI's oauth.base_url. */
  apiUrl?: string;
  settings?: ServerSettings;
}

// api_url too: after a logout, the next login goes to the default server unless told otherwise.
// credential_store too: a file that says its tokens are in the keyring holds a session until logout.
const SESSION_KEYS = ["auth_token", "refresh_token", "expires_at", "api_url", "token_type", "id_token", "user", "credential_store"] as const;
const GO_CLI_SESSION_KEYS = ["access_token", "refresh_token", "expires_at"] as const;

/** The JSON credential file: validated reads, atomic 0600 writes, every unknown key kept. */
export class CredentialStore {
  private warnedAboutMode = false;

  constructor(
    readonly path: string,
    private readonly warn: (message: string, hint?: string) => void,
    private readonly keyring: () => Keyring | undefined = () => undefined,
    /** PIPEOPS_CREDENTIAL_STORE: where a save that names no store (a login) puts the tokens, moving them there. */
    private readonly preferred?: CredentialStoreKind,
    /** What the user set to name this file, for the hints: --config, or PIPEOPS_CONFIG_PATH (also for the default). */
    readonly named: PathSetting = "PIPEOPS_CONFIG_PATH",
  ) {}

  async read(): Promise<ConfigSnapshot> {
    return (await this.load()).snapshot;
  }

  /** The snapshot, and the text it was read from (undefined for a missing or empty file). */
  protected async load(): Promise<{ snapshot: ConfigSnapshot; text?: string }> {
    let file: FileInfo | null;
    try {
      file = await readFileIfExists(this.path);
    } catch (error) {
      throw await this.readError(error);
    }
    if (!file || file.text.trim() === "") return { snapshot: EMPTY_CONFIG };
    if ((file.mode & 0o077) !== 0 && !this.warnedAboutMode) {
      this.warnedAboutMode = true;
      this.warn(`config file ${this.path} is readable by other users`, `Run 'chmod 600 ${this.path}' to protect it`);
    }
    const data = await this.parse(file.text);
    const settings: ServerSettings = { clientId: data.oauth?.client_id || undefined, consoleUrl: data.oauth?.dashboard_url || undefined };
    const apiUrl = data.api_url ?? (data.oauth?.base_url || undefined);
    const credentials = data.credential_store === "keyring" ? await this.fromKeyring(data, apiUrl) : credentialsOf(data);
    return { snapshot: { data, credentials, apiUrl, settings }, text: file.text };
  }

  /**
   * The keyring entry for this file and server; an unusable keyring is an error, never "no
   * credentials". An entry under the name the file's path once gave it (as typed, before entries
   * were named after the real file) is found once and moved.
   */
  private async fromKeyring(data: ConfigFile, apiUrl: string | undefined): Promise<StoredCredentials | null> {
    const { deleteEntry, readEntry, writeEntry } = await import("./keyring.ts");
    const name = await this.entry(apiUrl);
    let entry = await readEntry(this.keyring(), name);
    const legacy = await this.legacyEntry(apiUrl);
    if (!entry && legacy !== name) {
      entry = await readEntry(this.keyring(), legacy);
      if (entry) {
        await writeEntry(this.keyring(), name, entry);
        await deleteEntry(this.keyring(), legacy);
      }
    }
    if (!entry) return null;
    return { accessToken: entry.access_token, refreshToken: entry.refresh_token, expiresAt: expiryOf(data.expires_at), source: "keyring" };
  }

  /**
   * The entry's name: the server's origin and the real file a write reaches (as the lock is named),
   * so two files never share an entry and one file reached by two names never has two.
   */
  private async entry(apiUrl: string | undefined): Promise<string> {
    const { entryName } = await import("./keyring.ts");
    this.realPath ??= import("../runtime/fs.ts").then(({ canonicalTarget }) => canonicalTarget(this.path));
    return entryName(originOf(apiUrl), await this.realPath);
  }

  /** The name entries had before: the path as the user gave it. */
  private async legacyEntry(apiUrl: string | undefined): Promise<string> {
    return (await import("./keyring.ts")).entryName(originOf(apiUrl), this.path);
  }

  private realPath: Promise<string> | undefined;

  /**
   * The file's object to write back, every value another tool wrote kept as its exact text (so
   * its values are not plain strings: decisions read `data`, the same file validated).
   */
  private async writable(): Promise<{ raw: Record<string, unknown>; data: Partial<ConfigFile> }> {
    const { text, snapshot } = await this.load();
    return { raw: text === undefined ? {} : losslessObject(text), data: snapshot.data };
  }

  /** Stores new credentials; every other key, the Go CLI's included, stays as it was. */
  async save(update: CredentialUpdate): Promise<void> {
    const { raw: current, data } = await this.writable();
    const was: CredentialStoreKind = data.credential_store === "keyring" ? "keyring" : "file";
    if ((update.store ?? this.preferred ?? was) === "keyring") return this.saveInKeyring(current, data, update);
    const next: Record<string, unknown> = { ...current, auth_token: update.accessToken };
    const expiresAt = storableTime(update.expiresAt);
    setOrDelete(next, "refresh_token", update.refreshToken);
    setOrDelete(next, "expires_at", expiresAt);
    if (update.apiUrl) next.api_url = update.apiUrl;
    // The official CLI's session, where the file has one, is the same session: both tools then use
    // the new tokens, and its base_url names the server they belong to. None is added where absent.
    if (isRecord(next.oauth)) {
      const oauth: Record<string, unknown> = { ...next.oauth, access_token: update.accessToken };
      setOrDelete(oauth, "refresh_token", update.refreshToken);
      setOrDelete(oauth, "expires_at", expiresAt);
      if (update.apiUrl) oauth.base_url = update.apiUrl;
      next.oauth = oauth;
    }
    delete next.credential_store;
    await this.write(next);
    // Back from the keyring: the old entry goes once the file holds the tokens.
    if (was === "keyring") await (await import("./keyring.ts")).deleteEntry(this.keyring(), await this.entry(data.api_url)).catch(() => false);
  }

  /**
   * The tokens into the keyring, read back, and only then out of the file (ours and the official
   * CLI's keys both), which keeps what is not secret and says where the tokens are.
   */
  private async saveInKeyring(current: Record<string, unknown>, data: Partial<ConfigFile>, update: CredentialUpdate): Promise<void> {
    const { deleteEntry, writeEntry } = await import("./keyring.ts");
    const apiUrl = update.apiUrl ?? data.api_url;
    await writeEntry(this.keyring(), await this.entry(apiUrl), {
      access_token: update.accessToken,
      ...(update.refreshToken ? { refresh_token: update.refreshToken } : {}),
    });
    const next: Record<string, unknown> = { ...current, credential_store: "keyring" };
    for (const key of ["auth_token", "refresh_token"]) delete next[key];
    setOrDelete(next, "expires_at", storableTime(update.expiresAt));
    if (apiUrl) next.api_url = apiUrl;
    if (isRecord(next.oauth)) {
      const oauth: Record<string, unknown> = { ...next.oauth };
      for (const key of GO_CLI_SESSION_KEYS) delete oauth[key];
      next.oauth = oauth;
    }
    await this.write(next);
    // A session for another server had its own entry: it is not this file's any more.
    if (data.credential_store === "keyring" && data.api_url !== apiUrl) await deleteEntry(this.keyring(), await this.entry(data.api_url)).catch(() => false);
  }

  /** Removes our session keys and the Go CLI's, and the keyring entry; returns false when there was nothing to remove. */
  async clear(): Promise<boolean> {
    const { raw: next, data } = await this.writable();
    let removed = false;
    // The keyring's entry first: a keyring that cannot be used fails the logout, and the file says where the tokens still are.
    if (data.credential_store === "keyring") {
      const { deleteEntry } = await import("./keyring.ts");
      const name = await this.entry(data.api_url);
      const legacy = await this.legacyEntry(data.api_url);
      await deleteEntry(this.keyring(), name);
      if (legacy !== name) await deleteEntry(this.keyring(), legacy);
      // Never "nothing to remove" while the file says its tokens are in the keyring: the marker goes too.
      removed = true;
    }
    for (const key of SESSION_KEYS) {
      if (key in next) {
        delete next[key];
        removed = true;
      }
    }
    if (isRecord(next.oauth)) {
      const oauth: Record<string, unknown> = { ...next.oauth };
      for (const key of GO_CLI_SESSION_KEYS) {
        if (key in oauth) {
          delete oauth[key];
          removed = true;
        }
      }
      next.oauth = oauth;
    }
    if (removed) await this.write(next);
    return removed;
  }

  private async parse(text: string): Promise<ConfigFile> {
    let json: unknown;
    try {
      // A UTF-8 byte order mark, as Windows editors write one, is not part of the JSON.
      json = JSON.parse(text.startsWith("\uFEFF") ? text.slice(1) : text);
    } catch (error) {
      throw await this.invalid(await describeBrokenJson(text.startsWith("\uFEFF") ? text.slice(1) : text, error));
    }
    if (!isRecord(json)) throw await this.invalid("expected a JSON object");
    const result = v.safeParse(ConfigFileSchema, json);
    if (!result.success) throw await this.invalid(describeIssue(result.issues));
    // The parsed object itself, not valibot's copy: that one drops keys named __proto__, constructor
    // or prototype, which save() must keep like any other key (the schema has no transforms).
    return json as ConfigFile;
  }

  private async write(data: Record<string, unknown>): Promise<void> {
    const { writeFileAtomic, writeProblem } = await import("../runtime/fs.ts");
    try {
      await writeFileAtomic(this.path, `${JSON.stringify(data, null, 2)}\n`);
    } catch (error) {
      // The spec's words for permission, the path and where it failed, and the ways out.
      const [{ saveError }, { writeWaysOut }] = await Promise.all([import("./writable.ts"), import("../errors.ts")]);
      throw saveError(this.path, (await writeProblem(this.path)) ?? { at: this.path, error }, writeWaysOut(this.named));
    }
  }

  private async invalid(reason: string): Promise<CliError> {
    return (await import("../errors.ts")).configInvalid(this.path, reason);
  }

  private async readError(error: unknown): Promise<CliError> {
    const { configNotAFile, configUnreadable } = await import("../errors.ts");
    if (error instanceof FileTooLargeError) return this.invalid(`it is over ${error.maxBytes / 1024 / 1024} MiB, far more than credentials take`);
    const code = errorCode(error);
    if (isPermissionError(error)) return configUnreadable(this.path, "permission", this.named);
    // A folder, a named pipe, a device: nothing of it is read, and the hint fits what it is.
    if (error instanceof NotAFileError) return configNotAFile(this.path, error.kind, this.named);
    if (code === "ENOTDIR") return configUnreadable(this.path, "not_a_folder", this.named);
    if (code === "ELOOP") return configUnreadable(this.path, "link_loop", this.named);
    return configUnreadable(this.path, code ?? "unknown error", this.named);
  }
}

/** The origin a keyring entry is filed under: the session's server, or "default" for a file that names none. */
function originOf(apiUrl: string | undefined): string {
  return apiUrl ? new URL(apiUrl).origin : "default";
}

function credentialsOf(data: ConfigFile): StoredCredentials | null {
  if (data.auth_token) {
    return {
      accessToken: data.auth_token,
      refreshToken: data.refresh_token || undefined,
      expiresAt: expiryOf(data.expires_at),
      source: "file",
    };
  }
  const oauth = data.oauth;
  if (oauth?.access_token) {
    return {
      accessToken: oauth.access_token,
      refreshToken: oauth.refresh_token || undefined,
      expiresAt: expiryOf(oauth.expires_at),
      source: "go-cli",
    };
  }
  return null;
}

/** Go writes its zero time (year 1) for "no expiry"; anything before 1970 means unknown. */
function expiryOf(text: string | undefined): Date | undefined {
  const date = text ? parseRfc3339(text) : undefined;
  return date && date.getTime() > 0 ? date : undefined;
}

function setOrDelete(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}

/**
 * RFC 3339 has four-digit years: an expiry it cannot write (an invalid date, or a server's huge
 * expires_in) is stored as unknown rather than as text that would make the file unreadable.
 */
function storableTime(date: Date | undefined): string | undefined {
  if (!date || !Number.isFinite(date.getTime())) return undefined;
  const text = formatRfc3339(date);
  return parseRfc3339(text) ? text : undefined;
}

/** Where the text stops being JSON ("unexpected end of file at line 3, column 16", for a file cut short), and the parser's reason. */
async function describeBrokenJson(text: string, error: unknown): Promise<string> {
  const at = (await import("./json-position.ts")).jsonErrorPosition(text);
  const reason = error instanceof SyntaxError ? describeJsonError(error) : "syntax error";
  if (!at) return `invalid JSON (${reason})`;
  const where = `line ${at.line}, column ${at.column}`;
  return at.atEnd ? `invalid JSON: unexpected end of file at ${where}` : `invalid JSON at ${where} (${reason})`;
}

/** The parser's reason without the text it quotes from the file: that may be a token or a terminal escape. */
function describeJsonError(error: SyntaxError): string {
  const reason = sanitize(
    error.message
      .replace(/^JSON Parse error: /, "")
      .replace(/(["'`]).*?\1/g, "")
      .replace(/\s+/g, " "),
    80,
  );
  return reason || "syntax error";
}

/** JSON.rawJSON and the reviver's source text (TC39 JSON.parse source text access): in Bun and Deno, not yet in TypeScript's lib. */
interface SourceTextJson {
  rawJSON(text: string): unknown;
}

/**
 * The file parsed for writing back: every string, number, boolean and null as its exact text, so
 * an integer beyond 2^53, 1e400, or a string's escapes come back as they were written and not as
 * JavaScript would round them. (Already checked by parse(): this cannot fail where that did not.)
 */
function losslessObject(text: string): Record<string, unknown> {
  const json = JSON as unknown as Partial<SourceTextJson>;
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const rawJSON = json.rawJSON;
  if (typeof rawJSON !== "function") return JSON.parse(body) as Record<string, unknown>;
  return JSON.parse(body, (_key, value: unknown, context?: { source?: string }) =>
    value !== null && typeof value === "object" ? value : context?.source === undefined ? value : rawJSON(context.source),
  ) as Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
