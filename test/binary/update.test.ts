/**
 * `pipeops update` on the binary, against releases served on loopback (PIPEOPS_INSTALL_BASE_URL):
 * a real signed 0.2.0 release and a 0.1.0 binary (test/helpers/update-release.ts), and from them a
 * tampered archive, a rewritten SHA256SUMS, another key's signature, no signature, an older release
 * signed again, and a signature vouching for a version the binary is not. In every refused case the
 * installed binary is left byte for byte as it was. Also stock minisign against our signatures and
 * ours against its, install.sh's signature check, the progress bar, and the update notice.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DAY_MS } from "../../src/update/due.ts";
import { ROOT, runProgram, spawnProgram } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";
import { spawnInTerminal } from "../helpers/interactive.ts";
import { KEY_FILE, NEW_VERSION, OLD_VERSION, PUBLIC_KEY, releaseCopy, resign, type UpdateFixtures, updateFixtures } from "../helpers/update-release.ts";

setDefaultTimeout(120_000);

let fixtures: UpdateFixtures;
/** What each test serves: a folder per path prefix (/r/<name>/<file>), and a rate limit for the progress bar. */
const served = new Map<string, { dir: string; bytesPerSecond?: number }>();
let server: Server;
let port = 0;
const requests: string[] = [];

beforeAll(async () => {
  fixtures = await updateFixtures();
  // node:http, which sends a streamed body's Content-Length as a release host does (the progress bar's total).
  server = createServer((request, response) => {
    const [, , name, file] = new URL(request.url ?? "/", "http://localhost").pathname.split("/");
    requests.push(`${name}/${file}`);
    const release = served.get(name ?? "");
    const path = release && file ? join(release.dir, file) : "";
    if (!release || !file || !existsSync(path)) {
      response.writeHead(404).end("not found");
      return;
    }
    const bytes = readFileSync(path);
    response.writeHead(200, { "content-length": bytes.length });
    if (!release.bytesPerSecond) {
      response.end(bytes);
      return;
    }
    // Slowly, in pieces: time for a progress bar (and a Ctrl-C) at a terminal.
    const piece = Math.ceil(release.bytesPerSecond / 10);
    let offset = 0;
    const timer = setInterval(() => {
      if (response.destroyed || offset >= bytes.length) {
        clearInterval(timer);
        response.end();
        return;
      }
      response.write(bytes.subarray(offset, offset + piece));
      offset += piece;
    }, 100);
    response.on("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
}, 15 * 60_000);
afterAll(() => {
  server?.closeAllConnections();
  server?.close();
});

/** Serves `dir` under a name of its own; the URL to give PIPEOPS_INSTALL_BASE_URL. */
function serveRelease(dir: string, options: { bytesPerSecond?: number } = {}): string {
  const name = `r${served.size}`;
  served.set(name, { dir, ...options });
  return `http://127.0.0.1:${port}/r/${name}`;
}

/** The binary of `version` installed alone in a folder of its own, with the given mode. */
function installed(version: "old" | "new", mode = 0o755): { dir: string; path: string; bytes: Buffer } {
  const dir = tempDir("pipeops-installed-");
  const path = join(dir, "pipeops");
  if (version === "old") copyFileSync(fixtures.oldBinary, path);
  else Bun.spawnSync(["tar", "-xzf", join(fixtures.release, "pipeops-linux-x64.tar.gz"), "-C", dir]);
  chmodSync(path, mode);
  return { dir, path, bytes: readFileSync(path) };
}

const env = (base: string, extra: Record<string, string> = {}) => ({ HOME: tempDir(), PIPEOPS_INSTALL_BASE_URL: base, ...extra });

/** The binary left as it was, and nothing of an update beside it. */
function untouched(binary: ReturnType<typeof installed>): void {
  expect(readFileSync(binary.path).equals(binary.bytes)).toBe(true);
  expect(readdirSync(binary.dir)).toEqual(["pipeops"]);
}

describe("pipeops update check", () => {
  test("--json: the official CLI's fields, from the signed release; nothing is installed", async () => {
    const binary = installed("old");
    const result = await runProgram([binary.path, "update", "check", "--json"], { env: env(serveRelease(fixtures.release)) });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toEqual({
      current_version: OLD_VERSION,
      latest_version: NEW_VERSION,
      up_to_date: false,
      update_available: true,
      release_name: `v${NEW_VERSION}`,
      release_date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      release_notes: "Faster start-up\nSigned releases and pipeops update",
      download_url: expect.stringMatching(/\/pipeops-linux-x64\.tar\.xz$/),
      installed: false,
    });
    untouched(binary);
  });

  test("human: what is new and how to install it; up to date: one line", async () => {
    const base = serveRelease(fixtures.release);
    const old = await runProgram([installed("old").path, "update", "check"], { env: env(base) });
    expect(old.stdout).toBe(
      `A new version of pipeops is available: ${OLD_VERSION} → ${NEW_VERSION} (released ${/released (\S+)\)/.exec(old.stdout)?.[1]})\n` +
        "  Faster start-up\n  Signed releases and pipeops update\nRun 'pipeops update' to install it\n",
    );
    const current = await runProgram([installed("new").path, "update", "check"], { env: env(base) });
    expect(current).toEqual({ code: 0, stdout: `✓ pipeops ${NEW_VERSION} is the latest version\n`, stderr: "" });
  });
});

describe("refused releases: the old binary untouched, byte for byte, and nothing left beside it", () => {
  const refusals = [
    [
      "a tampered archive",
      (dir: string) => {
        for (const name of ["pipeops-linux-x64.tar.xz", "pipeops-linux-x64.tar.gz"]) {
          const bytes = readFileSync(join(dir, name));
          bytes[bytes.length - 100]! ^= 0xff;
          writeFileSync(join(dir, name), bytes);
        }
      },
      /^Error: the release at \S+ was refused: pipeops-linux-x64\.tar\.xz does not match its checksum \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)\n/,
    ],
    [
      "a tampered archive with SHA256SUMS rewritten to match (the signature is then stale)",
      async (dir: string) => {
        const name = "pipeops-linux-x64.tar.xz";
        const bytes = readFileSync(join(dir, name));
        bytes[bytes.length - 100]! ^= 0xff;
        writeFileSync(join(dir, name), bytes);
        const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
        const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8").replace(/^[0-9a-f]{64}(?= {2}pipeops-linux-x64\.tar\.xz$)/m, digest);
        writeFileSync(join(dir, "SHA256SUMS"), sums);
      },
      /^Error: the release at \S+ was refused: its signature does not check out: the signature does not match the file\n/,
    ],
    [
      "a release signed by another key",
      async (dir: string) => {
        const keys = tempDir();
        Bun.spawnSync(["minisign", "-G", "-W", "-p", join(keys, "other.pub"), "-s", join(keys, "other.sec")]);
        await resign(dir, NEW_VERSION, join(keys, "other.sec"));
      },
      /^Error: the release at \S+ was refused: its signature does not check out: it was signed with another key \([0-9A-F]{16}, not [0-9A-F]{16}\)\n/,
    ],
    [
      "an unsigned release",
      (dir: string) => rmSync(join(dir, "SHA256SUMS.minisig")),
      /^Error: the release at \S+ was refused: it is not signed \(no SHA256SUMS\.minisig\)\n/,
    ],
    [
      "a signature that vouches for a version the new binary is not",
      (dir: string) => resign(dir, "0.3.0"),
      /^Error: the new binary says it is 0\.2\.0, not the 0\.3\.0 its signature vouches for\nNothing was changed; the installed pipeops is as it was\n$/,
    ],
  ] as const;

  for (const [name, change, message] of refusals) {
    test(name, async () => {
      const binary = installed("old");
      const result = await runProgram([binary.path, "update", "--yes"], { env: env(serveRelease(await releaseCopy(fixtures.release, change))) });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(message);
      untouched(binary);
    });
  }

  test("never a downgrade: an older release, correctly signed (an old one served again), is not installed", async () => {
    const binary = installed("new");
    const older = await releaseCopy(fixtures.release, (dir) => resign(dir, OLD_VERSION));
    const result = await runProgram([binary.path, "update", "--yes"], { env: env(serveRelease(older)) });
    expect(result).toEqual({ code: 0, stdout: `✓ pipeops ${NEW_VERSION} is newer than the latest release (${OLD_VERSION}): nothing to install\n`, stderr: "" });
    expect(requests.filter((path) => path.endsWith(".tar.xz") || path.endsWith(".tar.gz"))).not.toContain(`r${served.size - 1}/pipeops-linux-x64.tar.xz`);
    untouched(binary);
  });

  test("a folder the user may not write, as an unprivileged user: said, with the ways out, before any download", async () => {
    const binary = installed("old");
    chmodSync(binary.dir, 0o755);
    const base = serveRelease(fixtures.release);
    const before = requests.length;
    const result = await runProgram([binary.path, "update", "--yes"], { env: env(base, { HOME: tempDir() }), asUser: "nobody" });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `Error: cannot update pipeops in ${binary.dir}: you may not create files in ${binary.dir}\n` +
        "Nothing was changed. Run 'sudo pipeops update', or install it where you can write: " +
        "curl -fsSL https://raw.githubusercontent.com/PipeOpsHQ/pipeops-cli/main/scripts/install.sh | PIPEOPS_INSTALL_DIR=~/.local/bin sh\n",
    });
    expect(requests.slice(before).some((path) => path.includes(".tar."))).toBe(false);
    untouched(binary);
  });

  test("a binary a package manager installed (a global npm install here) is left to it, named, before any download", async () => {
    const root = tempDir("pipeops-npm-global-");
    const dir = join(root, "lib", "node_modules", "pipeops", "bin");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "pipeops");
    copyFileSync(fixtures.oldBinary, path);
    chmodSync(path, 0o755);
    const bytes = readFileSync(path);
    const before = requests.length;
    const result = await runProgram([path, "update", "--yes"], { env: env(serveRelease(fixtures.release)) });
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: `Error: ${path} was installed by a package manager, which updates it\nRun 'npm install -g pipeops@latest (or: bun add -g pipeops@latest)'; pipeops update leaves it alone\n`,
    });
    expect(requests.slice(before).some((request) => request.includes(".tar."))).toBe(false);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(["pipeops"]);
  });

  test("no terminal and no --yes: says what it would install, exit 1, installs nothing", async () => {
    const binary = installed("old");
    const result = await runProgram([binary.path, "update"], { env: env(serveRelease(fixtures.release)) });
    expect(result.code).toBe(1);
    expect(result.stdout).toStartWith(`A new version of pipeops is available: ${OLD_VERSION} → ${NEW_VERSION}`);
    expect(result.stderr).toBe(
      `Error: pipeops ${NEW_VERSION} was not installed: there is no terminal to ask at\nRun 'pipeops update --yes' to install it without asking\n`,
    );
    untouched(binary);
  });
});

