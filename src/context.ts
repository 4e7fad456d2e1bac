import { configPath, EMPTY_CONFIG } from "./config/path.ts";
import type { CredentialStore } from "./config/store.ts";
import type { Runtime } from "./runtime/index.ts";
import type { Env } from "./runtime/types.ts";

export type { Env } from "./runtime/types.ts";

/** The colours pipeops uses, from picocolors' createColors(). */
export type Colors = Pick<ReturnType<typeof import("picocolors").createColors>, "red" | "green" | "yellow" | "cyan" | "bold" | "dim">;

const plain = (text: string | number | null | undefined) => `${text}`;
export const PLAIN_COLORS: Colors = { red: plain, green: plain, yellow: plain, cyan: plain, bold: plain, dim: plain };

export interface OutputStream {
  write(text: string): void;
  readonly isTTY: boolean;
  /** This stream's colours: ANSI where it takes colour (NO_COLOR, FORCE_COLOR, TTY), plain text elsewhere. */
  readonly colors: Colors;
}

/** What stdin can do when it is a terminal (nothing, when it is not). */
export interface TerminalControls {
  /** Turns the terminal's echo of typed input off or back on; false when it cannot. */
  setEcho(on: boolean): boolean;
  /** Drops what was typed at the terminal and not read yet, so a line cut short never reaches the shell. */
  discardTyped(): void;
}

export interface InputStream extends TerminalControls {
  readonly isTTY: boolean;
  /**
   * One line without its terminator; null at end of input. A line longer than `maxChars` is read
   * to its end but returned cut to maxChars + 1 characters, so no line fills memory and the caller
   * can tell it was too long.
   */
  readLine(maxChars?: number): Promise<string | null>;
  /** Everything up to end of input, or the first maxChars + 1 characters, after which reading stops. */
  readAll(maxChars: number): Promise<string>;
}

const NO_TERMINAL: TerminalControls = { setEcho: () => false, discardTyped: () => {} };

/**
 * The terminal on stdin, through POSIX stty, so line editing and Ctrl-C keep working. Typed input
 * that was not read is dropped by reading the terminal without waiting for a line, its settings
 * put back afterwards.
 */
function sttyControls(runtime: Pick<Runtime, "runOnTerminal">): TerminalControls {
  return {
    setEcho: (on) => runtime.runOnTerminal(["stty", on ? "echo" : "-echo"]),
    discardTyped: () => void runtime.runOnTerminal(["sh", "-c", 'saved=$(stty -g) || exit 0; stty -icanon min 0 time 0 && cat >/dev/null; stty "$saved"']),
  };
}

/** What readLine() keeps of a line unless told otherwise: far more than a URL or a token. */
export const MAX_LINE_CHARS = 64 * 1024;

/** Everything a command may touch. Only systemContext() reaches for process or the runtime globals. */
export interface Context {
  readonly env: Env;
  readonly platform: string;
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
  readonly runtime: Pick<Runtime, "serve" | "onSignal" | "raise" | "pid" | "processAlive" | "connectOptions">;
  /** The credential file; built on first use so `--help` never touches the disk. */
  store(): CredentialFile;
}

/** What commands use of the credential store. */
export type CredentialFile = Pick<CredentialStore, "path" | "read" | "save" | "clear">;

/**
 * The credential store, its module (valibot, the schema, the file operations) loaded by the first
 * read or write rather than at start, where `--help` and `--version` would pay for it. A file that
 * is not there is read as the store reads it (EMPTY_CONFIG), without loading the store at all.
 */
function lazyCredentialFile(path: string, isMissing: (path: string) => boolean, create: (path: string) => Promise<CredentialStore>): CredentialFile {
  let store: Promise<CredentialStore> | undefined;
  const loaded = () => (store ??= create(path));
  return {
    path,
    read: async () => (!store && isMissing(path) ? EMPTY_CONFIG : (await loaded()).read()),
    save: async (update) => (await loaded()).save(update),
    clear: async () => (await loaded()).clear(),
  };
}

/**
 * NO_COLOR wins (https://no-color.org), then FORCE_COLOR (0 or false turns colour off, anything
 * else on, as in Node), then whether the stream is a terminal that is not TERM=dumb.
 */
export function colorEnabled(env: Env, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  return isTTY && env.TERM !== "dumb";
}

export function outputStream(write: (text: string) => void, isTTY: boolean, colors: Colors): OutputStream {
  return { write, isTTY, colors };
}

