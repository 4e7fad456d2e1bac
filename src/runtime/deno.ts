/**
 * The Runtime on Deno. Importing this module runs no Deno code: `Deno` is only touched inside the
 * functions, so the Bun build can bundle it and pick it only when `Deno` exists.
 */
import type { LocalServer, Runtime, ServeOptions, Signal } from "./types.ts";

/** The part of the Deno namespace we use (tsc here checks against bun-types, which has no Deno). */
interface DenoStream {
  isTerminal(): boolean;
}
interface DenoWriter extends DenoStream {
  writeSync(bytes: Uint8Array): number;
}
interface DenoApi {
  readonly pid: number;
  readonly args: readonly string[];
  readonly build: { readonly os: string; readonly arch: string };
  readonly env: {
    toObject(): Record<string, string>;
    get(name: string): string | undefined;
    set(name: string, value: string): void;
    delete(name: string): void;
  };
  readonly stdin: DenoStream & { readonly readable: ReadableStream<Uint8Array> };
  readonly stdout: DenoWriter;
  readonly stderr: DenoWriter;
  readonly errors: { readonly WouldBlock: new () => Error; readonly NotFound: new () => Error };
  serve(options: {
    hostname: string;
    port: number;
    onListen(addr: { port: number }): void;
    onError(error: unknown): Response;
    handler(request: Request): Response | Promise<Response>;
  }): { readonly addr: { readonly port: number }; shutdown(): Promise<void> };
  Command: new (
    program: string,
    options: {
      args: string[];
      env: Record<string, string>;
      clearEnv: boolean;
      stdin: "null" | "inherit";
      stdout: "null" | "piped";
      stderr: "null";
      detached?: boolean;
      signal?: AbortSignal;
    },
  ) => {
    spawn(): { unref(): void; readonly status: Promise<{ readonly success: boolean }> };
    outputSync(): { readonly success: boolean };
    output(): Promise<{ readonly code: number; readonly stdout: Uint8Array }>;
  };
  execPath(): string;
  addSignalListener(signal: Signal, handler: () => void): void;
  removeSignalListener(signal: Signal, handler: () => void): void;
  kill(pid: number, signal: number | string): void;
  exit(code: number): never;
  unrefTimer(id: number): void;
  consoleSize(): { columns: number; rows: number };
  createHttpClient(options: { proxy?: { url: string }; caCerts?: string[] }): unknown;
}
declare const Deno: DenoApi;

/** Deno says "windows" where Node and Bun say "win32"; the rest (linux, darwin, …) agree. */
function platform(): string {
  return Deno.build.os === "windows" ? "win32" : Deno.build.os;
}

function stream(fd: 0 | 1 | 2): DenoStream {
  return fd === 0 ? Deno.stdin : fd === 1 ? Deno.stdout : Deno.stderr;
}

/**
 * Without $HOME, node's os.homedir() asks the system, which Deno allows only with --allow-sys;
 * without that, "" (so --help and --version still work; the config path must then come from
 * PIPEOPS_CONFIG_PATH).
 */
/** All the bytes, synchronously; false once the reader has gone (a closed pipe). */
function writeAll(out: DenoWriter, bytes: Uint8Array): boolean {
  let rest = bytes;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(out.writeSync(rest));
    } catch (error) {
      // A non-blocking pipe that is momentarily full: try again; anything else (a closed pipe) ends output.
      if (!(error instanceof Deno.errors.WouldBlock)) return false;
    }
  }
  return true;
}

function passwdHome(): string {
  try {
    // Loaded here, not at the top: the Bun binary bundles this module, and node:os costs every start.
    return (process.getBuiltinModule("node:os") as typeof import("node:os")).homedir();
  } catch {
    return "";
  }
}

/** Loopback names added to NO_PROXY (and no_proxy), once, when a proxy variable is set. */
let loopbackBypassed = false;
function bypassProxyForLoopback(): void {
  if (loopbackBypassed) return;
  loopbackBypassed = true;
  const proxied = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"].some((name) => Deno.env.get(name) || Deno.env.get(name.toLowerCase()));
  if (!proxied) return;
  for (const name of ["NO_PROXY", "no_proxy"]) {
    const current = Deno.env.get(name);
    Deno.env.set(name, [current, "localhost", "127.0.0.1", "::1"].filter(Boolean).join(","));
  }
}

/** The environment of a program we start: it (a browser and every page it opens) has no business with our token. */
function childEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.PIPEOPS_AUTH_TOKEN;
  delete env.PIPEOPS_TOKEN;
  return env;
}

