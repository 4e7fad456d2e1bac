/**
 * The credential file on a bad day: a read-only folder, an unreadable file, a config path that is
 * a symbolic link (followed: the link's target is replaced atomically and the link kept; a link owned
 * by another user is refused for writing), a lock file left by a killed process, the file deleted
 * between read and write, and several writers at once (one complete file wins, never a mix).
 * Permission cases run the binary as 'nobody', because the tests run as root in CI.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { CredentialStore } from "../../src/config/store.ts";
import { runBinary, spawnBinary } from "../helpers/binary.ts";
import { configFolderEntries, tempDir } from "../helpers/context.ts";
import { type FaultServer, startFaultServer } from "../helpers/fault-server.ts";
import { approveDevice, loginWithAuthorizationCode, type TokenSet } from "../helpers/flows.ts";

setDefaultTimeout(90_000);

const dev: DevServer = await startDevServer({ port: 0 });
const fault: FaultServer = await startFaultServer(dev.url);

afterAll(async () => {
  await fault.close();
  await dev.close();
});

const mode = (path: string) => statSync(path).mode & 0o777;

function sessionText(tokens: TokenSet, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: "2099-01-01T00:00:00Z", api_url: dev.url, settings: { theme: "dark" }, ...extra })}\n`;
}

/** A folder 'nobody' may enter and read but not write, holding a credential file it may read. */
function readOnlyHome(text: string) {
  const dir = tempDir("pipeops-ro-");
  const path = join(dir, ".pipeops.json");
  writeFileSync(path, text, { mode: 0o644 });
  chmodSync(dir, 0o755);
  return { dir, path, env: { HOME: dir, PIPEOPS_CONFIG_PATH: path } };
}

/** The spec's permission error, the path and the folder that refused, and the ways out. */
const cannotSave = (path: string, folder: string, waysOut: string) =>
  `Error: failed to write config file: permission denied\n${path} cannot be written: you may not create files in ${folder}\n${waysOut}\n`;
const LOGIN_WAYS_OUT = "Name a writable file with --config FILE or PIPEOPS_CONFIG_PATH; in CI, set PIPEOPS_AUTH_TOKEN instead of logging in";
const REFRESH_WAYS_OUT = "The session was not renewed and is kept as it was: make the place writable and run the command again, or set PIPEOPS_AUTH_TOKEN";
const WRITE_WAYS_OUT = "Make that place writable, or name another file with --config FILE or PIPEOPS_CONFIG_PATH";

const readableWarning = (path: string) => `Warning: config file ${path} is readable by other users\nRun 'chmod 600 ${path}' to protect it\n`;

