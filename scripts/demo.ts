/**
 * `npm run demo`: the compiled CLI against the local authorization server, start to finish.
 * Builds dist/pipeops when it is missing or older than the sources, starts the dev server, runs
 * `pipeops auth login --no-browser` while a scripted user approves the device code over HTTP, then
 * `auth status`, `auth me` and `auth logout --force`, echoing each command and its output.
 * Everything happens in a temporary HOME and config file; ~/.pipeops.json is never touched.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { approveDevice } from "../test/helpers/flows.ts";
import { build } from "./build.ts";
import { type DevServer, startDevServer } from "./dev-server.ts";

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
async function run(args: string[], env: Record<string, string>, onStderr?: (stderr: string) => void): Promise<number> {
  say(`\n$ pipeops ${args.join(" ")}\n`);
  const child = Bun.spawn([BINARY, ...args], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: COMMAND_TIMEOUT_MS });
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
        onStderr?.(stderr);
      }
    }
  };
  await Promise.all([copy(child.stdout, false), copy(child.stderr, true)]);
  return child.exited;
}

async function main(): Promise<number> {
  await ensureBinary();
  const home = mkdtempSync(join(tmpdir(), "pipeops-demo-"));
  const configPath = join(home, ".pipeops.json");
  let server: DevServer | undefined;
  try {
    server = await startDevServer();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      PIPEOPS_CONFIG_PATH: configPath,
      PIPEOPS_API_URL: server.url,
    };
    if (process.env.TZ) env.TZ = process.env.TZ;
    if (process.stdout.isTTY && !process.env.NO_COLOR) env.FORCE_COLOR = "1";

    say("PipeOps CLI demo: a local authorization server stands in for PipeOps.\n");
    say(`  server: ${server.url} (demo user ${server.user.email})\n`);
    say(`  config: ${configPath} (temporary; your ~/.pipeops.json is not touched)\n`);

    let approval: Promise<void> | undefined;
    const loginCode = await run(["auth", "login", "--no-browser"], env, (stderr) => {
      const match = DEVICE_PROMPT.exec(stderr);
      if (!match || approval) return;
      say(`# a scripted user opens that URL, signs in as ${server!.user.email} and approves the device\n`);
      approval = approveDevice(match[1]!);
    });
    if (!approval) throw new Error("the CLI never printed the device URL");
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
