/**
 * The compiled binary as a live process: read its output as it arrives, write to its stdin, signal it.
 * For login flows, where the test has to act (approve, paste, Ctrl-C) while the CLI waits.
 */
import { expect } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, type RunResult } from "./binary.ts";

export interface LiveBinary {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of pattern in stderr (seen so far or still to come). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  write(text: string): void;
  closeStdin(): void;
  kill(signal: NodeJS.Signals): void;
  /** The exit code and all output, once the process ended. */
  readonly result: Promise<RunResult>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  /** "pipe" keeps stdin open for write(); default "ignore" (end of input). */
  stdin?: "pipe" | "ignore";
  timeoutMs?: number;
}

/** Starts dist/pipeops with only PATH, TZ and the given variables, like runBinary(). */
export function spawnBinary(args: string[], options: SpawnOptions = {}): LiveBinary {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run 'npm run build' first`);
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC" };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const child = Bun.spawn([BINARY, ...args], {
    env,
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs ?? 60_000,
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  const collect = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      append(decoder.decode(value, { stream: true }));
      for (const listener of listeners) listener();
    }
  };
  const drained = Promise.all([collect(child.stdout, (t) => (out += t)), collect(child.stderr, (t) => (err += t))]);
  const result = (async () => {
    const code = await child.exited;
    await drained;
    for (const listener of listeners) listener();
    return { code, stdout: out, stderr: err };
  })();
  let exited = false;
  void child.exited.then(() => (exited = true));

  return {
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    waitForStderr(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(err);
          if (match) return done(() => resolve(match));
          if (exited) done(() => reject(new Error(`exited before ${pattern} appeared; stderr:\n${err}\nstdout:\n${out}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}; stderr:\n${err}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        void child.exited.then(() => setTimeout(check, 0));
        check();
      });
    },
    write(text) {
      const stdin = child.stdin as import("bun").FileSink;
      stdin.write(text);
      stdin.flush();
    },
    closeStdin() {
      void (child.stdin as import("bun").FileSink).end();
    },
    kill: (signal) => child.kill(signal),
    result,
  };
}

/** termios c_lflag ECHO: the terminal shows what is typed. */
const ECHO = 0o10;

export interface TerminalBinary {
  /** Everything the terminal showed so far: the program's output and the terminal's echo of input. */
  screen(): string;
  waitForScreen(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Keys typed at the terminal ("\r" is Enter). */
  type(keys: string): void;
  /**
   * Ctrl-C, as the terminal driver sends it: SIGINT. (Typing "\x03" sends nothing here: the
   * pseudo-terminal is not the process's controlling terminal.)
   */
  interrupt(): void;
  /** Sends the process a signal, as job control or a closing terminal would (SIGTSTP for Ctrl-Z, SIGHUP, ...). */
  signal(signal: NodeJS.Signals): void;
  /** Whether the terminal echoes typed input right now. */
  echoes(): boolean;
  /** Resolves once the terminal's echo is on (true) or off (false). */
  waitForEcho(on: boolean, timeoutMs?: number): Promise<void>;
  /**
   * The exit code once the process ended and all it wrote is on screen(); the terminal stays open
   * for echoes() until close().
   */
  readonly exited: Promise<number>;
  close(): void;
}

/**
 * Starts dist/pipeops (or `command`, e.g. `deno run … src/main.ts`) in a pseudo-terminal, stdin,
 * stdout and stderr all on it, like a user would, with only PATH, TZ, TERM and the given variables.
 */
export function spawnInTerminal(args: string[], env: Record<string, string>, command: { argv: string[]; cwd?: string } = { argv: [BINARY] }): TerminalBinary {
  if (!existsSync(command.argv[0]!)) throw new Error(`${command.argv[0]} is missing: run 'npm run build' first`);
  let screen = "";
  const decoder = new TextDecoder();
  const terminal = new Bun.Terminal({
    data: (_terminal, data) => {
      screen += decoder.decode(data, { stream: true });
    },
  });
  const child = Bun.spawn([...command.argv, ...args], {
    cwd: command.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC", TERM: "xterm", ...env },
    terminal,
  });
  const marker = `<drained ${crypto.randomUUID()}>`;
  let drained = false;
  /**
   * Everything the program wrote has reached us once a marker typed after its exit comes back:
   * the terminal echoes input into the same queue, behind the program's output. (Bun keeps the
   * pseudo-terminal open, so there is no end of file to wait for.) Without echo, the output is
   * waited for until it stops changing.
   */
  const exited = child.exited.then(async (code) => {
    if ((terminal.localFlags & ECHO) !== 0) {
      terminal.write(marker);
      for (const started = Date.now(); !screen.includes(marker) && Date.now() - started < 5_000; ) await Bun.sleep(5);
    } else {
      for (let seen = -1; screen.length !== seen; ) {
        seen = screen.length;
        await Bun.sleep(20);
      }
    }
    drained = true;
    return code;
  });
  const shown = () => (drained && screen.includes(marker) ? screen.slice(0, screen.indexOf(marker)) : screen);
  return {
    screen: shown,
    async waitForScreen(pattern, timeoutMs = 30_000) {
      const started = Date.now();
      while (!pattern.test(screen)) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${pattern}; the terminal shows:\n${screen}`);
        await Bun.sleep(20);
      }
    },
    type: (keys) => void terminal.write(keys),
    interrupt: () => child.kill("SIGINT"),
    signal: (signal) => child.kill(signal),
    echoes: () => (terminal.localFlags & ECHO) !== 0,
    async waitForEcho(on, timeoutMs = 10_000) {
      const started = Date.now();
      while (((terminal.localFlags & ECHO) !== 0) !== on) {
        if (Date.now() - started > timeoutMs) throw new Error(`the terminal's echo did not turn ${on ? "on" : "off"}; it shows:\n${screen}`);
        await Bun.sleep(10);
      }
    },
    exited,
    close: () => terminal.close(),
  };
}

