/**
 * The opt-in OS keyring, on the compiled binary with a real Secret Service: gnome-keyring-daemon,
 * unlocked, inside its own D-Bus session (dbus-run-session) for each command, its keyring kept in
 * the test's HOME. Also the cases where there is none (no session bus) and where it errors (a bus
 * whose keyring was never unlocked): both fail closed, with nothing written anywhere.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { BINARY, type RunResult, runBinary, runProgram } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";
import { pipeopsLogin } from "../helpers/flows.ts";

let server: PipeOpsServer;

beforeAll(async () => {
  server = await startPipeOpsServer();
});
afterAll(() => server?.close());

/** What the D-Bus daemon and the keyring's prompter say on stderr about themselves, not about us. */
const SESSION_NOISE = /^(dbus-daemon\[|\(gcr-prompter|\*\* Message: .*prompt|GNOME_KEYRING_CONTROL=|\s*$)/;

/**
 * One pipeops command inside a fresh D-Bus session whose keyring (kept in HOME) is unlocked first.
 * The command starts only once the unlocked daemon owns the Secret Service's name: called earlier,
 * D-Bus would start a second daemon, which can find the keyring file half written.
 */
async function withKeyring(args: string[], env: Record<string, string>, stdin?: string, cwd?: string): Promise<RunResult> {
  return inKeyringSession([BINARY, ...args], env, stdin, cwd);
}

/** Any program (pipeops, secret-tool, bun) in such a session, the same keyring unlocked. */
async function inKeyringSession(argv: string[], env: Record<string, string>, stdin?: string, cwd?: string): Promise<RunResult> {
  const owned =
    "dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets";
  const script = [
    'printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1',
    `i=0; until ${owned} 2>/dev/null | grep -q true || [ $i -ge 200 ]; do i=$((i + 1)); sleep 0.01; done`,
    'exec "$@"',
  ].join("\n");
  const result = await runProgram(["dbus-run-session", "--", "sh", "-c", script, "sh", ...argv], {
    env: { ...env, KEYRING_PASSWORD: "test keyring password" },
    stdin,
    cwd,
    timeoutMs: 30_000,
  });
  const stderr = result.stderr
    .split("\n")
    .filter((line) => !SESSION_NOISE.test(line))
    .join("\n");
  // A keyring daemon that D-Bus starts on demand prints where its socket is: its line, not ours.
  return { ...result, stdout: result.stdout.replace(/^GNOME_KEYRING_CONTROL=.*\n/gm, ""), stderr: stderr ? `${stderr}\n` : "" };
}

function home(): { env: Record<string, string>; path: string } {
  const dir = tempDir("pipeops-keyring-");
  return { env: { HOME: dir, PIPEOPS_API_URL: server.url }, path: join(dir, ".pipeops.json") };
}

const fileOf = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

describe("with a Secret Service (gnome-keyring, unlocked)", () => {
  test("login --keyring: the tokens in the keyring, none in the file; token, status, api and doctor read it; logout removes the entry", async () => {
    const { env, path } = home();
    const token = server.issueServiceToken();
    const login = await withKeyring(["auth", "login", "--with-token", "--keyring"], env, `${token}\n`);
    expect(login).toEqual({ code: 0, stdout: `✓ Successfully authenticated as ${server.user.email}\n`, stderr: "" });
    expect(fileOf(path)).toEqual({ credential_store: "keyring", api_url: server.url });
    expect(readFileSync(path, "utf8")).not.toContain(token);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    expect(await withKeyring(["auth", "token"], env)).toEqual({ code: 0, stdout: `${token}\n`, stderr: "" });
    const status = await withKeyring(["auth", "status", "--json"], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ authenticated: true, token_valid: true, credential_store: "keyring" });
    expect(JSON.parse((await withKeyring(["api", "oauth/userinfo"], env)).stdout).data.email).toBe(server.user.email);
    const doctor = JSON.parse((await withKeyring(["auth", "doctor", "--json"], env)).stdout) as { checks: { name: string; status: string; detail: string }[] };
    expect(doctor.checks.find((check) => check.name === "keyring")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^in use/) });

    expect((await withKeyring(["auth", "logout", "-f"], env)).code).toBe(0);
    expect(await withKeyring(["auth", "token"], env)).toMatchObject({
      code: 1,
      stderr: "Error: not authenticated\nRun 'pipeops auth login' to authenticate\n",
    });
    // Logged out means the file no longer says its tokens are in the keyring (--keyring, or the variable, for the next login).
    expect(fileOf(path)).toEqual({});
  });

  test("PIPEOPS_CREDENTIAL_STORE=keyring does not move a file session at a refresh (only a login does): the renewed tokens stay in the file, both tools' keys", async () => {
    const { env, path } = home();
    const tokens = await pipeopsLogin(server);
    writeFileSync(
      path,
      JSON.stringify({
        auth_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: "2020-01-01T00:00:00Z",
        api_url: server.url,
        oauth: { access_token: tokens.access_token, refresh_token: tokens.refresh_token, client_id: "pipeops_public_client" },
        settings: { theme: "dark" },
      }),
      { mode: 0o600 },
    );
    const grants = server.stats.refreshGrants;
    const fresh = await withKeyring(["auth", "token"], { ...env, PIPEOPS_CREDENTIAL_STORE: "keyring" });
    expect(fresh.code).toBe(0);
    expect(server.stats.refreshGrants).toBe(grants + 1);
    const renewed = fresh.stdout.trim();
    expect(renewed).not.toBe(tokens.access_token);
    const file = fileOf(path);
    expect(file).toMatchObject({
      auth_token: renewed,
      api_url: server.url,
      settings: { theme: "dark" },
      oauth: { access_token: renewed, client_id: "pipeops_public_client" },
    });
    expect(file).not.toHaveProperty("credential_store");
    // Read back from the file by the next command, no refresh needed.
    expect((await withKeyring(["auth", "token"], env)).stdout).toBe(fresh.stdout);
    expect(server.stats.refreshGrants).toBe(grants + 1);
  });
});

