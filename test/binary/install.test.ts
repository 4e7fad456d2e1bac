/**
 * scripts/install.sh under dash (Debian's /bin/sh) and bash, against a loopback HTTP server that
 * serves the release (built by ensureRelease(), reused while the sources are unchanged): a real
 * install, a tampered archive, a missing checksum, and OS/arch/musl detection through stub
 * `uname`/`ldd`/`sysctl`/`id` commands on PATH.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { ensureRelease, readReleaseInfo, sha256, zipOneFile } from "../../scripts/release.ts";
import { ROOT } from "../helpers/binary.ts";
import { testNeeding } from "../helpers/requirements.ts";

const SCRIPT = join(ROOT, "scripts", "install.sh");
const SHELLS = ["dash", "bash"] as const;
const HOST_IS_LINUX_X64 = process.platform === "linux" && process.arch === "x64";
/** The installs of the real linux-x64 release, which only such a host can run. */
const linuxX64Test = testNeeding(HOST_IS_LINUX_X64, "install.sh installing the linux-x64 release", "the host is not x64 Linux");
const BUILD_TIMEOUT_MS = 15 * 60_000;

let releaseDir = "";
let work = "";
let server: ReturnType<typeof Bun.serve>;
let baseUrl = "";
const requests: string[] = [];
/** /usr/bin and /bin as links in one folder, without the named program: a machine without xz. */
let withoutXz = "";

function pathWithout(program: string): string {
  const dir = mkdtempSync(join(work, "path-"));
  for (const from of ["/usr/bin", "/bin"]) {
    for (const name of readdirSync(from)) {
      if (name !== program && !existsSync(join(dir, name))) symlinkSync(join(from, name), join(dir, name));
    }
  }
  return dir;
}

/** Archives standing in for other platforms (.tar.gz and .tar.xz): a shell script named pipeops, with a SHA256SUMS. */
function fakeRelease(dir: string, archives: string[], program: string): void {
  mkdirSync(join(dir, "stage"), { recursive: true });
  writeFileSync(join(dir, "stage", "pipeops"), program, { mode: 0o755 });
  const sums: string[] = [];
  for (const archive of archives) {
    const flag = archive.endsWith(".xz") ? "-cJf" : "-czf";
    const tar = Bun.spawnSync(["tar", flag, join(dir, archive), "-C", join(dir, "stage"), "pipeops"]);
    if (!tar.success) throw new Error(`tar failed: ${tar.stderr.toString()}`);
    sums.push(`${sha256(readFileSync(join(dir, archive)))}  ${archive}`);
  }
  const zip = zipOneFile("pipeops.exe", Buffer.from(program), new Date());
  writeFileSync(join(dir, "pipeops-windows-x64.zip"), zip);
  sums.push(`${sha256(zip)}  pipeops-windows-x64.zip`);
  writeFileSync(join(dir, "SHA256SUMS"), `${sums.join("\n")}\n`);
}

/**
 * /good/ is the release; /tampered/ the release with one byte of the linux-x64 archive changed;
 * /nosum/ lacks the archive's line in SHA256SUMS; /nosums/ lacks SHA256SUMS; /fake/ and /broken/
 * hold the stand-ins (one prints a version, one fails like a musl build without libstdc++).
 */
function serve(request: Request): Response {
  const path = new URL(request.url).pathname;
  requests.push(path);
  const [, variant, file] = path.split("/");
  if (!variant || !file || file.includes("..")) return new Response("not found", { status: 404 });
  if (variant === "fake" || variant === "broken") {
    const full = join(work, variant, file);
    return existsSync(full) ? new Response(Bun.file(full)) : new Response("not found", { status: 404 });
  }
  const full = join(releaseDir, file);
  if (!existsSync(full) || file === "BUILD-INFO.json") return new Response("not found", { status: 404 });
  if (variant === "good") return new Response(Bun.file(full));
  if (variant === "tampered") {
    if (!/^pipeops-linux-x64\.tar\.(gz|xz)$/.test(file)) return new Response(Bun.file(full));
    const bytes = readFileSync(full);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    return new Response(bytes);
  }
  if (variant === "nosum") {
    if (file !== "SHA256SUMS") return new Response(Bun.file(full));
    const lines = readFileSync(full, "utf8")
      .split("\n")
      .filter((line) => !/ {2}pipeops-linux-x64\.tar\.(gz|xz)$/.test(line));
    return new Response(lines.join("\n"));
  }
  if (variant === "nosums") return file === "SHA256SUMS" ? new Response("not found", { status: 404 }) : new Response(Bun.file(full));
  return new Response("not found", { status: 404 });
}