describe("a folder or file the user may not write", () => {
  test("reading works; login fails with the spec's permission error and the file unchanged", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const text = sessionText(tokens);
    const home = readOnlyHome(text);
    const status = await runBinary(["auth", "status"], { env: home.env, asUser: "nobody" });
    expect(status).toEqual({
      code: 0,
      stdout: `✓ Authenticated as user@example.com\nToken expires: 2099-01-01 00:00:00\nServer: ${dev.url}\n`,
      stderr: readableWarning(home.path),
    });

    // Found before the token leaves the machine: the server is asked nothing.
    const userinfo = dev.stats.userinfoRequests;
    const login = await runBinary(["auth", "login", "--with-token"], {
      env: { ...home.env, PIPEOPS_API_URL: dev.url },
      asUser: "nobody",
      stdin: `${tokens.access_token}\n`,
    });
    expect(login).toEqual({ code: 1, stdout: "", stderr: `${readableWarning(home.path)}${cannotSave(home.path, home.dir, LOGIN_WAYS_OUT)}` });
    expect(dev.stats.userinfoRequests).toBe(userinfo);
    expect(readFileSync(home.path, "utf8")).toBe(text);
    expect(configFolderEntries(home.dir)).toEqual([".pipeops.json"]);
  });

  test("a home nobody may write: the device and browser sign-ins end before anything is asked of the server, and doctor says why", async () => {
    const dir = tempDir("pipeops-ro-home-");
    chmodSync(dir, 0o555);
    const path = join(dir, ".pipeops.json");
    const env = { HOME: dir, PIPEOPS_API_URL: fault.url, BROWSER: "/bin/true" };
    fault.use();
    for (const flags of [["--no-browser"], ["--browser"]]) {
      const login = await runBinary(["auth", "login", ...flags], { env, asUser: "nobody" });
      expect(login).toEqual({ code: 1, stdout: "", stderr: cannotSave(path, dir, LOGIN_WAYS_OUT) });
    }
    expect(fault.requests).toEqual([]);
    // A folder to be made below one that may not be written: the folder named.
    const deeper = join(dir, "config", "pipeops.json");
    const viaConfig = await runBinary(["auth", "login", "--no-browser", "--config", deeper], { env, asUser: "nobody" });
    expect(viaConfig).toEqual({
      code: 1,
      stdout: "",
      stderr: cannotSave(deeper, dir, "Name a writable file with --config FILE; in CI, set PIPEOPS_AUTH_TOKEN instead of logging in"),
    });
    const doctor = await runBinary(["auth", "doctor", "--json"], { env, asUser: "nobody" });
    expect(JSON.parse(doctor.stdout).checks[0]).toEqual({
      name: "credential file",
      status: "fail",
      detail: `${path} (the default): not there yet, and cannot be created: you may not create files in ${dir}`,
      hint: LOGIN_WAYS_OUT,
    });
    expect(doctor.code).toBe(1);
  });

  test("an expired session in a read-only folder is not refreshed at all; once the folder is writable the same refresh token still works", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const text = sessionText(tokens, { expires_at: "2020-01-01T00:00:00Z" });
    const home = readOnlyHome(text);
    const grants = dev.stats.refreshGrants;
    const result = await runBinary(["auth", "token"], { env: home.env, asUser: "nobody" });
    expect(result).toEqual({ code: 1, stdout: "", stderr: `${readableWarning(home.path)}${cannotSave(home.path, home.dir, REFRESH_WAYS_OUT)}` });
    expect(dev.stats.refreshGrants).toBe(grants);
    expect(readFileSync(home.path, "utf8")).toBe(text);
    // The refresh token was never sent: oidc-provider, which rotates them and revokes a session whose
    // spent token is replayed, takes it now and the session goes on.
    chmodSync(home.dir, 0o777);
    const later = await runBinary(["auth", "token"], { env: home.env, asUser: "nobody" });
    expect(later.code).toBe(0);
    expect(dev.stats.refreshGrants).toBe(grants + 1);
    expect(dev.stats.refreshReuseDetected).toBe(0);
    expect(later.stdout.trim()).toBe(JSON.parse(readFileSync(home.path, "utf8")).auth_token);
  });

  test("a file the user may not read: a clear error, never a crash", async () => {
    const dir = tempDir("pipeops-unreadable-");
    chmodSync(dir, 0o755);
    const path = join(dir, ".pipeops.json");
    writeFileSync(path, '{"auth_token":"secret-token-value"}', { mode: 0o600 });
    for (const args of [
      ["auth", "status"],
      ["auth", "token"],
      ["auth", "logout", "--force"],
    ]) {
      const result = await runBinary(args, { env: { HOME: dir, PIPEOPS_CONFIG_PATH: path }, asUser: "nobody" });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: `Error: cannot read config file ${path}: permission denied\nCheck its permissions: chmod 600 ${path}\n`,
      });
    }
  });
});

