/** The Context every command runs with, and systemContext(): the one place that builds it from the runtime. */
import { configPath, EMPTY_CONFIG } from "./config/path.ts";
import type { CredentialStore } from "./config/store.ts";
import type { PathSetting } from "./errors.ts";
import { type Colors, colorEnabled, colorsFor, PLAIN_COLORS } from "./io/colour.ts";
import { type InputStream, lineReader, type OutputStream, outputStream } from "./io/streams.ts";
import { NO_TERMINAL, sttyControls } from "./io/terminal.ts";
import { detectWsl } from "./io/wsl.ts";
import type { Runtime } from "./runtime/index.ts";
import type { Env } from "./runtime/types.ts";
import { sleep } from "./sleep.ts";

export type { Env } from "./runtime/types.ts";

/** Everything a command may touch. Only systemContext() reaches for process or the runtime globals. */
export interface Context {
  readonly env: Env;
  readonly platform: string;
  readonly arch: string;
  readonly homedir: string;
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  readonly fetch: typeof fetch;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: InputStream;
  /** Opens a URL in the user's browser; false when no browser could be started. */
  openBrowser(url: string): Promise<boolean>;
  /** Whether this is Linux under WSL, where the browser is Windows'. */
  isWsl(): boolean;
  /** The terminal on stderr: its size, when it is one. */
  terminalSize(): { columns: number; rows: number } | undefined;
  /** Listens on a loopback address: the login's callback server. */
  serve: Runtime["serve"];
  /** Runs a program and keeps its output (the new binary's --version, xz), starts one that outlives us (the update check), and names ours. */
  capture: Runtime["capture"];
  /** A small text file read at once (the update check's record); undefined when it cannot be read. */
  readSmallTextFile: Runtime["readTextFileSync"];
  /** A file's modification time from one stat (the update record's, which says when it next falls due). */
  modifiedTime: Runtime["modifiedTime"];
  startDetached: Runtime["startDetached"];
  executablePath: Runtime["executablePath"];
  onSignal: Runtime["onSignal"];
  raise: Runtime["raise"];
  /** This process, and whether another one still runs: what the lock file records and checks. */
  readonly pid: number;
  processAlive(pid: number): boolean;
  /** How a request connects: through a proxy or not, and which certificates it trusts besides the built-in ones. */
  connectOptions: Runtime["connectOptions"];
  /** The credential file; built on first use so `--help` never touches the disk. */
  store(): CredentialFile;
  /** A credential file at another path (`--config FILE`), built the same way; `named` says what the user set. */
  storeAt(path: string, named: PathSetting): CredentialFile;
  /**
   * --verbose (or PIPEOPS_DEBUG=1): one line on stderr for each request and for the credentials
   * used. The caller never passes a secret; every token-bearing part is masked before it gets here.
   */
  trace(line: string | (() => string)): void;
  /** The variable that made the runtime open a debugger before pipeops started, when one did. */
  debuggerVariable(): string | undefined;
  /** The OS keyring, where this runtime has one (src/config/keyring.ts uses it). */
  keyring: Runtime["keyring"];
  /**
   * Where the runtime cannot load the colours when they are first painted (Deno), loads those of
   * the streams that take them (a terminal, FORCE_COLOR) before a command or an error prints:
   * `--version` never pays for them, even at a terminal. Elsewhere it has nothing to do.
   */
  loadColors(): Promise<void>;
}

/** What commands use of the credential store. */
export type CredentialFile = Pick<CredentialStore, "path" | "named" | "read" | "save" | "clear">;

/**
 * The credential store, its module (valibot, the schema) loaded by the first read or write rather
 * than at start, where `--help` and `--version` would pay for it. A file that is not there is read
 * as the store reads it (EMPTY_CONFIG), without loading the store at all.
 */
function lazyCredentialFile(
  path: string,
  named: PathSetting,
  isMissing: (path: string) => boolean,
  create: (path: string) => Promise<CredentialStore>,
): CredentialFile {
  let store: Promise<CredentialStore> | undefined;
  const loaded = () => (store ??= create(path));
  return {
    path,
    named,
    read: async () => (!store && isMissing(path) ? EMPTY_CONFIG : (await loaded()).read()),
    save: async (update) => (await loaded()).save(update),
    clear: async () => (await loaded()).clear(),
  };
}

/** Node's switch for turning certificate checks off: every request here checks them all the same. */
const TLS_OVERRIDE_IGNORED = "NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored: pipeops always verifies TLS certificates";
const TLS_OVERRIDE_HINT = "To trust a company CA, point NODE_EXTRA_CA_CERTS at its certificate";

/** How warnings look, from the output module: context.ts depends on nothing that renders. */
export interface Renderers {
  warning(stream: OutputStream, message: string, hint?: string): void;
}

