/**
 * Where users really run pipeops, the binary fails early and says what to do: CI and no terminal,
 * a refresh with nowhere to keep its result, a server that is down or silent, a typo in a method,
 * a narrow terminal, a plain bash, the official callback ports all taken, and the small things a
 * new user types. Each against the real local servers. (Read-only homes: filesystem.test.ts.)
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { BINARY, ROOT, runBinary, runProgram } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";
import { approveDevice, loginWithAuthorizationCode } from "../helpers/flows.ts";
import { spawnInTerminal, tempHome } from "../helpers/interactive.ts";

setDefaultTimeout(60_000);

const dev: DevServer = await startDevServer({ port: 0 });
const pipeops: PipeOpsServer = await startPipeOpsServer();
afterAll(async () => {
  await dev.close();
  await pipeops.close();
});

const servers = [
  ["the standards server", { PIPEOPS_API_URL: dev.url }],
  ["the PipeOps-shaped server", { PIPEOPS_API_URL: pipeops.url, PIPEOPS_DASHBOARD_URL: pipeops.consoleUrl }],
] as const;

const UNATTENDED_HINT = "In CI, set PIPEOPS_AUTH_TOKEN (or PIPEOPS_TOKEN), or pipe a token in: pipeops auth login --with-token < token.txt";

describe("CI, or no terminal: a sign-in nobody can finish is not started", () => {
  for (const [name, serverEnv] of servers) {
    test(`${name}: a bare login ends at once, exit 1, and says what to do instead; nothing is asked of the server`, async () => {
      const { env, configPath } = tempHome();
      const requests = pipeops.requests.length;
      const codes = dev.stats.deviceCodeGrants;
      for (const [why, extra] of [
        ["CI is set", { CI: "true" }],
        ["there is no terminal and no browser to open", {}],
      ] as const) {
        const started = Date.now();
        // stdin at its end, as CI gives it.
        const result = await runBinary(["auth", "login"], { env: { ...env, ...serverEnv, ...extra }, stdin: "" });
        expect(result).toEqual({ code: 1, stdout: "", stderr: `Error: cannot sign in here: ${why}, so nobody can complete a sign-in\n${UNATTENDED_HINT}\n` });
        expect(Date.now() - started).toBeLessThan(5_000);
      }
      expect(pipeops.requests.length).toBe(requests);
      expect(dev.stats.deviceCodeGrants).toBe(codes);
      expect(existsSync(configPath)).toBe(false);
    });
  }

  test("an explicit --no-browser in CI goes ahead (a code may be approved on a phone): no paste prompt on a stdin at its end, and the time-out names the CI ways", async () => {
    const { env } = tempHome();
    const result = await runBinary(["auth", "login", "--no-browser", "--timeout", "1"], { env: { ...env, ...servers[1][1], CI: "true" }, stdin: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Please open this URL in your browser to authenticate:\nhttp:\/\/\S+\n\nWaiting for authentication\.\.\.\n/);
    expect(result.stderr).not.toContain("paste");
    expect(result.stderr).toEndWith(`Error: authentication timed out\n${UNATTENDED_HINT}\n`);
  });

  test("at a terminal the paste prompt is there, and a time-out says to try again", async () => {
    const { env } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--no-browser", "--timeout", "1"], { ...env, ...servers[1][1], NO_COLOR: "1" });
    try {
      expect(await cli.exited).toBe(1);
      expect(cli.screen()).toContain("paste it here and press Enter:\r\n");
      expect(cli.screen()).toEndWith("Error: authentication timed out\r\nRun 'pipeops auth login' to try again\r\n");
    } finally {
      cli.close();
    }
  });
});

describe("a refresh with nowhere to keep its result", () => {
  test("PIPEOPS_CREDENTIAL_STORE=keyring on a machine with no keyring: the renewed tokens stay where the session was (the file); oidc-provider sees no spent token again", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const { env, configPath } = tempHome();
    writeFileSync(
      configPath,
      JSON.stringify({ auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: "2020-01-01T00:00:00Z", api_url: dev.url }),
      { mode: 0o600 },
    );
    const grants = dev.stats.refreshGrants;
    // No D-Bus session here: Bun.secrets cannot reach a Secret Service.
    const noKeyring = { ...env, PIPEOPS_CREDENTIAL_STORE: "keyring" };
    const first = await runBinary(["auth", "token"], { env: noKeyring });
    expect(first.code).toBe(0);
    const stored = JSON.parse(readFileSync(configPath, "utf8"));
    expect(first.stdout).toBe(`${stored.auth_token}\n`);
    expect(stored.refresh_token).not.toBe(tokens.refresh_token);
    expect(stored).not.toHaveProperty("credential_store");
    // The next command, with the session about to end again, renews with the stored (unspent) token.
    writeFileSync(configPath, JSON.stringify({ ...stored, expires_at: "2020-01-01T00:00:00Z" }), { mode: 0o600 });
    const second = await runBinary(["auth", "status"], { env: noKeyring });
    expect(second.code).toBe(0);
    expect(dev.stats.refreshGrants).toBe(grants + 2);
    expect(dev.stats.refreshReuseDetected).toBe(0);
  });
});

describe("a server that is down or silent", () => {
  test("refused: the error and a line saying what to check, the variable that named the server among it", async () => {
    const { env } = tempHome();
    const result = await runBinary(["auth", "login", "--with-token"], { env: { ...env, PIPEOPS_API_URL: "http://127.0.0.1:9" }, stdin: "pat_abc\n" });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "Error: could not reach http://127.0.0.1:9: connection refused\n" +
        "Check that http://127.0.0.1:9 (from PIPEOPS_API_URL) is the right server and reachable from here; PIPEOPS_HTTP_TIMEOUT waits longer (now 30 s); 'pipeops auth doctor' checks the connection\n",
    });
  });

  test("silent, at a terminal: a line that says what it waits for after a second, cleared when the wait ends; doctor's server line has its fix", async () => {
    const hang = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const { env } = tempHome();
      const server = `127.0.0.1:${hang.port}`;
      const cli = spawnInTerminal(["auth", "status"], {
        ...env,
        PIPEOPS_AUTH_TOKEN: "pat_abc",
        PIPEOPS_API_URL: `http://${server}`,
        PIPEOPS_HTTP_TIMEOUT: "3",
      });
      try {
        await cli.waitForScreen(new RegExp(`Waiting for ${server.replaceAll(".", "\\.")} \\(1 s\\)`));
        expect(await cli.exited).toBe(1);
        // The waiting line is cleared before the error, which starts on a clean line.
        expect(cli.screen()).toMatch(/\r\x1b\[2K\x1b\[31mError:|\r\x1b\[2KError:/);
        expect(cli.screen()).toContain(`did not respond within 3 s`);
      } finally {
        cli.close();
      }
      // On a pipe: not a byte of it.
      const piped = await runBinary(["auth", "status"], {
        env: { ...env, PIPEOPS_AUTH_TOKEN: "pat_abc", PIPEOPS_API_URL: `http://${server}`, PIPEOPS_HTTP_TIMEOUT: "2" },
      });
      expect(piped.stderr).not.toContain("Waiting");
      const doctor = await runBinary(["auth", "doctor", "--json"], { env: { ...env, PIPEOPS_API_URL: `http://${server}`, PIPEOPS_HTTP_TIMEOUT: "1" } });
      const checks = JSON.parse(doctor.stdout).checks as { name: string; status: string; hint: string | null }[];
      expect(checks.find((check) => check.name === "server")).toMatchObject({
        status: "fail",
        hint: expect.stringContaining("PIPEOPS_HTTP_TIMEOUT waits longer"),
      });
      expect(checks.find((check) => check.name === "clock")).toMatchObject({
        status: "warn",
        hint: "Mend the server line above, then run 'pipeops auth doctor' again",
      });
    } finally {
      hang.stop(true);
    }
  });
});

describe("pipeops api -X: the method goes out as typed, or nothing goes out", () => {
  test("a near miss of DELETE is a usage error that names it; the server sees no request", async () => {
    const token = pipeops.issueServiceToken();
    const env = { HOME: tempDir(), PIPEOPS_TOKEN: token, PIPEOPS_API_URL: pipeops.url };
    const before = pipeops.requests.length;
    const typo = await runBinary(["api", "-X", "DELTE", "project/123"], { env });
    expect(typo).toEqual({ code: 2, stdout: "", stderr: "Error: unknown HTTP method 'DELTE': did you mean DELETE?\nRun 'pipeops api -X DELETE …'\n" });
    const unknown = await runBinary(["api", "-X", "FROB", "-f", "a=1", "project/123"], { env });
    expect(unknown).toEqual({ code: 2, stdout: "", stderr: "Error: unknown HTTP method 'FROB'\nUse GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS\n" });
    expect(pipeops.requests.slice(before)).toEqual([]);
    // Lower case is the same method: it goes out as DELETE, which the server logs as it received it.
    const deleted = await runBinary(["api", "-X", "delete", "project/123"], { env });
    expect(deleted.code).toBe(1);
    expect(pipeops.requests.slice(before)).toEqual(["DELETE /project/123"]);
  });
});

describe("a terminal 40 columns wide", () => {
  /** What each redraw of the in-place line shows, escapes removed: the text between one \r\x1b[2K and the next. */
  function redrawn(screen: string): string[] {
    return screen
      .split("\r\x1b[2K")
      .slice(1)
      .map((frame) => frame.split("\r\n")[0]!.replace(/\x1b\[[0-9;]*m/g, ""))
      .filter((frame) => frame !== "");
  }

  test("the waiting line fits (the countdown shortened first), and again after the terminal is narrowed", async () => {
    const { env } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--no-browser"], { ...env, PIPEOPS_API_URL: dev.url }, undefined, { columns: 40, rows: 24 });
    try {
      // "(4:59 left)" would not fit: "(4:59)" does, in 39 columns (a line that fills the last one wraps).
      await cli.waitForScreen(/Waiting for authentication\.\.\. (\x1b\[2m)?\(\d:\d\d\)/);
      const wide = redrawn(cli.screen());
      for (const frame of wide) expect(frame).toMatch(/^. Waiting for authentication\.\.\. \(\d:\d\d\)$/);
      for (const frame of wide) expect([...frame].length).toBeLessThanOrEqual(39);
      const seen = cli.screen().length;
      cli.resize(30, 24);
      cli.signal("SIGWINCH");
      await cli.waitForScreen(/ Waiting\.\.\. (\x1b\[2m)?\(\d:\d\d\)/);
      const narrow = redrawn(cli.screen().slice(seen)).filter((frame) => !frame.includes("authentication"));
      for (const frame of narrow) expect(frame).toMatch(/^. Waiting\.\.\. \(\d:\d\d\)$/);
      const url = /(http:\/\/\S+\/device\?user_code=[A-Z-]+)/.exec(cli.screen())![1]!;
      await approveDevice(url);
      expect(await cli.exited).toBe(0);
    } finally {
      cli.close();
    }
  });

  test("--qr that does not fit says so, with the size it needs", async () => {
    const { env } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--no-browser", "--qr"], { ...env, PIPEOPS_API_URL: dev.url }, undefined, { columns: 30, rows: 20 });
    try {
      await cli.waitForScreen(/The QR code needs a terminal \d+ columns wide and \d+ rows tall \(this one is 30 x 20\); open the URL above instead/);
      cli.interrupt();
      expect(await cli.exited).toBe(130);
    } finally {
      cli.close();
    }
  });
});

describe("bash completion without the bash-completion package", () => {
  test("bash --norc completes commands and flags from the shell's own words, and prints no error", async () => {
    const bin = tempDir();
    mkdirSync(join(bin, "bin"));
    // The script calls `pipeops` by name, as an installed one is found.
    writeFileSync(join(bin, "bin", "pipeops"), `#!/bin/sh\nexec '${BINARY}' "$@"\n`, { mode: 0o755 });
    const script = [
      "declare -F _get_comp_words_by_ref >/dev/null && echo 'bash-completion is loaded: this test proves nothing' >&2",
      "source <(pipeops completion bash)",
      'complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); __pipeops_complete 2>/dev/null; printf \'%s\\n\' "${COMPREPLY[@]}"; echo --; }',
      "complete_words pipeops auth lo",
      "complete_words pipeops auth login --no",
      "complete_words pipeops comp",
    ].join("\n");
    const result = await runProgram(["bash", "--norc", "--noprofile", "-c", script], { env: { PATH: `${join(bin, "bin")}:${process.env.PATH}` }, cwd: ROOT });
    expect(result).toEqual({ code: 0, stdout: "login\nlogout\n--\n--no-browser\n--\ncompletion\n--\n", stderr: "" });
  });
});

describe("small things a new user types", () => {
  test("a command's flag before the command says where it goes", async () => {
    expect(await runBinary(["--json", "auth", "status"])).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "Error: unknown option '--json'\nA command's flags go after it, e.g. 'pipeops auth status --json'; only --config, --quiet and --verbose go anywhere\n",
    });
  });

  test("--version takes nothing after it", async () => {
    expect(await runBinary(["--version", "extra"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "Error: 'pipeops --version' takes no arguments\nRun 'pipeops --version'\n",
    });
  });

  test("an empty --token is a usage error, before any request", async () => {
    const before = pipeops.requests.length;
    const result = await runBinary(["auth", "login", "--token", ""], { env: { HOME: tempDir(), ...servers[1][1] } });
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: "Error: --token needs a token, got an empty value\nPipe the token in instead: pipeops auth login --with-token < token.txt\n",
    });
    expect(pipeops.requests.length).toBe(before);
  });

  test("--config naming a folder: the hint names --config, which the user typed", async () => {
    const dir = tempDir();
    expect(await runBinary(["auth", "status", "--config", dir])).toEqual({
      code: 1,
      stdout: "",
      stderr: `Error: config file ${dir} is a folder, not a file\nGive --config a file, e.g. ${dir}/.pipeops.json\n`,
    });
  });

  test("a credential file cut short: where it ends, and how to move it aside; the file is left as it was", async () => {
    const { env, configPath } = tempHome();
    const text = '{\n  "auth_token": "abc",\n  "api_url": "htt';
    writeFileSync(configPath, text, { mode: 0o600 });
    expect(await runBinary(["auth", "status"], { env })).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `Error: config file ${configPath} is not valid: invalid JSON: unexpected end of file at line 3, column 18\n` +
        `Fix it by hand, or move it aside (mv '${configPath}' '${configPath}.broken') and run 'pipeops auth login'\n`,
    });
    expect(await runBinary(["auth", "login", "--with-token"], { env: { ...env, PIPEOPS_API_URL: dev.url }, stdin: "pat_x\n" })).toMatchObject({ code: 1 });
    expect(readFileSync(configPath, "utf8")).toBe(text);
  });
});

describe("pipeops api --help's first example", () => {
  test("works against both local servers", async () => {
    const example = (await runBinary(["api", "--help"])).stdout.match(/pipeops api (\S+)\n/)?.[1];
    expect(example).toBe("oauth/userinfo");
    const standards = await loginWithAuthorizationCode(dev);
    for (const [token, serverEnv] of [
      [standards.access_token, servers[0][1]],
      [pipeops.issueServiceToken(), servers[1][1]],
    ] as const) {
      const result = await runBinary(["api", example!], { env: { HOME: tempDir(), PIPEOPS_AUTH_TOKEN: token, ...serverEnv } });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("user@example.com");
    }
  });
});