describe("a config path that is a symbolic link", () => {
  /** ~/.pipeops.json → dotfiles/pipeops.json, as a dotfiles manager sets it up. */
  function linkedHome(text?: string) {
    const dir = tempDir("pipeops-link-");
    const dotfiles = join(dir, "dotfiles");
    mkdirSync(dotfiles, { mode: 0o700 });
    const target = join(dotfiles, "pipeops.json");
    if (text !== undefined) writeFileSync(target, text, { mode: 0o600 });
    const link = join(dir, ".pipeops.json");
    symlinkSync(target, link);
    return { dir, dotfiles, target, link, env: { HOME: dir } };
  }

  test("is read through, and a login replaces the target atomically, keeping the link", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const home = linkedHome(sessionText(tokens));
    expect((await runBinary(["auth", "status"], { env: home.env })).stdout).toStartWith("✓ Authenticated as user@example.com\n");

    const fresh = await loginWithAuthorizationCode(dev);
    const login = await runBinary(["auth", "login", "--with-token"], { env: { ...home.env, PIPEOPS_API_URL: dev.url }, stdin: fresh.access_token });
    expect(login.code).toBe(0);
    expect(lstatSync(home.link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(home.link)).toBe(home.target);
    const stored = JSON.parse(readFileSync(home.target, "utf8"));
    expect(stored.auth_token).toBe(fresh.access_token);
    expect(stored.settings).toEqual({ theme: "dark" });
    expect(mode(home.target)).toBe(0o600);
    expect(readdirSync(home.dotfiles)).toEqual(["pipeops.json"]);
  });

  test("logout clears the target: no copy of the tokens stays behind the link", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const home = linkedHome(sessionText(tokens));
    const result = await runBinary(["auth", "logout", "--force"], { env: home.env });
    expect(result).toEqual({ code: 0, stdout: "✓ Successfully logged out\n", stderr: "" });
    expect(lstatSync(home.link).isSymbolicLink()).toBe(true);
    const left = readFileSync(home.target, "utf8");
    expect(left).not.toContain(tokens.access_token);
    expect(left).not.toContain(tokens.refresh_token!);
    expect(JSON.parse(left)).toEqual({ settings: { theme: "dark" } });
  });

  test("a refresh writes through a chain of links", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const home = linkedHome(sessionText(tokens, { expires_at: "2020-01-01T00:00:00Z" }));
    const middle = join(home.dir, "middle.json");
    rmSync(home.link);
    symlinkSync(home.target, middle);
    symlinkSync(middle, home.link);
    const result = await runBinary(["auth", "token"], { env: home.env });
    expect(result.code).toBe(0);
    expect(lstatSync(home.link).isSymbolicLink()).toBe(true);
    expect(lstatSync(middle).isSymbolicLink()).toBe(true);
    expect(result.stdout).toBe(`${JSON.parse(readFileSync(home.target, "utf8")).auth_token}\n`);
    expect(configFolderEntries(home.dir).sort()).toEqual([".pipeops.json", "dotfiles", "middle.json"]);
  });

  test("a dangling link: the login creates the file it names", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const home = linkedHome();
    const result = await runBinary(["auth", "login", "--with-token"], { env: { ...home.env, PIPEOPS_API_URL: dev.url }, stdin: tokens.access_token });
    expect(result.code).toBe(0);
    expect(lstatSync(home.link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(home.target, "utf8")).auth_token).toBe(tokens.access_token);
    expect(mode(home.target)).toBe(0o600);
  });

  test("a link loop is a clear error", async () => {
    const dir = tempDir("pipeops-loop-");
    symlinkSync(join(dir, "b.json"), join(dir, ".pipeops.json"));
    symlinkSync(join(dir, ".pipeops.json"), join(dir, "b.json"));
    for (const args of [
      ["auth", "status"],
      ["auth", "logout", "--force"],
    ]) {
      const result = await runBinary(args, { env: { HOME: dir } });
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: `Error: cannot read config file ${join(dir, ".pipeops.json")}: too many levels of symbolic links\n`,
      });
    }
  });

  test("a link owned by another user is not written through", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const text = sessionText(tokens);
    const home = linkedHome(text);
    // As if another user had planted it (the tests run as root, so root's own links count as ours).
    lchownSync(home.link, 4242, 4242);
    const result = await runBinary(["auth", "logout", "--force"], { env: home.env });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `Error: failed to write config file ${home.link}: it is a symbolic link owned by another user\n${WRITE_WAYS_OUT}\n`,
    });
    expect(readFileSync(home.target, "utf8")).toBe(text);
    expect(lstatSync(home.link).isSymbolicLink()).toBe(true);
  });
});