describe("PIPEOPS_CREDENTIAL_STORE=file at a login: the session moves back to the file", () => {
  test("the tokens in the file, 0600, the keyring entry removed, and the file no longer says keyring", async () => {
    const { env, path } = home();
    const first = server.issueServiceToken();
    expect((await withKeyring(["auth", "login", "--with-token", "--keyring"], env, `${first}\n`)).code).toBe(0);
    const second = server.issueServiceToken();
    const back = await withKeyring(["auth", "login", "--with-token"], { ...env, PIPEOPS_CREDENTIAL_STORE: "file" }, `${second}\n`);
    expect(back.code).toBe(0);
    expect(fileOf(path)).toEqual({ auth_token: second, api_url: server.url });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const left = await inKeyringSession(["secret-tool", "search", "--all", "service", "pipeops"], env);
    expect(left.stderr).not.toContain("attribute.account");
    expect(await withKeyring(["auth", "token"], env)).toEqual({ code: 0, stdout: `${second}\n`, stderr: "" });
  });
});

describe("one keyring entry per real file (as the lock is named), whatever the path is called", () => {
  /** The keyring's own view: what secret-tool finds under pipeops' service, by account (the entry's name). */
  async function entries(env: Record<string, string>): Promise<string[]> {
    const found = await inKeyringSession(["secret-tool", "search", "--all", "service", "pipeops"], env);
    // secret-tool writes the attributes on stderr, the secrets on stdout.
    return [...found.stderr.matchAll(/^attribute\.account = (.*)$/gm)].map((match) => match[1]!);
  }

  test("two projects' .pipeops.json (PIPEOPS_CONFIG_PATH relative, one API): each keeps its own session, in the Secret Service and nowhere in plain text", async () => {
    const root = realpathSync(tempDir("pipeops-projects-"));
    const env = { HOME: root, PIPEOPS_CONFIG_PATH: ".pipeops.json", PIPEOPS_API_URL: server.url };
    const projects = { a: join(root, "a"), b: join(root, "b") };
    const tokens = { a: server.issueServiceToken(), b: server.issueServiceToken() };
    for (const name of ["a", "b"] as const) {
      mkdirSync(projects[name]);
      const login = await withKeyring(["auth", "login", "--with-token", "--keyring"], env, `${tokens[name]}\n`, projects[name]);
      expect(login.code).toBe(0);
    }
    for (const name of ["a", "b"] as const) {
      expect(await withKeyring(["auth", "token"], env, undefined, projects[name])).toEqual({ code: 0, stdout: `${tokens[name]}\n`, stderr: "" });
      const account = `${new URL(server.url).origin} ${projects[name]}/.pipeops.json`;
      const stored = await inKeyringSession(["secret-tool", "lookup", "service", "pipeops", "account", account], env);
      expect(JSON.parse(stored.stdout)).toEqual({ access_token: tokens[name] });
    }
    expect((await entries(env)).sort()).toEqual([
      `${new URL(server.url).origin} ${projects.a}/.pipeops.json`,
      `${new URL(server.url).origin} ${projects.b}/.pipeops.json`,
    ]);
    // Nowhere under HOME in plain text: not in the files, not in the keyring's own (encrypted) file.
    const plain = Bun.spawnSync(["grep", "-rlF", "-e", tokens.a, "-e", tokens.b, root]).stdout.toString();
    expect(plain).toBe("");
  });

  test("one file reached by two names (a symlinked ~/.pipeops.json, and its target): one entry, and logout through either name logs out", async () => {
    const dir = realpathSync(tempDir("pipeops-linked-"));
    mkdirSync(join(dir, "dotfiles"));
    const target = join(dir, "dotfiles", "pipeops.json");
    symlinkSync(target, join(dir, ".pipeops.json"));
    const viaLink = { HOME: dir, PIPEOPS_API_URL: server.url };
    const viaTarget = { ...viaLink, PIPEOPS_CONFIG_PATH: target };
    const token = server.issueServiceToken();
    expect((await withKeyring(["auth", "login", "--with-token", "--keyring"], viaLink, `${token}\n`)).code).toBe(0);
    expect((await withKeyring(["auth", "token"], viaTarget)).stdout).toBe(`${token}\n`);
    expect(await entries(viaLink)).toEqual([`${new URL(server.url).origin} ${target}`]);
    expect(await withKeyring(["auth", "logout", "-f"], viaTarget)).toEqual({ code: 0, stdout: "✓ Successfully logged out\n", stderr: "" });
    for (const env of [viaLink, viaTarget]) expect((await withKeyring(["auth", "token"], env)).code).toBe(1);
    expect(await entries(viaLink)).toEqual([]);
  });

  test("an entry under the name an older pipeops gave it (the path as typed) is found once and moved", async () => {
    const dir = realpathSync(tempDir("pipeops-legacy-"));
    mkdirSync(join(dir, "project"));
    const env = { HOME: dir, PIPEOPS_CONFIG_PATH: "project/../project/.pipeops.json", PIPEOPS_API_URL: server.url };
    const token = server.issueServiceToken();
    const origin = new URL(server.url).origin;
    writeFileSync(join(dir, "project", ".pipeops.json"), JSON.stringify({ credential_store: "keyring", api_url: server.url }), { mode: 0o600 });
    // As the earlier release wrote it: named after PIPEOPS_CONFIG_PATH as given.
    const plant = `await Bun.secrets.set({ service: "pipeops", name: ${JSON.stringify(`${origin} project/../project/.pipeops.json`)}, value: ${JSON.stringify(JSON.stringify({ access_token: token }))} })`;
    expect((await inKeyringSession([process.execPath, "-e", plant], env, undefined, dir)).code).toBe(0);
    expect(await withKeyring(["auth", "token"], env, undefined, dir)).toEqual({ code: 0, stdout: `${token}\n`, stderr: "" });
    expect(await entries(env)).toEqual([`${origin} ${dir}/project/.pipeops.json`]);
    expect((await withKeyring(["auth", "token"], env, undefined, dir)).stdout).toBe(`${token}\n`);
  });

  test("logout where the file says keyring but no entry is found: logged out (the file no longer says so), with a warning, never 'Not logged in'", async () => {
    const { env, path } = home();
    writeFileSync(path, JSON.stringify({ credential_store: "keyring", api_url: server.url, settings: { theme: "dark" } }), { mode: 0o600 });
    expect(await withKeyring(["auth", "logout", "-f"], env)).toEqual({
      code: 0,
      stdout: "✓ Successfully logged out\n",
      stderr:
        `Warning: ${path} said its tokens were in the OS keyring, but no entry for it was found there; the file no longer says so\n` +
        "If an entry for it was made under another name, remove it with your keyring's own tool (service 'pipeops')\n",
    });
    expect(fileOf(path)).toEqual({ settings: { theme: "dark" } });
  });
});

