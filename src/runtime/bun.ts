import { withColorFlag } from "./colour-probe.ts";
import type { LocalServer, Runtime, ServeOptions, Signal } from "./types.ts";

/**
 * A Node built-in, loaded on first use. Not require(): the bundler turns it into
 * import.meta.require, which every start would then build.
 */
function builtin<T>(name: string): T {
  return process.getBuiltinModule(name) as T;
}

/**
 * Whether fd 0, 1 or 2 is a terminal, without node:tty on the way: importing it (or reading
 * process.stdout.isTTY) builds Bun's Node stream classes, about 13 ms at a terminal. First isatty
 * through Bun's tty binding, the one node:tty wraps (costs nothing measurable); where a Bun has
 * none, on Linux where the fd points (/proc/self/fd/N: /dev/pts/N or /dev/ttyN is a terminal,
 * /dev/null a character device that is not); only elsewhere node:tty.
 */
function isTerminal(fd: number): boolean {
  const binding = (process as unknown as { binding?(name: string): { isTTY?(fd: number): boolean } }).binding?.("tty_wrap");
  if (typeof binding?.isTTY === "function") return binding.isTTY(fd);
  if (process.platform === "linux") return isTerminalDevice(fdTarget(fd));
  return builtin<typeof import("node:tty")>("node:tty").isatty(fd);
}

function fdTarget(fd: number): string | undefined {
  try {
    return builtin<typeof import("node:fs")>("node:fs").readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** A Linux terminal device's path: a pseudo-terminal, a virtual console, a serial line, or the controlling terminal. */
export function isTerminalDevice(path: string | undefined): boolean {
  return path !== undefined && /^\/dev\/(pts\/\d+|tty(\d+|S\d+|USB\d+)?|console)$/.test(path);
}

/**
 * Bytes to fd 1 or 2 as they are, through node:fs, loaded on first use: all of stderr, and stdout
 * text without a final newline (a prompt, a spinner frame), which console.log would end with one.
 * Both this and console.log write synchronously, so output keeps its order.
 */
function writeBytesSync(fd: 1 | 2, bytes: Uint8Array): boolean {
  const { writeSync } = builtin<typeof import("node:fs")>("node:fs");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      // A non-blocking pipe that is momentarily full: try again shortly; anything else (EPIPE) ends output.
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return false;
      Bun.sleepSync(1);
    }
  }
  return true;
}

/**
 * os.homedir() without loading node:os (a cost at every `auth` command) in the usual case: on
 * POSIX, Bun's answer is a non-empty $HOME as it is, else the passwd entry; Windows asks node:os.
 */
function homedir(): string {
  const home = process.env.HOME;
  if (process.platform !== "win32" && home) return home;
  return builtin<typeof import("node:os")>("node:os").homedir();
}

/** The environment of a program we start: it (a browser and every page it opens) has no business with our token. */
/** See Runtime.startDetached. */
function startDetached(argv: readonly string[], env: Record<string, string | undefined>): boolean {
  try {
    Bun.spawn([...argv], { env, stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true }).unref();
    return true;
  } catch {
    return false;
  }
}

function childEnv(): Record<string, string | undefined> {
  const { PIPEOPS_AUTH_TOKEN: _ours, PIPEOPS_TOKEN: _goCli, ...env } = process.env;
  return env;
}

