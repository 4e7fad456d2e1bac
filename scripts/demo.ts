/**
 * `npm run demo`: the compiled CLI against the local authorization server, start to finish.
 * Builds dist/pipeops when it is missing or older than the sources, starts the dev server, runs
 * `pipeops auth login --no-browser` while a scripted user approves the device code over HTTP, then
 * `auth status`, `auth me` and `auth logout --force`, echoing each command and its output.
 * `npm run demo -- --pipeops` does the same against the PipeOps-shaped server, which has no device
 * grant: the scripted user signs in on its console and pastes back the address the browser ends on.
 * Everything happens in a temporary HOME and config file; ~/.pipeops.json is never touched.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { approveDevice, completeAuthorization } from "../test/helpers/flows.ts";
import { build } from "./build.ts";
import { startDevServer } from "./dev-server.ts";
import { startPipeOpsServer } from "./pipeops-server.ts";

const ROOT = join(import.meta.dir, "..");
const BINARY = join(ROOT, "dist", "pipeops");
const DEVICE_PROMPT = /Please open this URL in your browser to authenticate:\n(\S+)\n\nWaiting for authentication\.\.\.\n/;
const COMMAND_TIMEOUT_MS = 120_000;

function newestSourceTime(): number {
  const inputs = [join(ROOT, "package.json"), join(ROOT, "scripts", "build.ts")];
  for (const entry of readdirSync(join(ROOT, "src"), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) inputs.push(join(entry.parentPath, entry.name));
  }
  return Math.max(...inputs.filter((path) => existsSync(path)).map((path) => statSync(path).mtimeMs));
}

async function ensureBinary(): Promise<void> {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= newestSourceTime()) return;
  process.stdout.write(`Building ${BINARY} (missing or older than the sources)...\n`);
  await build({ entry: join(ROOT, "src", "main.ts"), outfile: BINARY });
}

const say = (text: string) => process.stdout.write(text);

/**
 * Runs the binary, copying its stderr and stdout to ours as they arrive; onStderr sees the whole
 * stderr so far after each chunk, so the demo can act on what the CLI prints.
 */
async function run(args: string[], env: Record<string, string>, onStderr?: (stderr: string, type: (line: string) => void) => void): Promise<number> {
  say(`\n$ pipeops ${args.join(" ")}\n`);
  const child = Bun.spawn([BINARY, ...args], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe", timeout: COMMAND_TIMEOUT_MS });
  // What the scripted user types: shown as a terminal would echo it.
  const type = (line: string) => {
    say(`${line}\n`);
    child.stdin.write(`${line}\n`);
    void child.stdin.flush();
  };
  let stderr = "";
  const copy = async (stream: ReadableStream<Uint8Array>, isStderr: boolean) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const text = decoder.decode(value, { stream: true });
      say(text);
      if (isStderr) {
        stderr += text;
        onStderr?.(stderr, type);
      }
    }
  };
  await Promise.all([copy(child.stdout, false), copy(child.stderr, true)]);
  void child.stdin.end();
  return child.exited;
}

/** The local server standing in for PipeOps, and how its scripted user completes a --no-browser login. */
interface DemoServer {
  describe: string;
  email: string;
  env: Record<string, string>;
  /** Reacts to what the CLI has printed so far; resolves once the user has done their part. */
  user(stderr: string, type: (line: string) => void): Promise<void> | undefined;
  close(): Promise<void>;
}

async function standardsServer(): Promise<DemoServer> {
  const server = await startDevServer();
  return {
    describe: `a local authorization server (oidc-provider) at ${server.url}`,
    email: server.user.email,
    env: { PIPEOPS_API_URL: server.url },
    user(stderr) {
      const match = DEVICE_PROMPT.exec(stderr);
      if (!match) return undefined;
      say(`# a scripted user opens that URL, signs in as ${server.user.email} and approves the device\n`);
      return approveDevice(match[1]!);
    },
    close: () => server.close(),
  };
}

async function pipeopsServer(): Promise<DemoServer> {
  const server = await startPipeOpsServer();
  return {
    describe: `a PipeOps-shaped server: API ${server.url}, console ${server.consoleUrl}`,
    email: server.user.email,
    env: { PIPEOPS_API_URL: server.url, PIPEOPS_DASHBOARD_URL: server.consoleUrl },
    user(stderr, type) {
      const match = DEVICE_PROMPT.exec(stderr);
      // Its stdin is a pipe, so no paste prompt is shown (a terminal shows one): the waiting line is the cue.
      if (!match || !stderr.endsWith("Waiting for authentication...\n")) return undefined;
      say(`# a scripted user opens that URL on another machine, signs in as ${server.user.email}, and pastes the address the browser ends on\n`);
      return completeAuthorization(match[1]!).then(type);
    },
    close: () => server.close(),
  };
}

async function main(): Promise<number> {
  await ensureBinary();
  const home = mkdtempSync(join(tmpdir(), "pipeops-demo-"));
  const configPath = join(home, ".pipeops.json");
  let server: DemoServer | undefined;
  try {
    server = process.argv.includes("--pipeops") ? await pipeopsServer() : await standardsServer();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      PIPEOPS_CONFIG_PATH: configPath,
      ...server.env,
    };
    if (process.env.TZ) env.TZ = process.env.TZ;
    if (process.stdout.isTTY && !process.env.NO_COLOR) env.FORCE_COLOR = "1";

    say("PipeOps CLI demo: a local server stands in for PipeOps.\n");
    say(`  server: ${server.describe} (demo user ${server.email})\n`);
    say(`  config: ${configPath} (temporary; your ~/.pipeops.json is not touched)\n`);

    let approval: Promise<void> | undefined;
    const loginCode = await run(["auth", "login", "--no-browser"], env, (stderr, type) => {
      approval ??= server!.user(stderr, type);
    });
    if (!approval) throw new Error("the CLI never printed the sign-in URL");
    await approval;

    const steps: [string[], number][] = [
      [["auth", "status"], await run(["auth", "status"], env)],
      [["auth", "me"], await run(["auth", "me"], env)],
      [["auth", "logout", "--force"], await run(["auth", "logout", "--force"], env)],
    ];
    const failed = [[["auth", "login", "--no-browser"], loginCode] as [string[], number], ...steps].filter(([, code]) => code !== 0);
    if (failed.length > 0) {
      for (const [args, code] of failed) process.stderr.write(`demo: 'pipeops ${args.join(" ")}' exited ${code}\n`);
      return 1;
    }
    say("\nDemo finished: login, status, me and logout all worked.\n");
    return 0;
  } finally {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