describe("a lock file left by a killed process", () => {
  test("is recovered: the next command refreshes at once", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const dir = tempDir("pipeops-lock-");
    const path = join(dir, ".pipeops.json");
    writeFileSync(path, sessionText(tokens, { expires_at: "2020-01-01T00:00:00Z", api_url: fault.url }), { mode: 0o600 });
    const lock = `${path}.lock`;
    // The first run hangs in its refresh, holding the lock; then it is killed.
    fault.use({ path: "/token", fault: { kind: "hang" } });
    const victim = spawnBinary(["auth", "token"], { env: { HOME: dir, PIPEOPS_HTTP_TIMEOUT: "60" } });
    const started = Date.now();
    while (!fault.requests.some((request) => request.path === "/token")) {
      if (Date.now() - started > 30_000) throw new Error(`the refresh never started: ${victim.stderr()}`);
      await Bun.sleep(20);
    }
    expect(existsSync(lock)).toBe(true);
    victim.kill("SIGKILL");
    expect((await victim.result).code).not.toBe(0);
    expect(existsSync(lock)).toBe(true);

    fault.use();
    const before = performance.now();
    const result = await runBinary(["auth", "token"], { env: { HOME: dir } });
    expect(performance.now() - before).toBeLessThan(10_000);
    expect(result.code).toBe(0);
    const stored = JSON.parse(readFileSync(path, "utf8"));
    expect(result.stdout).toBe(`${stored.auth_token}\n`);
    expect(stored.auth_token).not.toBe(tokens.access_token);
    expect(configFolderEntries(dir)).toEqual([".pipeops.json"]);
  });
});

describe("the file deleted between read and write", () => {
  /** A store whose file (or folder) another process removes right after each read. */
  class RacedStore extends CredentialStore {
    constructor(
      path: string,
      private readonly remove: () => void,
    ) {
      super(path, () => {});
    }

    // Every read of the file, for reading or for writing back, goes through load().
    protected override async load() {
      const loaded = await super.load();
      this.remove();
      return loaded;
    }
  }

  test("save writes one complete file again, 0600", async () => {
    const dir = tempDir();
    const path = join(dir, ".pipeops.json");
    writeFileSync(path, JSON.stringify({ auth_token: "old", settings: { theme: "dark" } }), { mode: 0o600 });
    const store = new RacedStore(path, () => rmSync(path, { force: true }));
    await store.save({ accessToken: "new-at", refreshToken: "new-rt", expiresAt: new Date("2030-01-01T00:00:00Z") });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({
      auth_token: "new-at",
      settings: { theme: "dark" },
      refresh_token: "new-rt",
      expires_at: "2030-01-01T00:00:00Z",
    });
    expect(mode(path)).toBe(0o600);
    expect(configFolderEntries(dir)).toEqual([".pipeops.json"]);
  });

  test("even the folder: it is made again, 0700", async () => {
    const base = tempDir();
    const dir = join(base, "config");
    mkdirSync(dir);
    const path = join(dir, "pipeops.json");
    writeFileSync(path, JSON.stringify({ auth_token: "old" }), { mode: 0o600 });
    const store = new RacedStore(path, () => rmSync(dir, { recursive: true, force: true }));
    await store.save({ accessToken: "new-at" });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ auth_token: "new-at" });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test("clear does not fail either, and leaves no token", async () => {
    const dir = tempDir();
    const path = join(dir, ".pipeops.json");
    writeFileSync(path, JSON.stringify({ auth_token: "old", refresh_token: "old-rt", version: "1" }), { mode: 0o600 });
    const store = new RacedStore(path, () => rmSync(path, { force: true }));
    expect(await store.clear()).toBe(true);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ version: "1" });
  });
});

