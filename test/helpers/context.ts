import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pc from "picocolors";
import { configPath } from "../../src/config/path.ts";
import { CredentialStore } from "../../src/config/store.ts";
import type { Context, Env } from "../../src/context.ts";
import { colorEnabled, PLAIN_COLORS } from "../../src/io/colour.ts";
import { lineReader, type OutputStream } from "../../src/io/streams.ts";
import { printWarning } from "../../src/output.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { sleep } from "../../src/sleep.ts";

export interface TestContext extends Context {
  /** Everything written to stdout / stderr so far. */
  out(): string;
  err(): string;
  /** URLs the command asked to open in a browser. */
  opened: string[];
}

export interface TestContextOptions {
  env?: Env;
  /** Text the command will read on stdin; end of input follows it. */
  stdin?: string;
  /** Fixed clock (ms since epoch); real clock when omitted. */
  now?: number;
  home?: string;
  tty?: boolean;
  openBrowser?: (url: string) => Promise<boolean>;
}

/** A stream into a buffer, coloured as the system context would colour it (picocolors' real codes). */
export function bufferStream(append: (text: string) => void, isTTY: boolean, env: Env): OutputStream {
  const decoder = new TextDecoder();
  return {
    write: append,
    writeBytes: async (bytes) => {
      append(decoder.decode(bytes, { stream: true }));
      return true;
    },
    isTTY,
    colors: colorEnabled(env, isTTY) ? pc.createColors(true) : PLAIN_COLORS,
  };
}

export function tempDir(prefix = "pipeops-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A temp HOME with the credential file at its default path: written from `file` (JSON, or text as it is) when given. */
export function homeWithFile(file?: unknown, options: { mode?: number; prefix?: string } = {}): { dir: string; path: string; env: Record<string, string> } {
  const dir = tempDir(options.prefix);
  const path = join(dir, ".pipeops.json");
  if (file !== undefined) writeFileSync(path, typeof file === "string" ? file : JSON.stringify(file), { mode: options.mode ?? 0o600 });
  return { dir, path, env: { HOME: dir } };
}

/** A Context with buffered IO, a temp HOME, and no colour, for calling command run() functions. */
export function testContext(options: TestContextOptions = {}): TestContext {
  const home = options.home ?? tempDir();
  const env: Env = { HOME: home, ...options.env };
  let out = "";
  let err = "";
  const opened: string[] = [];
  const tty = options.tty ?? false;
  const stderr = bufferStream((text) => (err += text), tty, env);
  let store: CredentialStore | undefined;
  return {
    env,
    platform: process.platform,
    arch: process.arch,
    homedir: home,
    now: () => options.now ?? Date.now(),
    sleep,
    fetch: globalThis.fetch.bind(globalThis),
    stdout: bufferStream((text) => (out += text), tty, env),
    stderr,
    stdin: lineReader(() => new Blob([options.stdin ?? ""]).stream(), tty),
    isWsl: () => false,
    terminalSize: () => undefined,
    openBrowser: async (address) => {
      // As a browser loads it: the start page login hands over (a file only the user can read) leads to the sign-in URL.
      const url = address.startsWith("file:") ? startPageTarget(address) : address;
      opened.push(url);
      return options.openBrowser ? options.openBrowser(url) : true;
    },
    serve: bunRuntime.serve,
    capture: bunRuntime.capture,
    readSmallTextFile: bunRuntime.readTextFileSync,
    modifiedTime: bunRuntime.modifiedTime,
    startDetached: bunRuntime.startDetached,
    executablePath: bunRuntime.executablePath,
    onSignal: bunRuntime.onSignal,
    raise: bunRuntime.raise,
    pid: bunRuntime.pid,
    processAlive: bunRuntime.processAlive,
    keyring: bunRuntime.keyring,
    loadColors: async () => {},
    connectOptions: bunRuntime.connectOptions,
    store() {
      store ??= new CredentialStore(configPath(env, home), (message, hint) => printWarning(stderr, message, hint));
      return store;
    },
    storeAt: (path) => new CredentialStore(path, (message, hint) => printWarning(stderr, message, hint)),
    debuggerVariable: () => undefined,
    trace: (line) => {
      if (env.PIPEOPS_DEBUG === "1") err += `trace: ${typeof line === "function" ? line() : line}\n`;
    },
    out: () => out,
    err: () => err,
    opened,
  };
}

/**
 * The entries of a folder the CLI keeps its config in, without ~/.cache: the server cache lives
 * there (src/server/cache.ts) and is no lock or temp file left behind.
 */
export function configFolderEntries(dir: string): string[] {
  return readdirSync(dir).filter((name) => name !== ".cache");
}

/**
 * A temp HOME whose credential file holds this session for `apiUrl`, as `pipeops auth login` leaves
 * it (0600), and the env to run the binary with it there (PIPEOPS_API_URL set to the same server).
 * `fields` adds or replaces keys; a key set to undefined is left out.
 */
export function homeWithSession(
  tokens: { access_token: string; refresh_token?: string },
  apiUrl: string,
  fields: Record<string, unknown> = {},
): { dir: string; path: string; env: Record<string, string> } {
  const file = homeWithFile({
    auth_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: "2099-01-01T00:00:00Z",
    api_url: apiUrl,
    ...fields,
  });
  return { ...file, env: { ...file.env, PIPEOPS_API_URL: apiUrl } };
}

/** The URL a sign-in's start page (src/login/pages.ts startPage) sends the browser on to. */
export function startPageTarget(fileUrl: string): string {
  const html = readFileSync(new URL(fileUrl), "utf8");
  const href = / id="sign-in" href="([^"]*)"/.exec(html)?.[1];
  if (href === undefined) throw new Error(`no sign-in link in ${fileUrl}`);
  return href.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">");
}
