/** What pipeops needs from the JavaScript runtime; the only place Bun or Deno specifics are allowed. */

/** The process environment, as read once at start. */
export type Env = Readonly<Record<string, string | undefined>>;
export interface LocalServer {
  readonly port: number;
  /** Stops accepting connections; responses already being written are finished first. */
  stop(): Promise<void>;
}

export interface ServeOptions {
  hostname: string;
  port: number;
  fetch(request: Request): Response | Promise<Response>;
}

export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGTSTP" | "SIGCONT";

/** The OS credential store (macOS Keychain, Secret Service on Linux, Windows Credential Manager). */
export interface Keyring {
  get(service: string, name: string): Promise<string | null>;
  set(service: string, name: string, value: string): Promise<void>;
  /** True when there was an entry to delete. */
  delete(service: string, name: string): Promise<boolean>;
}

export interface Runtime {
  readonly name: "bun" | "deno";
  readonly pid: number;
  readonly platform: string;
  /** The CPU, as Node names it: x64, arm64. */
  readonly arch: string;
  readonly args: readonly string[];
  env(): Record<string, string | undefined>;
  homedir(): string;
  isTerminal(fd: 0 | 1 | 2): boolean;
  /**
   * The variable that made the runtime open a debugger before our code ran (Bun's BUN_INSPECT,
   * say): anyone who can reach it could read the tokens in memory. Undefined when there is none.
   */
  debuggerVariable(env: Env): string | undefined;
  /** Synchronous, so output order is the order of calls even when the process exits right after. */
  write(fd: 1 | 2, text: string): void;
  /**
   * Bytes to fd 1 as they are, resolved once written (so a slow reader slows the download rather
   * than filling memory); false once the reader has gone (EPIPE), so a download can stop.
   */
  writeBytes(fd: 1, bytes: Uint8Array): Promise<boolean>;
  stdin(): ReadableStream<Uint8Array>;
  /**
   * Runs a program on our terminal (stdin inherited, its output discarded) and waits for it, as
   * stty needs; false when it failed or could not start.
   */
  runOnTerminal(argv: readonly string[]): boolean;
  serve(options: ServeOptions): LocalServer;
  /**
   * Starts a program without a shell and leaves it running. False when it could not start, or
   * exited with a failure within `graceMs` (a browser opener with no browser to open); true when
   * it is still running then, or exited successfully.
   */
  launch(argv: readonly string[], graceMs: number): Promise<boolean>;
  /**
   * Runs a program without a shell, its stdin closed, and returns its exit code and standard output
   * (at most `maxBytes`); it is killed after `timeoutMs`. Code -1 when it could not start.
   */
  capture(argv: readonly string[], options: { timeoutMs: number; maxBytes: number }): Promise<{ code: number; stdout: Uint8Array }>;
  /** Starts a program that outlives this process, in a session of its own, every stream closed; false when it could not start. */
  startDetached(argv: readonly string[]): boolean;
  /** The path of the program this process runs (the pipeops binary; the runtime when run from source). */
  executablePath(): string;
  /**
   * True when nothing exists at the path (ENOENT), answered without loading the file system module;
   * false for anything else (a file, a folder, a broken link chain, no permission), which the
   * credential store then reads and reports. The usual `auth status` before any login needs no more.
   */
  isMissing(path: string): boolean;
  /** A file's modification time (ms since the epoch) from one stat, nothing opened; undefined when missing, or where the runtime cannot tell cheaply. */
  modifiedTime(path: string): number | undefined;
  /**
   * Fetch options for how a request connects: through `proxy`, or directly when it is undefined
   * (even with proxy variables set: the choice is made by src/server/network.ts), trusting `extraCa`
   * besides the built-in certificates.
   */
  connectOptions(options: { proxy: URL | undefined; extraCa: readonly string[] }): RequestInit;
  /** The size of the terminal on stderr; undefined when it is not one or cannot say. */
  terminalSize(): { columns: number; rows: number } | undefined;
  /** A small text file read at once (such as /proc/version); undefined when it cannot be read. */
  readTextFileSync(path: string): string | undefined;
  onSignal(signal: Signal, handler: () => void): () => void;
  /**
   * Sends this process a signal with its default action: the caller has removed its own listener,
   * so SIGTERM and SIGHUP end the process as they would have, and SIGSTOP stops it (job control).
   */
  raise(signal: "SIGTERM" | "SIGHUP" | "SIGSTOP"): void;
  /**
   * picocolors' ANSI colours, loaded by the first call: a warning or a result that paints them loads
   * them as it is written, and a command that paints nothing never does. Undefined where the runtime
   * cannot load a module synchronously (Deno): Context.loadColors loads them ahead there.
   */
  colorsNow?(): ReturnType<typeof import("picocolors").createColors>;
  /** The OS keyring, or undefined where this runtime has no way to it (Deno). */
  keyring(): Keyring | undefined;
  /** True when a process with this pid exists (used to break stale lock files). */
  processAlive(pid: number): boolean;
  exit(code: number): never;
}