describe("several writers at once", () => {
  test("32 concurrent saves: the file is exactly one writer's, keys never mixed", async () => {
    const dir = tempDir();
    const path = join(dir, ".pipeops.json");
    writeFileSync(path, JSON.stringify({ settings: { theme: "dark" }, version: "1.0.0" }), { mode: 0o600 });
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          new CredentialStore(path, () => {}).save({ accessToken: `at-${i}`, refreshToken: `rt-${i}`, expiresAt: new Date(Date.UTC(2030, 0, 1 + i)) }),
        ),
      );
      const stored = JSON.parse(readFileSync(path, "utf8"));
      const i = Number(String(stored.auth_token).slice(3));
      expect(stored).toEqual({
        settings: { theme: "dark" },
        version: "1.0.0",
        auth_token: `at-${i}`,
        refresh_token: `rt-${i}`,
        expires_at: new Date(Date.UTC(2030, 0, 1 + i)).toISOString().replace(".000Z", "Z"),
      });
      expect(configFolderEntries(dir)).toEqual([".pipeops.json"]);
    }
  });

  test("six logins finishing at once: one complete file, 0600, nothing left over", async () => {
    const dir = tempDir();
    const path = join(dir, ".pipeops.json");
    writeFileSync(path, JSON.stringify({ settings: { theme: "dark" } }), { mode: 0o600 });
    const logins = await Promise.all(Array.from({ length: 6 }, () => loginWithAuthorizationCode(dev)));
    const results = await Promise.all(
      logins.map((tokens) => runBinary(["auth", "login", "--with-token"], { env: { HOME: dir, PIPEOPS_API_URL: dev.url }, stdin: tokens.access_token })),
    );
    for (const result of results) expect(result).toEqual({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n", stderr: "" });
    const stored = JSON.parse(readFileSync(path, "utf8"));
    expect(logins.map((tokens) => tokens.access_token)).toContain(stored.auth_token);
    expect(stored.settings).toEqual({ theme: "dark" });
    expect(mode(path)).toBe(0o600);
    expect(configFolderEntries(dir)).toEqual([".pipeops.json"]);
  });

  test("two device logins approved at once: one complete session that works", async () => {
    const dir = tempDir();
    const path = join(dir, ".pipeops.json");
    const clis = [0, 1].map(() => spawnBinary(["auth", "login", "--no-browser"], { env: { HOME: dir, PIPEOPS_API_URL: dev.url } }));
    const urls = await Promise.all(clis.map(async (cli) => (await cli.waitForStderr(/authenticate:\n(\S+)\n/))[1]!));
    await Promise.all(urls.map((url) => approveDevice(url)));
    for (const cli of clis) expect((await cli.result).code).toBe(0);
    const stored = JSON.parse(readFileSync(path, "utf8"));
    expect(Object.keys(stored).sort()).toEqual(["api_url", "auth_token", "expires_at", "refresh_token"]);
    expect(configFolderEntries(dir)).toEqual([".pipeops.json"]);
    // The stored pair belongs together and is live: status verifies the access token, a forced refresh the refresh token.
    expect((await runBinary(["auth", "status"], { env: { HOME: dir } })).code).toBe(0);
    writeFileSync(path, JSON.stringify({ ...stored, expires_at: "2020-01-01T00:00:00Z" }), { mode: 0o600 });
    const refreshed = await runBinary(["auth", "token"], { env: { HOME: dir } });
    expect(refreshed.code).toBe(0);
    expect(refreshed.stdout.trim()).not.toBe(stored.auth_token);
  });
});