/**
 * The user's part of `auth login --with-token` at a terminal, checked as it goes: the prompt says
 * the token will not be shown, echo is off while it is typed, the login succeeds, the token never
 * appears on screen, and echo is back on afterwards.
 */
export async function typeHiddenToken(cli: TerminalBinary, token: string, timeoutMs?: number): Promise<void> {
  await cli.waitForScreen(/then press Enter:\r\n/, timeoutMs);
  expect(cli.screen()).toEndWith("Paste your token (it will not be shown), then press Enter:\r\n");
  expect(cli.echoes()).toBe(false);
  cli.type(`${token}\r`);
  expect(await cli.exited).toBe(0);
  expect(cli.screen()).toEndWith("\r\n\u001b[32m✓\u001b[39m Successfully authenticated as user@example.com\r\n");
  expect(cli.screen()).not.toContain(token.slice(0, 12));
  expect(cli.echoes()).toBe(true);
}

/** A temp HOME with PIPEOPS_CONFIG_PATH inside it, so tests never touch the real ~/.pipeops.json. */
export function tempHome(): { home: string; configPath: string; env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), "pipeops-login-"));
  const configPath = join(home, ".pipeops.json");
  return { home, configPath, env: { HOME: home, PIPEOPS_CONFIG_PATH: configPath } };
}

export function readConfig(path: string): Record<string, unknown> | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>) : null;
}

export function fileMode(path: string): number {
  return statSync(path).mode & 0o777;
}

/**
 * A BROWSER program for the CLI to launch: it writes the URL it was given to a file (or does
 * nothing when urlFile is omitted), so the test sees exactly what the CLI asked to open.
 */
export function fakeBrowser(dir: string, urlFile?: string): string {
  const script = join(dir, "fake-browser.sh");
  const body = urlFile ? `printf '%s' "$1" > '${urlFile}.tmp' && mv '${urlFile}.tmp' '${urlFile}'\n` : "exit 0\n";
  writeFileSync(script, `#!/bin/sh\n${body}`);
  chmodSync(script, 0o755);
  return script;
}

/** Waits for a file to appear (the fake browser writes it atomically). */
export async function waitForFile(path: string, timeoutMs = 30_000): Promise<string> {
  const started = Date.now();
  while (!existsSync(path)) {
    if (Date.now() - started > timeoutMs) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
  return readFileSync(path, "utf8");
}

/** True when nothing accepts connections on the loopback port any more. */
export async function portClosed(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/callback`, { signal: AbortSignal.timeout(5000) });
    await response.body?.cancel();
    return false;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === "ConnectionRefused" || code === "ECONNREFUSED";
  }
}

/** The loopback port from an authorization URL's redirect_uri. */
export function redirectPort(authorizationUrl: string): number {
  const redirect = new URL(new URL(authorizationUrl).searchParams.get("redirect_uri")!);
  return Number(redirect.port);
}
