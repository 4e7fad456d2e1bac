/**
 * `pipeops completion bash|zsh|fish|powershell`, sourced in the real shells, asked what completing
 * a partial line offers: bash through its completion function (as Tab calls it), zsh with its
 * completion builtins stubbed to print what they are given, fish with `complete -C`. The scripts
 * call the binary back (`pipeops complete -- <words>`), found on PATH as a user's would be.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { BINARY, runBinary, runProgram } from "../helpers/binary.ts";
import { describeNeeding } from "../helpers/requirements.ts";

setDefaultTimeout(30_000);

/** dist/ (holding `pipeops`) first on PATH. */
const PATH = `${dirname(BINARY)}:/usr/bin:/bin`;
const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";

async function bashCompletes(line: string): Promise<string[]> {
  const words = line.split(" ");
  const script = [
    `source ${BASH_COMPLETION}`,
    "source <(pipeops completion bash)",
    // Called directly, not from a Tab press: compopt has no completion to adjust.
    "compopt() { :; }",
    `COMP_WORDS=(${words.map((word) => `'${word}'`).join(" ")})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE='${line}'`,
    "COMP_POINT=${#COMP_LINE}",
    "__pipeops_complete",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const result = await runProgram(["bash", "--norc", "-c", script], { env: { PATH, HOME: "/tmp" } });
  expect(result.stderr).toBe("");
  return result.stdout.split("\n").filter(Boolean).sort();
}

async function zshCompletes(line: string): Promise<string[]> {
  const words = line.split(" ");
  // The completion system's builtins, stubbed to print what the script hands them.
  const script = [
    "compdef() { :; }",
    '_describe() { print -rl -- "${completions[@]%%:*}"; }',
    'compadd() { print -rl -- "${@[-1]}"; }',
    "source <(pipeops completion zsh)",
    `words=(${words.map((word) => `'${word}'`).join(" ")})`,
    `CURRENT=${words.length}`,
    "_pipeops",
  ].join("\n");
  const result = await runProgram(["zsh", "-f", "-c", script], { env: { PATH, HOME: "/tmp" } });
  expect(result.stderr).toBe("");
  return result.stdout.split("\n").filter(Boolean).sort();
}

async function fishCompletes(line: string): Promise<string[]> {
  const result = await runProgram(["fish", "--no-config", "-c", `pipeops completion fish | source; complete -C '${line}'`], { env: { PATH, HOME: "/tmp" } });
  expect(result.stderr).toBe("");
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((entry) => entry.split("\t")[0]!)
    .sort();
}

const SHELLS = [
  ["bash", bashCompletes, existsSync(BASH_COMPLETION)],
  ["zsh", zshCompletes, existsSync("/usr/bin/zsh")],
  ["fish", fishCompletes, existsSync("/usr/bin/fish")],
] as const;

const inCI = Boolean(process.env.CI) && process.env.CI !== "false";

for (const [shell, completes, installed] of SHELLS) {
  // In CI a missing shell must fail (scripts/system-deps.sh installs them); locally it is skipped.
  const describeShell = describeNeeding(installed || inCI, `completions in ${shell}`, `${shell} is not installed (apt-get install ${shell})`);
  describeShell(`completions in ${shell}`, () => {
    test("commands: the top level, then auth's, from a prefix", async () => {
      // api, auth, completion, update, and the official CLI's names (never `token`: that is `auth token`).
      expect(await completes("pipeops ")).toEqual(["api", "auth", "completion", "login", "logout", "me", "status", "update", "userinfo", "whoami"]);
      expect(await completes("pipeops lo")).toEqual(["login", "logout"]);
      expect(await completes("pipeops auth lo")).toEqual(["login", "logout"]);
      expect(await completes("pipeops auth ")).toEqual(["doctor", "login", "logout", "me", "status", "token", "userinfo", "whoami"]);
      expect(await completes("pipeops status --")).toEqual(["--json", "--min-remaining"]);
    });

    test("flags of a command, and a shell for completion", async () => {
      expect(await completes("pipeops auth login --no-")).toEqual(["--no-browser"]);
      expect(await completes("pipeops auth status --")).toEqual(["--json", "--min-remaining"]);
      expect(await completes("pipeops completion ")).toEqual(["bash", "fish", "powershell", "zsh"]);
      expect(await completes("pipeops api --i")).toEqual(["--include", "--input"]);
      expect(await completes("pipeops update ")).toEqual(["check"]);
      expect(await completes("pipeops update --")).toEqual(["--json", "--yes"]);
      expect(await completes("pipeops update check --")).toEqual(["--json"]);
    });
  });
}

describe("pipeops completion", () => {
  test("each shell's script names the binary it calls back; a wrong shell is a usage error", async () => {
    for (const shell of ["bash", "zsh", "fish", "powershell"]) {
      const result = await runBinary(["completion", shell]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/pipeops complete '?--/);
    }
    const wrong = await runBinary(["completion", "tcsh"]);
    expect(wrong).toEqual({
      code: 2,
      stdout: "",
      stderr: "Error: unknown shell 'tcsh': completion supports bash, zsh, fish, powershell\nRun 'pipeops completion --help' for usage\n",
    });
    const help = await runBinary(["completion", "--help"]);
    expect(help.stdout).toContain("Usage:\n  pipeops completion <bash|zsh|fish|powershell>\n");
  });

  test("what the scripts call back: one candidate a line with its description, then the directive", async () => {
    const result = await runBinary(["complete", "--", "auth", "to"]);
    expect(result).toEqual({ code: 0, stdout: "token\tPrint the access token (for scripts: $(pipeops auth token))\n:4\n", stderr: "" });
  });
});