beforeAll(async () => {
  releaseDir = await ensureRelease();
  work = mkdtempSync(join(tmpdir(), "pipeops-install-test-"));
  const all = ["linux-x64", "linux-x64-musl", "linux-arm64", "linux-arm64-musl", "darwin-x64", "darwin-arm64"].flatMap((t) => [
    `pipeops-${t}.tar.gz`,
    `pipeops-${t}.tar.xz`,
  ]);
  withoutXz = pathWithout("xz");
  fakeRelease(join(work, "fake"), all, '#!/bin/sh\necho "pipeops 9.9.9 (commit fake)"\n');
  fakeRelease(join(work, "broken"), all, "#!/bin/sh\necho 'Error loading shared library libstdc++.so.6: No such file or directory' >&2\nexit 127\n");
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: serve });
  baseUrl = `http://127.0.0.1:${server.port}`;
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  server?.stop(true);
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Stubs {
  /** `uname -s` and `uname -m`. */
  uname?: [string, string];
  ldd?: string;
  sysctl?: string;
  uid?: number;
  /** A curl that records its arguments and fails, for the default URLs (no network). */
  curlLog?: string;
  /** No xz on the machine: install.sh must take the .tar.gz. */
  noXz?: boolean;
}

function stubDir(stubs: Stubs): string {
  const dir = mkdtempSync(join(work, "stubs-"));
  const write = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  if (stubs.uname) write("uname", `case "$1" in -m) echo '${stubs.uname[1]}' ;; *) echo '${stubs.uname[0]}' ;; esac`);
  if (stubs.ldd !== undefined) write("ldd", `echo '${stubs.ldd}'`);
  if (stubs.sysctl !== undefined) write("sysctl", `echo '${stubs.sysctl}'`);
  if (stubs.uid !== undefined) write("id", `echo ${stubs.uid}`);
  if (stubs.curlLog) write("curl", `echo "$@" >> '${stubs.curlLog}'\nexit 22`);
  return dir;
}

interface InstallRun {
  code: number;
  stdout: string;
  stderr: string;
  home: string;
  dir: string;
}

async function install(shell: string, env: Record<string, string | undefined>, stubs: Stubs = {}): Promise<InstallRun> {
  const home = mkdtempSync(join(work, "home-"));
  const dir = join(home, "bin");
  const path = `${stubDir(stubs)}:${stubs.noXz ? withoutXz : "/usr/local/bin:/usr/bin:/bin"}`;
  const fullEnv: Record<string, string> = { PATH: path, HOME: home, PIPEOPS_INSTALL_DIR: dir };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete fullEnv[key];
    else fullEnv[key] = value;
  }
  const child = Bun.spawn([shell, SCRIPT], { env: fullEnv, cwd: home, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr, home, dir };
}

function expectNothingInstalled(run: InstallRun): void {
  expect(run.code).toBe(1);
  expect(existsSync(run.dir) ? readdirSync(run.dir) : []).toEqual([]);
}