describe("a config path that is not a regular file, or not there yet", () => {
  test("a named pipe, a device, a folder: refused at once with a hint that fits, never a hang", async () => {
    const dir = tempDir();
    const fifo = join(dir, "pipe.json");
    Bun.spawnSync(["mkfifo", fifo]);
    const cases: [string, string][] = [
      [fifo, `Error: config file ${fifo} is a named pipe, not a file\nRemove it (rm '${fifo}') or point PIPEOPS_CONFIG_PATH at a file\n`],
      ["/dev/null", "Error: config file /dev/null is a device, not a file\nPoint PIPEOPS_CONFIG_PATH at a file, e.g. ~/.pipeops.json\n"],
      [dir, `Error: config file ${dir} is a folder, not a file\nPoint PIPEOPS_CONFIG_PATH at a file, e.g. ${dir}/.pipeops.json\n`],
    ];
    for (const [path, stderr] of cases) {
      for (const args of [
        ["auth", "me"],
        ["auth", "logout", "--force"],
        ["auth", "login", "--with-token"],
      ]) {
        const started = Date.now();
        const result = await runBinary(args, { env: { HOME: dir, PIPEOPS_CONFIG_PATH: path }, stdin: "some-token\n", timeoutMs: 10_000 });
        expect(result).toEqual({ code: 1, stdout: "", stderr });
        expect(Date.now() - started).toBeLessThan(5_000);
      }
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  test("a path in folders that do not exist yet: login creates them, 0700, and the file 0600", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const dir = tempDir();
    const path = join(dir, "a", "b", "pipeops.json");
    const result = await runBinary(["auth", "login", "--with-token"], {
      env: { HOME: dir, PIPEOPS_CONFIG_PATH: path, PIPEOPS_API_URL: dev.url },
      stdin: `${tokens.access_token}\n`,
    });
    expect(result.code).toBe(0);
    expect(mode(join(dir, "a"))).toBe(0o700);
    expect(mode(join(dir, "a", "b"))).toBe(0o700);
    expect(mode(path)).toBe(0o600);
  });

  test("a path through a file: one sentence naming the path", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "");
    const path = join(dir, "file", "pipeops.json");
    const result = await runBinary(["auth", "login", "--with-token"], { env: { HOME: dir, PIPEOPS_CONFIG_PATH: path }, stdin: "some-token\n" });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `Error: cannot read config file ${path}: a part of the path is a file, not a folder\nPoint PIPEOPS_CONFIG_PATH at a file, e.g. ~/.pipeops.json\n`,
    });
  });

  test("a UTF-8 byte order mark (as Windows editors write) is accepted, and dropped only when the CLI writes anyway", async () => {
    const tokens = await loginWithAuthorizationCode(dev);
    const dir = tempDir();
    const path = join(dir, ".pipeops.json");
    const text = `\uFEFF${sessionText(tokens)}`;
    writeFileSync(path, text, { mode: 0o600 });
    const status = await runBinary(["auth", "status"], { env: { HOME: dir } });
    expect(status.stdout).toStartWith("✓ Authenticated as user@example.com\n");
    expect(readFileSync(path, "utf8")).toBe(text);
    expect((await runBinary(["auth", "logout", "--force"], { env: { HOME: dir } })).code).toBe(0);
    const after = readFileSync(path, "utf8");
    expect(after.startsWith("{")).toBe(true);
    expect(JSON.parse(after)).toEqual({ settings: { theme: "dark" } });
  });
});

describe("a file another tool shares", () => {
  test("login --with-token and a refresh write back the other tool's numbers and strings exactly as they were", async () => {
    const dir = tempDir();
    const path = join(dir, ".pipeops.json");
    const theirs = `"account_id": 12345678901234567890, "limit": 1e400, "label": "caf\\u00e9"`;
    writeFileSync(path, `{${theirs}, "settings": {"retries": 9007199254740993}}\n`, { mode: 0o600 });
    const tokens = await loginWithAuthorizationCode(dev);
    const login = await runBinary(["auth", "login", "--with-token"], { env: { HOME: dir, PIPEOPS_API_URL: dev.url }, stdin: tokens.access_token });
    expect(login.code).toBe(0);
    // And a refresh, which saves again.
    const stored = JSON.parse(readFileSync(path, "utf8"));
    writeFileSync(
      path,
      readFileSync(path, "utf8").replace(
        /"auth_token": "[^"]+"/,
        `"auth_token": "${tokens.access_token}", "refresh_token": "${tokens.refresh_token}", "expires_at": "2000-01-01T00:00:00Z"`,
      ),
    );
    const refreshed = await runBinary(["auth", "token"], { env: { HOME: dir } });
    expect(refreshed.code).toBe(0);
    const written = readFileSync(path, "utf8");
    for (const text of ['"account_id": 12345678901234567890', '"limit": 1e400', '"label": "caf\\u00e9"', '"retries": 9007199254740993'])
      expect(written).toContain(text);
    expect(JSON.parse(written).auth_token).not.toBe(stored.auth_token);
  });
});