export async function systemContext(runtime: Runtime, renderers: Renderers): Promise<Context> {
  const env = runtime.env();
  let store: CredentialFile | undefined;
  let wsl: boolean | undefined;
  let warnedTls = false;
  const storeAt = (path: string, named: PathSetting) =>
    lazyCredentialFile(path, named, runtime.isMissing, async (at) => {
      const { CredentialStore } = await import("./config/store.ts");
      // Checked by `auth login`, which says what is wrong with another value; a save ignores one.
      const preferred = env.PIPEOPS_CREDENTIAL_STORE?.trim().toLowerCase();
      const kind = preferred === "keyring" || preferred === "file" ? preferred : undefined;
      return new CredentialStore(at, (message, hint) => renderers.warning(stderr, message, hint), runtime.keyring, kind, named);
    });
  const isWsl = () => (wsl ??= detectWsl(env, runtime.platform, () => runtime.readTextFileSync("/proc/version")));
  const outTTY = runtime.isTerminal(1);
  const errTTY = runtime.isTerminal(2);
  // Decided now, loaded when first painted (or by loadColors() where the runtime cannot do that):
  // picocolors costs a terminal start about 0.35 ms, which `$(pipeops auth token)` never needs.
  let ansi: Colors | undefined;
  const ansiColors = () => (ansi ??= runtime.colorsNow?.());
  const colorsOf = (enabled: boolean) => () => (enabled && ansiColors()) || PLAIN_COLORS;
  const colorOut = colorEnabled(env, outTTY);
  const colorErr = colorEnabled(env, errTTY);
  const stdout = outputStream(
    (text) => runtime.write(1, text),
    (bytes) => runtime.writeBytes(1, bytes),
    outTTY,
    colorsOf(colorOut),
  );
  // Nothing writes bytes to stderr: text only.
  const stderr = outputStream(
    (text) => runtime.write(2, text),
    async () => false,
    errTTY,
    colorsOf(colorErr),
  );
  return {
    env,
    platform: runtime.platform,
    arch: runtime.arch,
    // Looked up on use: --help and --version need no home folder (Deno asks a permission for it).
    get homedir() {
      return runtime.homedir();
    },
    now: () => Date.now(),
    sleep,
    // Looked up on the first request: binding it here would make every start pay for Bun's fetch.
    fetch: ((input, init) => globalThis.fetch(input, init)) as typeof fetch,
    stdout,
    stderr,
    stdin: lineReader(() => runtime.stdin(), runtime.isTerminal(0), runtime.platform === "win32" ? NO_TERMINAL : sttyControls(runtime.runOnTerminal)),
    async openBrowser(url) {
      // Only a login opens a browser: the openers load then.
      const { BROWSER_GRACE_MS, browserCommands, exitCodeMeansNothing, isOwnStartPage, isWebUrl } = await import("./io/browser.ts");
      // A web page, or a page of our own on disk (a sign-in's start page): never a server-chosen file: or other scheme.
      if (!isWebUrl(url) && !isOwnStartPage(url)) return false;
      for (const argv of browserCommands(env, runtime.platform, isWsl(), url)) {
        if ((await runtime.launch(argv, BROWSER_GRACE_MS)) || exitCodeMeansNothing(argv)) return true;
      }
      return false;
    },
    isWsl,
    terminalSize: () => runtime.terminalSize(),
    serve: runtime.serve,
    capture: runtime.capture,
    readSmallTextFile: runtime.readTextFileSync,
    modifiedTime: runtime.modifiedTime,
    startDetached: runtime.startDetached,
    executablePath: runtime.executablePath,
    onSignal: runtime.onSignal,
    raise: runtime.raise,
    pid: runtime.pid,
    debuggerVariable: () => runtime.debuggerVariable(env),
    keyring: runtime.keyring,
    async loadColors() {
      if ((colorOut || colorErr) && !ansi && !runtime.colorsNow) ansi = await colorsFor(true);
    },
    processAlive: runtime.processAlive,
    connectOptions(options) {
      // Said once, at the first request: only commands that connect care.
      if (!warnedTls && env.NODE_TLS_REJECT_UNAUTHORIZED?.trim() === "0") {
        warnedTls = true;
        renderers.warning(stderr, TLS_OVERRIDE_IGNORED, TLS_OVERRIDE_HINT);
      }
      return runtime.connectOptions(options);
    },
    store() {
      store ??= storeAt(configPath(env, runtime.homedir()), "PIPEOPS_CONFIG_PATH");
      return store;
    },
    storeAt,
    trace(line) {
      if (env.PIPEOPS_DEBUG === "1") stderr.write(`trace: ${typeof line === "function" ? line() : line}\n`);
    },
  };
}
