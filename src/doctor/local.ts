/**
 * `auth doctor`'s checks of this machine for a login: can a browser be opened here (BROWSER, the
 * desktop's opener, a display, WSL), is this an SSH session, can the callback ports be bound, and
 * is there a terminal for the paste prompt.
 */
import type { Context } from "../context.ts";
import { PORTS_TAKEN_HINT, portsTakenLine } from "../errors.ts";
import { browserCommands } from "../io/browser.ts";
import { LOCALHOST_PORTS } from "../login/loopback.ts";
import { findOnPath } from "../runtime/fs.ts";
import { type Check, ok, warn } from "./check.ts";

const NO_BROWSER_HINT = "Log in with 'pipeops auth login --no-browser' and open the URL on any device";

export async function browserCheck(ctx: Context): Promise<Check> {
  const name = "browser";
  const ssh = Boolean(ctx.env.SSH_CONNECTION || ctx.env.SSH_TTY || ctx.env.SSH_CLIENT);
  if (ssh) return warn(name, "this is an SSH session: a browser here would open on the remote machine, if at all", NO_BROWSER_HINT);
  const wsl = ctx.isWsl();
  const commands = browserCommands(ctx.env, ctx.platform, wsl, "%s");
  const found: string[] = [];
  for (const [program] of commands) {
    if (!program) continue;
    const path = program.includes("/") ? program : await findOnPath(program, ctx.env.PATH);
    if (path) found.push(program);
  }
  const opener = ctx.env.BROWSER?.trim() ? "BROWSER" : wsl ? "WSL (wslview, else explorer.exe)" : ctx.platform === "linux" ? "xdg-open" : "the system's opener";
  if (found.length === 0)
    return warn(name, `no browser opener found (${opener}: ${commands.map(([program]) => program).join(", ")} not on PATH)`, NO_BROWSER_HINT);
  const display = ctx.env.DISPLAY || ctx.env.WAYLAND_DISPLAY;
  if (ctx.platform === "linux" && !wsl && !ctx.env.BROWSER?.trim() && !display) {
    return warn(name, `${found[0]} is there, but no display (DISPLAY, WAYLAND_DISPLAY) for it to open a window on`, NO_BROWSER_HINT);
  }
  return ok(name, `${found[0]} opens it (${opener}${wsl ? ", under WSL" : ""})`);
}

/** The ports the PipeOps sign-in may call back on: each bound for a moment and let go. */
export async function portsCheck(ctx: Context): Promise<Check> {
  const name = "callback ports";
  const wanted = LOCALHOST_PORTS.filter((port) => port !== 0);
  const free: number[] = [];
  for (const port of wanted) {
    try {
      const server = ctx.serve({ hostname: "127.0.0.1", port, fetch: () => new Response(null, { status: 404 }) });
      free.push(port);
      await server.stop();
    } catch {
      // Taken, or not ours to bind.
    }
  }
  const list = (ports: readonly number[]) => `localhost:${ports.join(", ")}`;
  if (free.length === wanted.length) return ok(name, `${list(wanted)} free for the sign-in to call back`);
  if (free.length > 0) return ok(name, `${list(free)} free (${list(wanted.filter((port) => !free.includes(port)))} taken): the first free one is used`);
  return warn(name, portsTakenLine(), PORTS_TAKEN_HINT);
}

export function terminalCheck(ctx: Context): Check {
  if (ctx.stdin.isTTY) return ok("terminal", "standard input is a terminal: the paste prompt and --with-token's hidden prompt work");
  return warn(
    "terminal",
    "standard input is not a terminal: no prompt can be answered here",
    "Pipe a token in instead: pipeops auth login --with-token < token.txt",
  );
}
