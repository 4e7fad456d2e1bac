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
  stdin?: string;
  cwd?: string;
  timeoutMs?: number;
  /** Run as another user (via setpriv), e.g. "nobody", to test permission errors as root. */
  asUser?: "nobody";
}

/**
 * Runs the compiled binary (built by `npm run build`, which `npm test` does first) with a clean
 * environment: only PATH, HOME and what the test passes, so the developer's own variables never leak in.
 */
export async function runBinary(args: string[], options: RunOptions = {}): Promise<RunResult> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run 'npm run build' first`);
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC" };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const command = options.asUser ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BINARY, ...args] : [BINARY, ...args];
  const child = Bun.spawn(command, {
    env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs ?? 30_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}
