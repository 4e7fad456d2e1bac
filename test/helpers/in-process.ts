/**
 * The CLI run in this process, as the binary runs it (the system context over a runtime whose
 * streams are buffers), but with waits that take almost no time: a Retry-After of 1 s or a poll
 * interval of 5 s passes in a fraction of a millisecond, and is recorded. Real network, real files,
 * real servers. For the fault tables; a few scenarios still run the binary to show the same paths
 * end to end.
 */
import { runCli } from "../../src/cli.ts";
import { type Context, systemContext } from "../../src/context.ts";
import { printWarning } from "../../src/output.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import type { Runtime } from "../../src/runtime/index.ts";
import type { RunResult } from "./binary.ts";

export interface InProcessOptions {
  env?: Record<string, string | undefined>;
  /** Text on stdin, then end of input (default: empty). */
  stdin?: string;
  /** How much faster than real time the CLI's waits pass (default 1000). */
  speedup?: number;
}

export interface InProcessRun {
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of pattern in stderr (seen so far or still to come). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Every wait the CLI asked for, in ms of its own time. */
  readonly slept: number[];
  readonly result: Promise<RunResult & { ms: number }>;
}

/** Starts `pipeops <argv>` in this process; the result comes with the wall time it took. */
export function startInProcess(argv: string[], options: InProcessOptions = {}): InProcessRun {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC" };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  let out = "";
  let err = "";
  const slept: number[] = [];
  const speedup = options.speedup ?? 1000;
  const runtime: Runtime = {
    ...bunRuntime,
    args: argv,
    env: () => env,
    homedir: () => env.HOME ?? "",
    isTerminal: () => false,
    write: (fd, text) => {
      if (fd === 1) out += text;
      else err += text;
    },
    stdin: () => new Blob([options.stdin ?? ""]).stream(),
    exit: () => {
      throw new Error("exit() is the runner's, not the CLI's");
    },
  };
  const started = performance.now();
  const result = (async () => {
    const system = await systemContext(runtime, { warning: printWarning });
    const ctx: Context = {
      ...system,
      sleep: (ms, signal) => {
        slept.push(ms);
        return system.sleep(ms / speedup, signal);
      },
    };
    const code = await runCli(ctx, argv);
    return { code, stdout: out, stderr: err, ms: performance.now() - started };
  })();
  return {
    stdout: () => out,
    stderr: () => err,
    slept,
    async waitForStderr(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(err);
        if (match) return match;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr:\n${err}`);
        const finished = await Promise.race([result.then(() => true), Bun.sleep(5).then(() => false)]);
        if (finished && !pattern.test(err)) throw new Error(`finished before ${pattern} appeared; stderr:\n${err}\nstdout:\n${out}`);
      }
    },
    result,
  };
}

export async function runInProcess(argv: string[], options: InProcessOptions = {}): Promise<RunResult & { ms: number; slept: number[] }> {
  const run = startInProcess(argv, options);
  return { ...(await run.result), slept: run.slept };
}
