/**
 * Running programs from tests, one way: a clean environment (only PATH, TZ and what the test
 * passes, so the developer's own variables never leak in), output collected as it arrives, and a
 * live handle for tests that must act while the program waits (approve, paste, Ctrl-C).
 * test/helpers/interactive.ts runs the binary in a pseudo-terminal on top of the same environment.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const BINARY = join(ROOT, "dist", "pipeops");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Text on stdin then end of input; "pipe" keeps stdin open for write(); default: no input at all. */
  stdin?: string | "pipe";
  cwd?: string;
  timeoutMs?: number;
  /** Run as another user (via setpriv), e.g. "nobody", to test permission errors as root. */
  asUser?: "nobody";
}

export interface LiveProcess {
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

/** PATH and TZ=UTC, then the test's variables (undefined ones left out). */
export function cleanEnv(env: Record<string, string | undefined> = {}): Record<string, string> {
  const clean: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC" };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value;
  return clean;
}

/** Starts any program with a clean environment; its output is collected as it arrives. */
export function spawnProgram(argv: string[], options: RunOptions = {}): LiveProcess {
  const command = options.asUser ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...argv] : argv;
  const child = Bun.spawn(command, {
    env: cleanEnv(options.env),
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "ignore" : options.stdin === "pipe" ? "pipe" : new Blob([options.stdin]),
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
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      append(decoder.decode(chunk.value, { stream: true }));
      for (const listener of listeners) listener();
    }
  };
  const drained = Promise.all([
    collect(child.stdout, (text) => {
      out += text;
    }),
    collect(child.stderr, (text) => {
      err += text;
    }),
  ]);
  let exited = false;
  const result = (async () => {
    const code = await child.exited;
    await drained;
    exited = true;
    for (const listener of listeners) listener();
    return { code, stdout: out, stderr: err };
  })();

  return {
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    waitForStderr(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        const check = () => {
          const match = pattern.exec(err);
          if (match) done(() => resolve(match));
          else if (exited) done(() => reject(new Error(`exited before ${pattern} appeared; stderr:\n${err}\nstdout:\n${out}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}; stderr:\n${err}`))), timeoutMs);
        listeners.add(check);
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

export function runProgram(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  return spawnProgram(argv, options).result;
}

function requireBinary(): void {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run 'npm run build' first`);
}

/** The compiled binary (built by `npm run build`, which `npm test` does first), running. */
export function spawnBinary(args: string[], options: RunOptions = {}): LiveProcess {
  requireBinary();
  return spawnProgram([BINARY, ...args], options);
}

/** The compiled binary, to the end. */
export function runBinary(args: string[], options: RunOptions = {}): Promise<RunResult> {
  requireBinary();
  return runProgram([BINARY, ...args], { timeoutMs: 30_000, ...options });
}

/** The hint of a token handed to login that was not accepted: about that token, not about logging in. */
export const TOKEN_REFUSED = (how: "--token" | "--with-token") =>
  `The token given with ${how} was not accepted (mistyped, expired, revoked, or for another server): check it, or run 'pipeops auth login' to sign in`;
