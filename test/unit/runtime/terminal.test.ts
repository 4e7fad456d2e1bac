/**
 * Is fd N a terminal, answered without node:tty; and picocolors loaded without making Bun build
 * its Node stdout stream. Each check runs in a fresh Bun process whose fd 1 is what the case says:
 * a file, /dev/null (a character device that is no terminal), a pipe, or a pseudo-terminal.
 */
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isTerminalDevice } from "../../../src/runtime/bun.ts";
import { ROOT } from "../../helpers/binary.ts";
import { tempDir } from "../../helpers/context.ts";

/** What `script` prints on stderr: bunRuntime.isTerminal(1), and whether node:tty or process.stdout were touched. */
const PROBE = `
import { bunRuntime } from "${join(ROOT, "src/runtime/bun.ts")}";
let stdoutBuilt = false;
const own = Object.getOwnPropertyDescriptor(process, "stdout");
Object.defineProperty(process, "stdout", { configurable: true, get() { stdoutBuilt = true; return own.get ? own.get.call(process) : own.value; } });
const answer = bunRuntime.isTerminal(1);
// Bun's way (loaded as first painted), or the one that loads ahead (Deno's).
const { colorsFor } = ${"await"} import("${join(ROOT, "src/io/colour.ts")}");
const colors = process.env.PROBE_LOAD === "now" ? bunRuntime.colorsNow() : ${"await"} colorsFor(true);
const painted = colors.red("x") === "\\x1b[31mx\\x1b[39m";
process.stderr.write(JSON.stringify({ answer, stdoutBuilt, argvLeft: process.argv.includes("--color"), painted }) + "\\n");
`;

interface Seen {
  answer: boolean;
  stdoutBuilt: boolean;
  argvLeft: boolean;
  painted: boolean;
}

function probe(stdout: "file" | "devnull" | "pipe" | "pty", load: "now" | "import"): Seen {
  const dir = tempDir();
  const script = join(dir, "probe.ts");
  Bun.write(script, PROBE);
  const errFile = join(dir, "stderr");
  const err = openSync(errFile, "w");
  try {
    if (stdout === "pty") {
      // Every fd on a pseudo-terminal (util-linux `script`); stderr taken to the file by the shell.
      Bun.spawnSync(["script", "-qec", `PROBE_LOAD=${load} ${process.execPath} ${script} 2>${errFile}`, "/dev/null"], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "ignore",
      });
    } else {
      const out = stdout === "file" ? openSync(join(dir, "stdout"), "w") : stdout === "devnull" ? openSync("/dev/null", "w") : "pipe";
      Bun.spawnSync([process.execPath, script], { stdin: "ignore", stdout: out, stderr: err, env: { ...process.env, PROBE_LOAD: load } });
      if (typeof out === "number") closeSync(out);
    }
  } finally {
    closeSync(err);
  }
  return JSON.parse(readFileSync(errFile, "utf8").trim().split("\n").pop()!);
}

describe("is fd 1 a terminal", () => {
  test.each([
    ["a file", "file", false],
    ["/dev/null", "devnull", false],
    ["a pipe", "pipe", false],
    ["a pseudo-terminal", "pty", true],
  ] as const)("%s: %p", (_name, where, terminal) => {
    for (const load of ["now", "import"] as const) {
      const seen = probe(where, load);
      expect(seen.answer).toBe(terminal);
      // picocolors loaded (colours on, as asked), and neither the answer nor the load built Bun's Node stdout stream.
      expect({ load, ...seen }).toEqual({ load, answer: terminal, stdoutBuilt: false, argvLeft: false, painted: true });
    }
  });

  test("where fd 1 points, as Linux names it: terminals, and the devices that are not", () => {
    for (const path of ["/dev/pts/0", "/dev/pts/17", "/dev/tty", "/dev/tty1", "/dev/ttyS0", "/dev/console"]) expect(isTerminalDevice(path)).toBe(true);
    for (const path of ["/dev/null", "/dev/zero", "pipe:[1234]", "socket:[5]", "/tmp/out", "/dev/pts/", "/dev/pts/0/x", undefined]) {
      expect(isTerminalDevice(path)).toBe(false);
    }
  });
});