for (const shell of SHELLS) {
  describe(`install.sh under ${shell}`, () => {
    linuxX64Test("installs the linux-x64 release, verified, and prints its path and version", async () => {
      requests.length = 0;
      const run = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/good/` });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const installed = join(run.dir, "pipeops");
      expect(run.stdout).toContain(`Checksum verified (sha256 ${sha256(readFileSync(join(releaseDir, "pipeops-linux-x64.tar.xz")))})`);
      expect(run.stdout).toContain(`Installed pipeops to ${installed}\npipeops ${pkg.version} (commit ${readReleaseInfo(releaseDir)!.commit})\n`);
      expect(run.stdout).toContain(`Note: ${run.dir} is not on your PATH`);
      // The tests' release is built without the signing key: said, plainly (update.test.ts checks signed ones).
      expect(run.stdout).toContain("Note: this release is not signed: only the checksum was checked\n");
      expect(statSync(installed).mode & 0o777).toBe(0o755);
      expect(readFileSync(installed).equals(readFileSync(join(releaseDir, "pipeops-linux-x64")))).toBe(true);
      expect(readdirSync(run.dir)).toEqual(["pipeops"]);
      expect(requests).toEqual(["/good/pipeops-linux-x64.tar.xz", "/good/SHA256SUMS", "/good/SHA256SUMS.minisig"]);
    });

    linuxX64Test("without xz on the machine: the .tar.gz, verified the same way", async () => {
      requests.length = 0;
      const run = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/good/` }, { noXz: true });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Checksum verified (sha256 ${sha256(readFileSync(join(releaseDir, "pipeops-linux-x64.tar.gz")))})`);
      expect(readFileSync(join(run.dir, "pipeops")).equals(readFileSync(join(releaseDir, "pipeops-linux-x64")))).toBe(true);
      expect(requests).toEqual(["/good/pipeops-linux-x64.tar.gz", "/good/SHA256SUMS", "/good/SHA256SUMS.minisig"]);
      const tampered = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/tampered` }, { noXz: true });
      expect(tampered.stderr).toStartWith("Error: checksum mismatch for pipeops-linux-x64.tar.gz (expected ");
      expectNothingInstalled(tampered);
    });

    linuxX64Test(
      "replaces an existing pipeops",
      async () => {
        const first = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/good` });
        expect(first.code).toBe(0);
        const again = Bun.spawn([shell, SCRIPT], {
          env: { PATH: "/usr/bin:/bin", HOME: first.home, PIPEOPS_INSTALL_DIR: first.dir, PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/good` },
          stdout: "pipe",
          stderr: "pipe",
        });
        expect(await again.exited).toBe(0);
        expect(readdirSync(first.dir)).toEqual(["pipeops"]);
      },
      30_000,
    );

    test("refuses a tampered archive and installs nothing", async () => {
      const run = await install(
        shell,
        { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/tampered` },
        { uname: ["Linux", "x86_64"], ldd: "ldd (Debian GLIBC 2.36-9) 2.36" },
      );
      expect(run.stderr).toMatch(
        /^Error: checksum mismatch for pipeops-linux-x64\.tar\.xz \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)\nThe download is corrupt or was tampered with; nothing was installed\n$/,
      );
      expectNothingInstalled(run);
    });

    test("refuses an archive that SHA256SUMS does not list", async () => {
      const run = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/nosum` }, { uname: ["Linux", "x86_64"], ldd: "ldd (GNU libc) 2.36" });
      expect(run.stderr).toBe("Error: SHA256SUMS has no checksum for pipeops-linux-x64.tar.xz\nRefusing to install an archive that cannot be verified\n");
      expectNothingInstalled(run);
    });

    test("refuses to install when SHA256SUMS cannot be downloaded", async () => {
      const run = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/nosums` }, { uname: ["Linux", "x86_64"], ldd: "ldd (GNU libc) 2.36" });
      expect(run.stderr).toContain(`Error: could not download ${baseUrl}/nosums/SHA256SUMS\nRefusing to install an archive that cannot be verified\n`);
      expectNothingInstalled(run);
    });

    test("Alpine on ARM64: the musl build, and the libraries it needs", async () => {
      requests.length = 0;
      const run = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` }, { uname: ["Linux", "aarch64"], ldd: "musl libc (aarch64)" });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(requests).toEqual(["/fake/pipeops-linux-arm64-musl.tar.xz", "/fake/SHA256SUMS", "/fake/SHA256SUMS.minisig"]);
      expect(run.stdout).toContain("musl C library detected (Alpine): pipeops needs libstdc++ and libgcc (apk add libstdc++ libgcc)\n");
      expect(run.stdout).toContain(`Installed pipeops to ${join(run.dir, "pipeops")}\npipeops 9.9.9 (commit fake)\n`);
    });

    test("a musl build that cannot start says which packages to add", async () => {
      const run = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/broken` }, { uname: ["Linux", "x86_64"], ldd: "musl libc (x86_64)" });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("Error: pipeops was installed but does not run\nInstall the libraries it needs: apk add libstdc++ libgcc\n");
    });

    test("glibc on ARM64 and macOS (with Rosetta) get their own builds", async () => {
      requests.length = 0;
      const arm = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` }, { uname: ["Linux", "aarch64"], ldd: "ldd (GNU libc) 2.36" });
      const mac = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` }, { uname: ["Darwin", "x86_64"], sysctl: "1" });
      const intelMac = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` }, { uname: ["Darwin", "x86_64"], sysctl: "0" });
      expect([arm.code, mac.code, intelMac.code]).toEqual([0, 0, 0]);
      expect(arm.stdout).not.toContain("musl");
      expect(requests.filter((path) => path.includes(".tar."))).toEqual([
        "/fake/pipeops-linux-arm64.tar.xz",
        "/fake/pipeops-darwin-arm64.tar.xz",
        "/fake/pipeops-darwin-x64.tar.xz",
      ]);
      requests.length = 0;
      const armWithoutXz = await install(
        shell,
        { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` },
        { uname: ["Linux", "aarch64"], ldd: "ldd (GNU libc) 2.36", noXz: true },
      );
      expect(armWithoutXz.code).toBe(0);
      expect(requests).toEqual(["/fake/pipeops-linux-arm64.tar.gz", "/fake/SHA256SUMS", "/fake/SHA256SUMS.minisig"]);
    });

    test("Windows (Git Bash): the zip, installed as pipeops.exe", async () => {
      requests.length = 0;
      const run = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` }, { uname: ["MINGW64_NT-10.0-19045", "x86_64"] });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(requests).toEqual(["/fake/pipeops-windows-x64.zip", "/fake/SHA256SUMS", "/fake/SHA256SUMS.minisig"]);
      expect(run.stdout).toContain(`Installed pipeops to ${join(run.dir, "pipeops.exe")}\npipeops 9.9.9 (commit fake)\n`);
    });

    test("an unsupported system is refused before any download", async () => {
      requests.length = 0;
      const os = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` }, { uname: ["FreeBSD", "amd64"] });
      const cpu = await install(shell, { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake` }, { uname: ["Linux", "riscv64"] });
      expect(os.stderr).toBe("Error: unsupported operating system: FreeBSD\npipeops runs on Linux, macOS and Windows\n");
      expect(cpu.stderr).toBe("Error: unsupported CPU architecture: riscv64\npipeops runs on x86-64 (x64) and ARM64\n");
      expectNothingInstalled(os);
      expectNothingInstalled(cpu);
      expect(requests).toEqual([]);
    });

    test("default install folder: ~/.local/bin for a user", async () => {
      const run = await install(
        shell,
        { PIPEOPS_INSTALL_BASE_URL: `${baseUrl}/fake`, PIPEOPS_INSTALL_DIR: undefined },
        { uname: ["Linux", "x86_64"], ldd: "ldd (GNU libc) 2.36", uid: 1000 },
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Installed pipeops to ${join(run.home, ".local", "bin", "pipeops")}\n`);
    });

    test("default download URL: the requested PIPEOPS_VERSION, else the latest release", async () => {
      const log = join(mkdtempSync(join(work, "curl-")), "curl.log");
      const stubs: Stubs = { uname: ["Linux", "x86_64"], ldd: "ldd (GNU libc) 2.36", curlLog: log };
      const pinned = await install(shell, { PIPEOPS_VERSION: "1.2.3" }, stubs);
      const latest = await install(shell, {}, stubs);
      expectNothingInstalled(pinned);
      expectNothingInstalled(latest);
      const urls = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((line) => line.split(" ").pop());
      expect(urls).toEqual([
        "https://github.com/PipeOpsHQ/pipeops-cli/releases/download/v1.2.3/pipeops-linux-x64.tar.xz",
        "https://github.com/PipeOpsHQ/pipeops-cli/releases/latest/download/pipeops-linux-x64.tar.xz",
      ]);
    });
  });
}