export function denoRuntime(): Runtime {
  const env = Deno.env.toObject();
  return {
    name: "deno",
    pid: Deno.pid,
    platform: platform(),
    arch: Deno.build.arch === "aarch64" ? "arm64" : Deno.build.arch === "x86_64" ? "x64" : Deno.build.arch,
    args: Deno.args,
    env: () => Deno.env.toObject(),
    homedir: () => (platform() === "win32" ? env.USERPROFILE : env.HOME) || passwdHome(),
    isTerminal: (fd) => stream(fd).isTerminal(),
    // Deno opens a debugger only for its own --inspect flags, which the command line above never has.
    debuggerVariable: () => undefined,
    write(fd, text) {
      writeAll(fd === 1 ? Deno.stdout : Deno.stderr, new TextEncoder().encode(text));
    },
    writeBytes: async (_fd, bytes) => writeAll(Deno.stdout, bytes),
    stdin: () => Deno.stdin.readable,
    serve(options: ServeOptions): LocalServer {
      const server = Deno.serve({
        hostname: options.hostname,
        port: options.port,
        // Without onListen, Deno prints "Listening on …" to stdout.
        onListen: () => {},
        // Deno's default logs the error to stderr; the handler's own errors are its business.
        onError: () => new Response("Internal Server Error", { status: 500 }),
        handler: options.fetch,
      });
      return {
        port: server.addr.port,
        // Graceful, like Bun's stop(false): in-flight responses are finished first.
        stop: () => server.shutdown(),
      };
    },
    runOnTerminal([program, ...args]) {
      try {
        const command = new Deno.Command(program!, { args, env: childEnv(), clearEnv: true, stdin: "inherit", stdout: "null", stderr: "null" });
        return command.outputSync().success;
      } catch {
        return false;
      }
    },
    async capture([program, ...args], { timeoutMs, maxBytes }) {
      if (program === undefined) return { code: -1, stdout: new Uint8Array() };
      try {
        const output = await new Deno.Command(program, {
          args,
          env: childEnv(),
          clearEnv: true,
          stdin: "null",
          stdout: "piped",
          stderr: "null",
          signal: AbortSignal.timeout(timeoutMs),
        }).output();
        return { code: output.code, stdout: output.stdout.subarray(0, maxBytes) };
      } catch {
        return { code: -1, stdout: new Uint8Array() };
      }
    },
    startDetached([program, ...args]) {
      if (program === undefined) return false;
      try {
        new Deno.Command(program, { args, env: childEnv(), clearEnv: true, stdin: "null", stdout: "null", stderr: "null", detached: true }).spawn().unref();
        return true;
      } catch {
        return false;
      }
    },
    executablePath: () => Deno.execPath(),
    async launch(argv, graceMs) {
      const [program, ...args] = argv;
      if (program === undefined) return false;
      let child: { unref(): void; readonly status: Promise<{ readonly success: boolean }> };
      try {
        child = new Deno.Command(program, { args, env: childEnv(), clearEnv: true, stdin: "null", stdout: "null", stderr: "null", detached: true }).spawn();
      } catch {
        return false;
      }
      child.unref();
      let timer: number | undefined;
      const grace = new Promise<"running">((resolve) => {
        timer = setTimeout(() => resolve("running"), graceMs) as unknown as number;
        Deno.unrefTimer(timer);
      });
      const outcome = await Promise.race([child.status, grace]);
      clearTimeout(timer);
      return outcome === "running" || outcome.success;
    },
    connectOptions({ proxy, extraCa }) {
      // Every Deno client follows the proxy variables itself and none can be told to connect
      // directly, so loopback joins NO_PROXY before the first request; src/server/network.ts reads the
      // variables the same way for other hosts. Deno adds caCerts to its built-in certificates.
      bypassProxyForLoopback();
      if (!proxy && extraCa.length === 0) return {};
      return { client: Deno.createHttpClient({ ...(proxy ? { proxy: { url: proxy.href } } : {}), caCerts: [...extraCa] }) } as RequestInit;
    },
    terminalSize() {
      try {
        return Deno.consoleSize();
      } catch {
        return undefined;
      }
    },
    // Deno has no cheaper probe than the read itself: the store finds out.
    isMissing: () => false,
    // Unknown: the update notice reads its record instead.
    modifiedTime: () => undefined,
    readTextFileSync(path) {
      try {
        return (process.getBuiltinModule("node:fs") as typeof import("node:fs")).readFileSync(path, "utf8").slice(0, 4096);
      } catch {
        return undefined;
      }
    },
    onSignal(signal: Signal, handler) {
      try {
        Deno.addSignalListener(signal, handler);
      } catch {
        // Windows has SIGINT but no SIGTERM listener; a signal we cannot hear needs no cleanup.
        return () => {};
      }
      return () => Deno.removeSignalListener(signal, handler);
    },
    raise: (signal) => Deno.kill(Deno.pid, signal),
    // Deno has no OS keyring API: --keyring fails closed there, saying so.
    keyring: () => undefined,
    processAlive(pid) {
      try {
        Deno.kill(pid, 0);
        return true;
      } catch (error) {
        // Only ESRCH means gone; EPERM (someone else's process) or a missing --allow-run say nothing,
        // and the lock's age limit still applies.
        return !(error instanceof Deno.errors.NotFound);
      }
    },
    exit: (code) => Deno.exit(code),
  };
}