describe("an update that installs", () => {
  test("in place: the same path and mode, the new binary runs, and a process running the old one is unaffected", async () => {
    const binary = installed("old", 0o750);
    // A process of the old binary, waiting at logout's question.
    const home = tempDir();
    writeFileSync(join(home, ".pipeops.json"), JSON.stringify({ auth_token: "pat_a_session_to_log_out_of" }), { mode: 0o600 });
    const running = spawnProgram([binary.path, "auth", "logout"], { env: { HOME: home }, stdin: "pipe" });
    await running.waitForStderr(/Are you sure you want to logout\? \[y\/N\] /);

    const result = await runProgram([binary.path, "update", "--yes"], { env: env(serveRelease(fixtures.release)) });
    expect(result).toEqual({ code: 0, stdout: `✓ Updated pipeops ${OLD_VERSION} → ${NEW_VERSION} (${binary.path})\n`, stderr: "" });
    expect((await runProgram([binary.path, "--version"])).stdout).toStartWith(`pipeops ${NEW_VERSION} (commit `);
    expect(statSync(binary.path).mode & 0o777).toBe(0o750);
    expect(readdirSync(binary.dir)).toEqual(["pipeops"]);

    running.write("y\n");
    expect(await running.result).toEqual({ code: 0, stdout: "✓ Successfully logged out\n", stderr: "Are you sure you want to logout? [y/N] " });
  });

  test("at a terminal: what is new, a question, a progress bar while it downloads; on a pipe the same update is silent", async () => {
    const binary = installed("old");
    const slow = serveRelease(fixtures.release, { bytesPerSecond: 24 * 1024 * 1024 });
    const cli = spawnInTerminal(["update"], env(slow), { argv: [binary.path] }, { columns: 100, rows: 30 });
    try {
      await cli.waitForScreen(/Install pipeops 0\.2\.0 in place of 0\.1\.0 \(.*\)\? \[y\/N\] /);
      expect(cli.screen()).toContain(`A new version of pipeops is available: ${OLD_VERSION} → ${NEW_VERSION}`);
      cli.type("y\r");
      await cli.waitForScreen(/Downloading pipeops-linux-x64\.tar\.xz [█░]{20} \d+\.\d \/ \d+\.\d MB, \d+\.\d MB\/s, \d+ s left/, 60_000);
      expect(await cli.exited).toBe(0);
      // The bar is cleared before the result, which starts on a line of its own.
      expect(cli.screen()).toMatch(/\r\x1b\[2K(\x1b\[32m)?✓(\x1b\[39m)? Updated pipeops 0\.1\.0 → 0\.2\.0/);
    } finally {
      cli.close();
    }
    // On a pipe (the bar would be drawn at the first piece of any download, fast or slow): nothing.
    const piped = installed("old");
    const result = await runProgram([piped.path, "update", "--yes"], { env: env(serveRelease(fixtures.release)) });
    expect(result).toEqual({ code: 0, stdout: `✓ Updated pipeops ${OLD_VERSION} → ${NEW_VERSION} (${piped.path})\n`, stderr: "" });
  });

  test("Ctrl-C during the download: the old binary untouched, no temporary file", async () => {
    const binary = installed("old");
    const cli = spawnInTerminal(["update", "--yes"], env(serveRelease(fixtures.release, { bytesPerSecond: 2 * 1024 * 1024 })), { argv: [binary.path] });
    try {
      // 80 columns: the bar without the archive's name, which would not fit.
      await cli.waitForScreen(/\r\x1b\[2K[█░]{20} \d+\.\d \/ \d+\.\d MB/, 60_000);
      cli.interrupt();
      expect(await cli.exited).not.toBe(0);
    } finally {
      cli.close();
    }
    untouched(binary);
  });
});

describe("the signatures: stock minisign and ours", () => {
  test("minisign -V accepts the signature npm run release made, and shows the version it vouches for", async () => {
    const result = await runProgram(["minisign", "-Vm", join(fixtures.release, "SHA256SUMS"), "-P", PUBLIC_KEY]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Trusted comment: timestamp:`);
    expect(result.stdout).toContain(`\tversion:${NEW_VERSION}`);
  });

  test("pipeops accepts minisign's own signature (minisign -S, prehashed by default)", async () => {
    const signedByMinisign = await releaseCopy(fixtures.release, (dir) => {
      rmSync(join(dir, "SHA256SUMS.minisig"));
      const signing = Bun.spawnSync(["minisign", "-S", "-s", KEY_FILE, "-m", join(dir, "SHA256SUMS"), "-t", `version:${NEW_VERSION}`]);
      if (!signing.success) throw new Error(signing.stderr.toString());
    });
    const result = await runProgram([installed("old").path, "update", "check", "--json"], { env: env(serveRelease(signedByMinisign)) });
    expect(JSON.parse(result.stdout)).toMatchObject({ latest_version: NEW_VERSION, update_available: true });
  });

  test("install.sh checks the signature with minisign, else OpenSSL 3, says when it could check only the checksum, and refuses a stale one", async () => {
    const base = serveRelease(fixtures.release);
    const script = join(ROOT, "scripts", "install.sh");
    const installWith = (path: string, url: string) =>
      runProgram(["/bin/dash", script], {
        env: { HOME: tempDir(), PATH: path, PIPEOPS_INSTALL_BASE_URL: url, PIPEOPS_INSTALL_DIR: tempDir(), PIPEOPS_RELEASE_PUBLIC_KEY: PUBLIC_KEY },
      });
    // A PATH of the tools install.sh uses, with or without minisign and openssl.
    const toolbox = (without: string[]) => {
      const dir = tempDir();
      for (const tool of [
        "sed",
        "head",
        "tail",
        "od",
        "tr",
        "awk",
        "cat",
        "mkdir",
        "mktemp",
        "curl",
        "sha256sum",
        "cut",
        "uname",
        "ldd",
        "xz",
        "tar",
        "cp",
        "chmod",
        "mv",
        "rm",
        "id",
        "openssl",
        "minisign",
      ]) {
        const found = Bun.which(tool);
        if (found && !without.includes(tool)) Bun.spawnSync(["ln", "-s", found, join(dir, tool)]);
      }
      return dir;
    };
    expect((await installWith(toolbox([]), base)).stdout).toContain("Signature of SHA256SUMS verified\n");
    expect((await installWith(toolbox(["minisign"]), base)).stdout).toContain("Signature of SHA256SUMS verified\n");
    expect((await installWith(toolbox(["minisign", "openssl"]), base)).stdout).toContain(
      "Note: neither minisign nor OpenSSL 3 is installed: only the checksum was checked, not the signature\n",
    );
    const stale = serveRelease(
      await releaseCopy(fixtures.release, (dir) => writeFileSync(join(dir, "SHA256SUMS"), `${readFileSync(join(dir, "SHA256SUMS"), "utf8")}\n`)),
    );
    for (const without of [[], ["minisign"]]) {
      const refused = await installWith(toolbox(without), stale);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        "Error: the signature of SHA256SUMS does not check out\nThe release was altered, or not signed by PipeOps; nothing was installed\n",
      );
    }
  });
});

describe("the update notice", () => {
  /** A home whose record says what the last check found, a moment ago. */
  function homeWithRecord(latest: string): string {
    const home = tempDir();
    mkdirSync(join(home, ".cache", "pipeops"), { recursive: true });
    writeFileSync(join(home, ".cache", "pipeops", "update.json"), JSON.stringify({ checked_at: Date.now(), latest_version: latest }), { mode: 0o600 });
    return home;
  }
  const NOTICE = `A new version of pipeops is available: ${OLD_VERSION} → ${NEW_VERSION}; run 'pipeops update' to install it`;

  test("at a terminal, after a command, once a day; never in CI, on a pipe, with --json or PIPEOPS_SKIP_UPDATE_CHECK=true", async () => {
    const binary = installed("old");
    const home = homeWithRecord(NEW_VERSION);
    const atTerminal = async (args: string[], extra: Record<string, string> = {}) => {
      const cli = spawnInTerminal(args, { HOME: home, NO_COLOR: "1", ...extra }, { argv: [binary.path] });
      try {
        await cli.exited;
        return cli.screen();
      } finally {
        cli.close();
      }
    };
    for (const extra of [{ CI: "true" }, { GITHUB_ACTIONS: "true" }, { PIPEOPS_SKIP_UPDATE_CHECK: "true" }] as Record<string, string>[]) {
      expect(await atTerminal(["auth", "status"], extra)).not.toContain("A new version");
    }
    expect(await atTerminal(["auth", "status", "--json"])).not.toContain("A new version");
    expect(await atTerminal(["auth", "status", "--quiet"])).not.toContain("A new version");
    const piped = await runProgram([binary.path, "auth", "status"], { env: { HOME: home } });
    expect(piped.stderr).toBe("");
    const first = await atTerminal(["auth", "status"]);
    expect(first).toEndWith(`Run 'pipeops auth login' to authenticate\r\n${NOTICE}\r\n`);
    // Once a day.
    expect(await atTerminal(["auth", "status"])).not.toContain("A new version");
  });

  test("the record's modification time says when something next falls due, so a command reads no more of it until then", async () => {
    const binary = installed("old");
    const home = homeWithRecord(NEW_VERSION);
    const record = join(home, ".cache", "pipeops", "update.json");
    const atTerminal = async () => {
      const cli = spawnInTerminal(["auth", "status"], { HOME: home, NO_COLOR: "1" }, { argv: [binary.path] });
      try {
        await cli.exited;
        return cli.screen();
      } finally {
        cli.close();
      }
    };
    const shown = Date.now();
    expect(await atTerminal()).toContain(NOTICE);
    // Checked a moment ago (the record's checked_at), shown now: the check falls due first, in a day.
    const { checked_at } = JSON.parse(readFileSync(record, "utf8"));
    expect(statSync(record).mtimeMs).toBe(checked_at + DAY_MS);
    expect(checked_at).toBeLessThanOrEqual(shown);
    // A record whose time says nothing is due is not read: a newer release written in by hand stays unseen until then.
    const due = statSync(record).mtime;
    writeFileSync(record, JSON.stringify({ checked_at: Date.now(), latest_version: "9.9.9" }));
    utimesSync(record, due, due);
    expect(await atTerminal()).not.toContain("A new version");
    // One whose time says due (a record from before, or written by hand) is read, and its time set right.
    writeFileSync(record, JSON.stringify({ checked_at: Date.now() - 1000, latest_version: OLD_VERSION }));
    expect(await atTerminal()).not.toContain("A new version");
    expect(statSync(record).mtimeMs).toBe(JSON.parse(readFileSync(record, "utf8")).checked_at + DAY_MS);
  });

  test("the official CLI's updates.skip_update_check in the shared file says no", async () => {
    const home = homeWithRecord(NEW_VERSION);
    writeFileSync(join(home, ".pipeops.json"), JSON.stringify({ updates: { skip_update_check: true } }), { mode: 0o600 });
    const cli = spawnInTerminal(["auth", "status"], { HOME: home }, { argv: [installed("old").path] });
    try {
      await cli.exited;
      expect(cli.screen()).not.toContain("A new version");
    } finally {
      cli.close();
    }
  });

  test("the check runs in the background, never holding up the command: its finding shows on a later run", async () => {
    const binary = installed("old");
    const home = tempDir();
    const base = serveRelease(fixtures.release);
    const cli = spawnInTerminal(["auth", "status"], { HOME: home, PIPEOPS_INSTALL_BASE_URL: base, NO_COLOR: "1" }, { argv: [binary.path] });
    try {
      expect(await cli.exited).toBe(1);
      expect(cli.screen()).not.toContain("A new version");
    } finally {
      cli.close();
    }
    const record = join(home, ".cache", "pipeops", "update.json");
    const started = Date.now();
    while (!readFileSync(record, "utf8").includes(NEW_VERSION) && Date.now() - started < 30_000) await Bun.sleep(50);
    expect(JSON.parse(readFileSync(record, "utf8"))).toMatchObject({ latest_version: NEW_VERSION });
    const later = spawnInTerminal(["auth", "status"], { HOME: home, PIPEOPS_INSTALL_BASE_URL: base, NO_COLOR: "1" }, { argv: [binary.path] });
    try {
      await later.exited;
      expect(later.screen()).toContain(NOTICE);
    } finally {
      later.close();
    }
  });
});