/** Splits a byte stream into lines on demand; unread input stays unread, and nothing read is unbounded. */
export function lineReader(open: () => ReadableStream<Uint8Array>, isTTY: boolean, terminal: TerminalControls = NO_TERMINAL): InputStream {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let decoder: TextDecoder | undefined;
  let buffered = "";
  let ended = false;

  async function fill(): Promise<boolean> {
    if (ended) return false;
    reader ??= open().getReader();
    decoder ??= new TextDecoder();
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      buffered += decoder.decode();
      reader.releaseLock();
      return false;
    }
    buffered += decoder.decode(value, { stream: true });
    return true;
  }

  return {
    isTTY,
    setEcho: (on) => terminal.setEcho(on),
    discardTyped: () => terminal.discardTyped(),
    async readLine(maxChars = MAX_LINE_CHARS) {
      let kept: string | undefined;
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = (kept ?? "") + buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (kept !== undefined) return line.slice(0, maxChars + 1);
          return line.endsWith("\r") ? line.slice(0, -1) : line;
        }
        if (buffered.length > maxChars || kept !== undefined) {
          // Too long already: keep what tells so, drop the rest of the line as it arrives.
          kept = ((kept ?? "") + buffered).slice(0, maxChars + 1);
          buffered = "";
        }
        if (!(await fill())) {
          const rest = (kept ?? "") + buffered;
          buffered = "";
          if (rest === "" && kept === undefined) return null;
          return rest.slice(0, maxChars + 1);
        }
      }
    },
    async readAll(maxChars) {
      while (buffered.length <= maxChars && (await fill()));
      if (buffered.length > maxChars && !ended) {
        ended = true;
        await reader?.cancel().catch(() => {});
      }
      const all = buffered.slice(0, maxChars + 1);
      buffered = "";
      return all;
    },
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** cmd.exe's `start` takes the URL through the shell's parser: `&` would end the command. */
function startCommand(program: string, url: string): string[] {
  return [program, "/c", "start", '""', url.replace(/&/g, "^&")];
}

/**
 * The commands that may open the URL, tried in turn. $BROWSER, as its convention has it: a list
 * separated by colons (semicolons on Windows), each a command with arguments, `%s` standing for
 * the URL (which goes last when no `%s` is given). Else the desktop's opener; on WSL, wslview or
 * Windows' own `start`.
 */
export function browserCommands(env: Env, platform: string, wsl: boolean, url: string): string[][] {
  const configured = env.BROWSER?.trim();
  if (configured) {
    return configured
      .split(platform === "win32" ? ";" : ":")
      .map((entry) => entry.trim().split(/\s+/).filter(Boolean))
      .filter((words) => words.length > 0)
      .map((words) => {
        const withUrl = words.map((word) => word.replace(/%(%|s)/g, (_, c: string) => (c === "s" ? url : "%")));
        return words.some((word) => /(^|[^%])%s/.test(word)) ? withUrl : [...withUrl, url];
      });
  }
  if (wsl) return [["wslview", url], startCommand("cmd.exe", url)];
  if (platform === "darwin") return [["open", url]];
  if (platform === "win32") return [startCommand("cmd", url)];
  return [["xdg-open", url]];
}

/** How long a browser opener has to fail before it counts as started. */
const BROWSER_GRACE_MS = 1_500;

/** WSL: Microsoft's kernel (/proc/version says so), or the variable WSL sets. */
export function detectWsl(env: Env, platform: string, procVersion: () => string | undefined): boolean {
  if (platform !== "linux") return false;
  return Boolean(env.WSL_DISTRO_NAME) || /microsoft/i.test(procVersion() ?? "");
}

/** How warnings look, from the output module: context.ts depends on nothing that renders. */
export interface Renderers {
  warning(stream: OutputStream, message: string, hint?: string): void;
}

export async function systemContext(runtime: Runtime, renderers: Renderers): Promise<Context> {
  const env = runtime.env();
  let store: CredentialFile | undefined;
  let wsl: boolean | undefined;
  const isWsl = () => (wsl ??= detectWsl(env, runtime.platform, () => runtime.readTextFileSync("/proc/version")));
  const outTTY = runtime.isTerminal(1);
  const errTTY = runtime.isTerminal(2);
  const outColor = colorEnabled(env, outTTY);
  const errColor = colorEnabled(env, errTTY);
  // picocolors is loaded only when a stream takes colour: pipes and files never pay for it. At a
  // terminal its own colour detection reads process.stdout, which Bun builds on first use; the
  // bench's terminal row shows what that costs, and it has no target, so nothing works around it.
  const ansi = outColor || errColor ? (await import("./io/ansi.ts")).ansi : PLAIN_COLORS;
  const stdout = outputStream((text) => runtime.write(1, text), outTTY, outColor ? ansi : PLAIN_COLORS);
  const stderr = outputStream((text) => runtime.write(2, text), errTTY, errColor ? ansi : PLAIN_COLORS);
  return {
    env,
    platform: runtime.platform,
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
    stdin: lineReader(() => runtime.stdin(), runtime.isTerminal(0), runtime.platform === "win32" ? NO_TERMINAL : sttyControls(runtime)),
    async openBrowser(url) {
      for (const argv of browserCommands(env, runtime.platform, isWsl(), url)) {
        if (await runtime.launch(argv, BROWSER_GRACE_MS)) return true;
      }
      return false;
    },
    isWsl,
    terminalSize: () => runtime.terminalSize(),
    runtime,
    store() {
      store ??= lazyCredentialFile(configPath(env, runtime.homedir()), runtime.isMissing, async (path) => {
        const { CredentialStore } = await import("./config/store.ts");
        return new CredentialStore(path, (message, hint) => renderers.warning(stderr, message, hint));
      });
      return store;
    },
  };
}