export const bunRuntime: Runtime = {
  name: "bun",
  pid: process.pid,
  platform: process.platform,
  arch: process.arch,
  args: process.argv.slice(2),
  env: () => process.env,
  homedir,
  isTerminal,
  debuggerVariable(env) {
    if (env.BUN_INSPECT?.trim()) return "BUN_INSPECT";
    if (env.BUN_INSPECT_CONNECT_TO?.trim()) return "BUN_INSPECT_CONNECT_TO";
    const options = env.BUN_OPTIONS;
    return options && /(^|\s)--inspect/.test(options) ? "BUN_OPTIONS" : undefined;
  },
  write(fd, text) {
    // Bun's console.log writes a line to fd 1 synchronously (a single string argument is printed
    // as it is, never formatted) without loading node:fs or building Node's stdout stream, which
    // would cost every start more than a one-line program. Not console.error: on a terminal Bun
    // paints everything it writes red.
    if (fd === 1 && text.endsWith("\n")) {
      console.log(text.slice(0, -1));
      return;
    }
    writeBytesSync(fd, new TextEncoder().encode(text));
  },
  // Bun's own writer: node:fs would cost a small response's whole download time to load.
  writeBytes: (_fd, bytes) =>
    Bun.write(Bun.stdout, bytes).then(
      () => true,
      () => false,
    ),
  stdin: () => Bun.stdin.stream(),
  runOnTerminal(argv) {
    try {
      return Bun.spawnSync([...argv], { env: childEnv(), stdin: "inherit", stdout: "ignore", stderr: "ignore" }).success;
    } catch {
      return false;
    }
  },
  serve(options: ServeOptions): LocalServer {
    const server = Bun.serve({
      hostname: options.hostname,
      port: options.port,
      fetch: options.fetch,
      development: false,
      // Bun shares a port with another process unless told not to: a callback port must be ours alone.
      reusePort: false,
    });
    return {
      port: server.port ?? 0,
      stop: () => server.stop(false),
    };
  },
  // Only `pipeops update` runs programs this way: loaded then.
  capture: async (argv, options) => (await import("./bun-process.ts")).capture(argv, options, childEnv()),
  startDetached: (argv) => startDetached(argv, childEnv()),
  executablePath: () => process.execPath,
  async launch(argv, graceMs) {
    let child: ReturnType<typeof Bun.spawn>;
    try {
      child = Bun.spawn([...argv], { env: childEnv(), stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    } catch {
      return false;
    }
    child.unref();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"running">((resolve) => {
      timer = setTimeout(() => resolve("running"), graceMs);
      (timer as { unref?: () => void }).unref?.();
    });
    const outcome = await Promise.race([child.exited, grace]);
    clearTimeout(timer);
    return outcome === "running" || outcome === 0;
  },
  isMissing(path) {
    // Kept because npm run bench says so: the asynchronous reads that tell these cases apart double
    // the start-up of `auth status`. A file with something in it (or a folder, a pipe: not 0) is
    // told by one stat, with nothing opened; where that says 0 (missing, empty, or a stat that
    // failed), Bun.mmap, synchronous, fails with the errno. Bun.file().exists() is false for a
    // folder or a link loop too.
    if (Bun.file(path).size !== 0) return false;
    try {
      Bun.mmap(path);
      return false;
    } catch (error) {
      return (error as { code?: unknown } | null)?.code === "ENOENT";
    }
  },
  modifiedTime(path) {
    // Bun.file().lastModified is one stat; for a file it cannot stat it says 2^52 - 1.
    const time = Bun.file(path).lastModified;
    return time > 0 && time < 2 ** 52 - 1 ? time : undefined;
  },
  connectOptions({ proxy, extraCa }) {
    // `proxy: false` connects directly even when HTTPS_PROXY is set; `tls.ca` replaces the trusted
    // certificates, so the built-in ones come first. Certificates are checked whatever
    // NODE_TLS_REJECT_UNAUTHORIZED says, and the request is not logged whatever
    // BUN_CONFIG_VERBOSE_FETCH says (its log shows bearer and refresh tokens): both only by being explicit.
    const ca = extraCa.length > 0 ? { ca: [...builtin<typeof import("node:tls")>("node:tls").rootCertificates, ...extraCa] } : {};
    return { proxy: proxy ? proxy.href : false, tls: { rejectUnauthorized: true, ...ca }, verbose: false } as unknown as RequestInit;
  },
  // picocolors is CommonJS: the bundler keeps its code in a start chunk, wrapped in a function
  // that runs at the first call. Requiring a module of our own instead (an import.meta.require of
  // a file of its own) cost `auth status` and `api` at a terminal 1.5-2% (fresh copies side by side).
  colorsNow: () => withColorFlag(() => (require("picocolors") as typeof import("picocolors")).createColors(true)),
  keyring() {
    // Bun.secrets: Keychain Services, libsecret (Secret Service over D-Bus), Credential Manager.
    const secrets = (Bun as { secrets?: typeof Bun.secrets }).secrets;
    if (!secrets) return undefined;
    return {
      get: (service, name) => secrets.get({ service, name }),
      set: (service, name, value) => secrets.set({ service, name, value }),
      delete: (service, name) => secrets.delete({ service, name }),
    };
  },
  terminalSize() {
    // Only for a QR code: reading it makes Bun build its Node stderr stream.
    const { columns, rows } = process.stderr;
    return columns && rows ? { columns, rows } : undefined;
  },
  readTextFileSync(path) {
    // Bun.mmap, as isMissing: node:fs costs a command at a terminal (the update record) its first use. Files
    // it cannot map (those of /proc report no size) and a missing file (ENOENT: nothing more to try) aside.
    try {
      return new TextDecoder().decode(Bun.mmap(path).subarray(0, 4096));
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === "ENOENT") return undefined;
    }
    try {
      return builtin<typeof import("node:fs")>("node:fs").readFileSync(path, "utf8").slice(0, 4096);
    } catch {
      return undefined;
    }
  },
  onSignal(signal: Signal, handler) {
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
  raise: (signal) => void process.kill(process.pid, signal),
  processAlive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM";
    }
  },
  exit: (code) => process.exit(code),
};
