/**
 * The opt-in OS keyring, on the compiled binary with a real Secret Service: gnome-keyring-daemon,
 * unlocked, inside its own D-Bus session (dbus-run-session) for each command, its keyring kept in
 * the test's HOME. Also the cases where there is none (no session bus) and where it errors (a bus
 * whose keyring was never unlocked): both fail closed, with nothing written anywhere.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
async function withKeyring(args: string[], env: Record<string, string>, stdin?: string): Promise<RunResult> {
  const owned =
    "dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets";
  const script = [
    'printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1',
    `i=0; until ${owned} 2>/dev/null | grep -q true || [ $i -ge 200 ]; do i=$((i + 1)); sleep 0.01; done`,
    'exec "$@"',
  ].join("\n");
  const result = await runProgram(["dbus-run-session", "--", "sh", "-c", script, "sh", BINARY, ...args], {
    env: { ...env, KEYRING_PASSWORD: "test keyring password" },
    stdin,
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
    // The preference stays: the next login goes to the keyring again.
    expect(fileOf(path)).toEqual({ credential_store: "keyring" });
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
