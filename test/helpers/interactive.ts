/**
 * The compiled binary at a terminal (a pseudo-terminal, as a user types at it), and the pieces
 * login tests share: a temp HOME, a fake browser, the callback port.
 */
import { expect } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, cleanEnv } from "./binary.ts";

/** termios c_lflag ECHO: the terminal shows what is typed. */
const ECHO = 0o10;

export interface TerminalBinary {
  /** Everything the terminal showed so far: the program's output and the terminal's echo of input. */
  screen(): string;
  waitForScreen(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Keys typed at the terminal ("\r" is Enter). */
  type(keys: string): void;
  /**
   * Keys typed, resolving once Bun has written them to the pseudo-terminal (its drain callback: the
   * write is queued, not made, when write() returns), before a signal that must come after them.
   * The line discipline takes them in a moment later still, but a read of the terminal waits for
   * that (Linux's n_tty_read flushes pending input before it decides there is none), so the
   * program's discard meets them either way: no sleep decides the order.
   */
  typeAndFlush(keys: string): Promise<void>;
  /** Resolves once the process is stopped by job control (its state in /proc is T). */
  waitForStopped(timeoutMs?: number): Promise<void>;
  /**
   * Ctrl-C, as the terminal driver sends it: SIGINT. (Typing "\x03" sends nothing here: the
   * pseudo-terminal is not the process's controlling terminal.)
   */
  interrupt(): void;
  /** Sends the process a signal, as job control or a closing terminal would (SIGTSTP for Ctrl-Z, SIGHUP, ...). */
  signal(signal: NodeJS.Signals): void;
  /** Changes the terminal's size, as a window resized; the process hears of it only by SIGWINCH (send it: it is not its controlling terminal). */
  resize(columns: number, rows: number): void;
  /** Whether the terminal echoes typed input right now. */
  echoes(): boolean;
  /** Resolves once the terminal's echo is on (true) or off (false). */
  waitForEcho(on: boolean, timeoutMs?: number): Promise<void>;
  /**
   * The exit code once the process ended and all it wrote is on screen(); the terminal stays open
   * for echoes() until close().
   */
  readonly exited: Promise<number>;
  /**
   * After the exit: what was typed and never read, which the next program to read the terminal
   * (the shell) would get. A second program on the same terminal reads it without waiting for a line.
   */
  unreadInput(): Promise<string>;
  close(): void;
}

/**
 * Starts dist/pipeops (or `command`, e.g. `deno run … src/main.ts`) in a pseudo-terminal, stdin,
 * stdout and stderr all on it, like a user would, with only PATH, TZ, TERM and the given variables.
 */
export function spawnInTerminal(
  args: string[],
  env: Record<string, string>,
  command: { argv: string[]; cwd?: string } = { argv: [BINARY] },
  size: { columns: number; rows: number } = { columns: 80, rows: 24 },
): TerminalBinary {
  if (!existsSync(command.argv[0]!)) throw new Error(`${command.argv[0]} is missing: run 'npm run build' first`);
  let screen = "";
  const decoder = new TextDecoder();
  const flushWaiters: (() => void)[] = [];
  const terminal = new Bun.Terminal({
    cols: size.columns,
    rows: size.rows,
    data: (_terminal, data) => {
      screen += decoder.decode(data, { stream: true });
    },
    drain: () => {
      for (const resolve of flushWaiters.splice(0)) resolve();
    },
  });
  const child = Bun.spawn([...command.argv, ...args], {
    cwd: command.cwd,
    env: cleanEnv({ TERM: "xterm", ...env }),
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
  async function waitForScreen(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const started = Date.now();
    while (!pattern.test(screen)) {
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${pattern}; the terminal shows:\n${screen}`);
      await Bun.sleep(20);
    }
  }
  const shown = () => (drained && screen.includes(marker) ? screen.slice(0, screen.indexOf(marker)) : screen);
  return {
    screen: shown,
    waitForScreen,
    type: (keys) => void terminal.write(keys),
    async typeAndFlush(keys) {
      let late: ReturnType<typeof setTimeout> | undefined;
      const flushed = new Promise<void>((resolve, reject) => {
        flushWaiters.push(resolve);
        late = setTimeout(() => reject(new Error("the typed keys were not written to the terminal within 10 s")), 10_000);
      });
      terminal.write(keys);
      try {
        await flushed;
      } finally {
        clearTimeout(late);
      }
    },
    async waitForStopped(timeoutMs = 10_000) {
      const started = Date.now();
      // The state follows the command name, which is in parentheses (and may hold any character).
      const state = () => {
        const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
        return stat[stat.lastIndexOf(")") + 2];
      };
      while (state() !== "T") {
        if (Date.now() - started > timeoutMs) throw new Error(`the process did not stop; it is ${state()}`);
        await Bun.sleep(5);
      }
    },
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
    async unreadInput() {
      await exited;
      const [start, end] = [`<unread ${crypto.randomUUID()}>`, `</unread ${crypto.randomUUID()}>`];
      const script = `printf '%s' '${start}'; stty -icanon min 0 time 0; cat; printf '%s' '${end}'`;
      await Bun.spawn(["sh", "-c", script], { env: cleanEnv({ TERM: "xterm" }), terminal }).exited;
      await waitForScreen(new RegExp(end), 5_000);
      // The marker typed to see the output drained is unread input too.
      return screen.slice(screen.indexOf(start) + start.length, screen.indexOf(end)).replace(marker, "");
    },
    resize: (columns, rows) => terminal.resize(columns, rows),
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
 * A BROWSER program for the CLI to launch: it writes the page it opens to `urlFile` (or does nothing
 * when urlFile is omitted), as a browser would load it: the start page the CLI hands it (a file
 * only the user can read) is read for the sign-in URL it leads to. Its argv, one argument a line,
 * goes to `<urlFile>.argv`: what every other user of the machine could read.
 */
export function fakeBrowser(dir: string, urlFile?: string): string {
  const script = join(dir, "fake-browser.sh");
  const follow = `case "$1" in
  file://*) url=$(sed -n 's/.* id="sign-in" href="\\([^"]*\\)".*/\\1/p' "\${1#file://}" | sed 's/&amp;/\\&/g') ;;
  *) url=$1 ;;
esac
`;
  const body = urlFile
    ? `for arg in "$@"; do printf '%s\\n' "$arg"; done > '${urlFile}.argv'\n${follow}printf '%s' "$url" > '${urlFile}.tmp' && mv '${urlFile}.tmp' '${urlFile}'\n`
    : "exit 0\n";
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