describe("without a usable keyring: closed, never a quiet fall back to the file", () => {
  const WAYS_OUT =
    "Start or unlock a keyring (Secret Service, Keychain, Credential Manager), or log in without --keyring (and unset PIPEOPS_CREDENTIAL_STORE)\n";

  function expectNothingWritten(result: RunResult, path: string, token: string): void {
    expect(result.code).toBe(1);
    // The keyring daemon D-Bus starts for the call says where its socket is: its line, not ours.
    expect(result.stdout.replace(/^GNOME_KEYRING_CONTROL=.*\n/m, "")).toBe("");
    expect(existsSync(path)).toBe(false);
    expect(result.stdout + result.stderr).not.toContain(token);
  }

  test("no session bus (a headless server): login --keyring exits 1 naming why, writes nothing, shows no token", async () => {
    const { env, path } = home();
    const token = server.issueServiceToken();
    const result = await runBinary(["auth", "login", "--with-token", "--keyring"], { env, stdin: `${token}\n` });
    expectNothingWritten(result, path, token);
    expect(result.stderr).toBe(`Error: the OS keyring cannot be used: Cannot autolaunch D-Bus without X11 $DISPLAY\n${WAYS_OUT}`);
  });

  test("--keyring with none: neither a browser nor a device sign-in starts, and the server is asked nothing", async () => {
    const { env, path } = home();
    const opened = join(tempDir(), "opened");
    const before = server.requests.length;
    for (const flags of [["--no-browser"], ["--browser"]]) {
      const result = await runBinary(["auth", "login", "--keyring", ...flags], {
        env: { ...env, PIPEOPS_DASHBOARD_URL: server.consoleUrl, BROWSER: `sh -c 'echo opened > ${opened}'` },
      });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: `Error: the OS keyring cannot be used: Cannot autolaunch D-Bus without X11 $DISPLAY\n${WAYS_OUT}`,
      });
    }
    expect(server.requests.length).toBe(before);
    expect(existsSync(opened)).toBe(false);
    expect(existsSync(path)).toBe(false);
  });

  test("a keyring that never answers (a session bus that accepts and stays silent): given up after 5 s, closed as the others", async () => {
    const { env, path } = home();
    const token = server.issueServiceToken();
    const socket = join(tempDir(), "silent-bus");
    const held: import("node:net").Socket[] = [];
    const bus = createNetServer((connection) => held.push(connection.on("error", () => {})));
    await new Promise<void>((resolve) => bus.listen(socket, resolve));
    try {
      const started = performance.now();
      const result = await runBinary(["auth", "login", "--with-token", "--keyring"], {
        env: { ...env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}` },
        stdin: `${token}\n`,
      });
      const ms = performance.now() - started;
      expectNothingWritten(result, path, token);
      expect(result.stderr).toBe(`Error: the OS keyring cannot be used: it did not answer within 5 s\n${WAYS_OUT}`);
      expect(ms).toBeGreaterThanOrEqual(5_000);
      expect(ms).toBeLessThan(9_000);
    } finally {
      for (const connection of held) connection.destroy();
      bus.close();
    }
  }, 20_000);

  test("a keyring that errors (a session bus whose keyring was never unlocked): the same, with its reason", async () => {
    const { env, path } = home();
    const token = server.issueServiceToken();
    const result = await runProgram(["dbus-run-session", "--", BINARY, "auth", "login", "--with-token"], {
      env: { ...env, PIPEOPS_CREDENTIAL_STORE: "keyring" },
      stdin: `${token}\n`,
    });
    expectNothingWritten(result, path, token);
    expect(result.stderr).toContain("Error: the OS keyring cannot be used: ");
    expect(result.stderr).toContain(WAYS_OUT);
  });

  test("a file whose tokens are in a keyring that cannot be reached: every command says so, exit 1, and the file is left as it was", async () => {
    const { env, path } = home();
    const before = `${JSON.stringify({ credential_store: "keyring", api_url: server.url })}\n`;
    writeFileSync(path, before, { mode: 0o600 });
    for (const args of [
      ["auth", "token"],
      ["api", "oauth/userinfo"],
      ["auth", "logout", "-f"],
    ]) {
      const result = await runBinary(args, { env });
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toStartWith("Error: the OS keyring cannot be used: ");
    }
    expect(readFileSync(path, "utf8")).toBe(before);
    const status = await runBinary(["auth", "status", "--json"], { env });
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout).error).toStartWith("the OS keyring cannot be used");
  });

  test("PIPEOPS_CREDENTIAL_STORE must say keyring or file", async () => {
    const { env } = home();
    const result = await runBinary(["auth", "login", "--with-token"], { env: { ...env, PIPEOPS_CREDENTIAL_STORE: "vault" }, stdin: "sat_x\n" });
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(`Error: PIPEOPS_CREDENTIAL_STORE must be "keyring" or "file", got 'vault'\n`);
  });
});
