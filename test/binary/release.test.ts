/**
 * Smoke tests of what we ship: the release of the current sources (scripts/release.ts, all seven
 * targets; reused while the sources are unchanged). Archives and checksums, every binary's file
 * header, the linux-x64 binary with no environment and a hostile working folder, the x64 build on a
 * CPU without AVX (qemu's Nehalem), and the arm64 build under qemu.
 *
 * Needs Debian's qemu-user, libc6-arm64-cross and unzip.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { archiveName, archiveNames, binaryName, ensureRelease, readReleaseInfo, sha256, TARGETS, type Target, xzArchiveName } from "../../scripts/release.ts";
import { describeNeeding } from "../helpers/requirements.ts";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const QEMU_TIMEOUT_MS = 120_000;
const HOST_IS_LINUX_X64 = process.platform === "linux" && process.arch === "x64";

let dir = "";
let work = "";
let versionLine = "";

beforeAll(async () => {
  dir = await ensureRelease();
  work = mkdtempSync(join(tmpdir(), "pipeops-release-test-"));
  versionLine = `pipeops ${pkg.version} (commit ${readReleaseInfo(dir)!.commit})\n`;
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(argv: string[], options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}): Run {
  const result = Bun.spawnSync(argv, {
    cwd: options.cwd ?? work,
    env: options.env ?? { PATH: "/usr/bin:/bin" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeout ?? 30_000,
  });
  return { code: result.exitCode ?? (result.signalCode ? 128 : -1), stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** A tool the tests need: fail with the Debian package to install rather than skip silently. */
function tool(name: string, debianPackage: string): string {
  const path = Bun.which(name, { PATH: "/usr/local/bin:/usr/bin:/bin" });
  if (!path) throw new Error(`${name} is missing: apt-get install ${debianPackage}`);
  return path;
}

describe("archives and checksums", () => {
  test("a .tar.gz and a .tar.xz per target (a .zip for Windows), and SHA256SUMS covering exactly those", () => {
    const expected = TARGETS.flatMap(archiveNames).sort();
    const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8");
    const lines = sums.trimEnd().split("\n");
    expect(lines.map((line) => line.split("  ")[1]).sort()).toEqual(expected);
    for (const line of lines) {
      const [hash, name] = line.split("  ");
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(sha256(readFileSync(join(dir, name!)))).toBe(hash!);
    }
    // The format users check with: sha256sum -c.
    expect(run(["sha256sum", "-c", "SHA256SUMS"], { cwd: dir }).code).toBe(0);
  });

  for (const target of TARGETS.filter((t) => t.os !== "windows")) {
    test(`${archiveName(target)} holds the binary as an executable 'pipeops' owned by root`, () => {
      const listing = run(["tar", "-tvzf", join(dir, archiveName(target))]);
      expect(listing.code).toBe(0);
      expect(listing.stdout).toMatch(/^-rwxr-xr-x 0\/0 +\d+ \S+ \S+ pipeops\n$/);
      const out = mkdtempSync(join(work, "tar-"));
      expect(run(["tar", "-xzf", join(dir, archiveName(target)), "-C", out]).code).toBe(0);
      expect(readFileSync(join(out, "pipeops")).equals(readFileSync(join(dir, binaryName(target))))).toBe(true);
    });

    test(`${xzArchiveName(target)} holds the same, as install.sh unpacks it (xz -dc | tar -x), and is smaller`, () => {
      const xz = join(dir, xzArchiveName(target)!);
      const listing = run(["sh", "-c", 'xz -dc "$1" | tar -tvf -', "sh", xz]);
      expect(listing.stdout).toMatch(/^-rwxr-xr-x 0\/0 +\d+ \S+ \S+ pipeops\n$/);
      const out = mkdtempSync(join(work, "xz-"));
      expect(run(["sh", "-c", 'xz -dc "$1" | tar -xf - -C "$2" pipeops', "sh", xz, out]).code).toBe(0);
      expect(readFileSync(join(out, "pipeops")).equals(readFileSync(join(dir, binaryName(target))))).toBe(true);
      expect(statSync(xz).size).toBeLessThan(statSync(join(dir, archiveName(target))).size);
    });
  }

  test("pipeops-windows-x64.zip holds pipeops.exe, intact", () => {
    const unzip = tool("unzip", "unzip");
    const zip = join(dir, "pipeops-windows-x64.zip");
    expect(run([unzip, "-tq", zip]).stdout).toContain("No errors detected");
    const listing = run([unzip, "-Z1", zip]);
    expect(listing.stdout).toBe("pipeops.exe\n");
    const out = mkdtempSync(join(work, "zip-"));
    expect(run([unzip, "-q", zip, "-d", out]).code).toBe(0);
    expect(readFileSync(join(out, "pipeops.exe")).equals(readFileSync(join(dir, "pipeops-windows-x64.exe")))).toBe(true);
  });

  test("BUILD-INFO.json names the version, commit and Bun it was built with", () => {
    const info = readReleaseInfo(dir)!;
    expect(info).toMatchObject({ version: pkg.version, bun: Bun.version, targets: TARGETS.map((t) => t.id) });
    expect(info.commit).toMatch(/^[0-9a-f]{12}$/);
  });
});

interface Header {
  format: "ELF" | "Mach-O" | "PE";
  arch: "x64" | "arm64" | "other";
  /** ELF only: the program interpreter (dynamic loader). */
  interpreter?: string;
}

/** Reads just enough of an executable's header: format, CPU, and an ELF's PT_INTERP. */
function readHeader(bytes: Buffer): Header {
  if (bytes.readUInt32BE(0) === 0x7f454c46) {
    expect(bytes[4]).toBe(2); // 64-bit
    expect(bytes[5]).toBe(1); // little-endian
    const machine = bytes.readUInt16LE(18);
    const phoff = Number(bytes.readBigUInt64LE(32));
    const phentsize = bytes.readUInt16LE(54);
    const phnum = bytes.readUInt16LE(56);
    let interpreter: string | undefined;
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * phentsize;
      if (bytes.readUInt32LE(ph) !== 3) continue; // PT_INTERP
      const offset = Number(bytes.readBigUInt64LE(ph + 8));
      const size = Number(bytes.readBigUInt64LE(ph + 32));
      interpreter = bytes
        .subarray(offset, offset + size)
        .toString("latin1")
        .replace(/\0+$/, "");
    }
    return { format: "ELF", arch: machine === 0x3e ? "x64" : machine === 0xb7 ? "arm64" : "other", interpreter };
  }
  if (bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = bytes.readUInt32LE(4);
    return { format: "Mach-O", arch: cpu === 0x01000007 ? "x64" : cpu === 0x0100000c ? "arm64" : "other" };
  }
  if (bytes.toString("latin1", 0, 2) === "MZ") {
    const pe = bytes.readUInt32LE(0x3c);
    expect(bytes.toString("latin1", pe, pe + 4)).toBe("PE\0\0");
    const machine = bytes.readUInt16LE(pe + 4);
    return { format: "PE", arch: machine === 0x8664 ? "x64" : machine === 0xaa64 ? "arm64" : "other" };
  }
  throw new Error("not an executable this test knows");
}

function expectedHeader(target: Target): Header {
  if (target.os === "darwin") return { format: "Mach-O", arch: target.arch };
  if (target.os === "windows") return { format: "PE", arch: target.arch };
  const cpu = target.arch === "x64" ? "x86_64" : "aarch64";
  const interpreter = target.musl ? `/lib/ld-musl-${cpu}.so.1` : target.arch === "x64" ? "/lib64/ld-linux-x86-64.so.2" : "/lib/ld-linux-aarch64.so.1";
  return { format: "ELF", arch: target.arch, interpreter };
}

describe("file headers", () => {
  for (const target of TARGETS) {
    test(`${binaryName(target)}: ${expectedHeader(target).format}, ${target.arch}${target.musl ? ", musl loader" : ""}`, () => {
      const path = join(dir, binaryName(target));
      expect(statSync(path).mode & 0o777).toBe(0o755);
      // The headers are in the first pages; the loader path of an ELF is too.
      const head = Buffer.alloc(64 * 1024);
      const fd = openSync(path, "r");
      try {
        readSync(fd, head, 0, head.length, 0);
      } finally {
        closeSync(fd);
      }
      expect(readHeader(head)).toEqual(expectedHeader(target));
    });
  }
});

describeNeeding(
  HOST_IS_LINUX_X64,
  "the linux-x64 binary",
  "the host is not x64 Linux",
)("the linux-x64 binary", () => {
  const binary = () => join(dir, "pipeops-linux-x64");

  test("--version prints the version and commit with no environment at all (no node, no bun, no PATH)", () => {
    const result = run(["/usr/bin/env", "-i", binary(), "--version"], { env: {} });
    expect(result).toEqual({ code: 0, stdout: versionLine, stderr: "" });
  });

  test("a hostile .env and bunfig.toml in the working folder change nothing", () => {
    const folder = mkdtempSync(join(work, "hostile-"));
    const home = mkdtempSync(join(work, "home-"));
    const marker = join(folder, "preloaded");
    // Were the .env read, auth status would use this token against a closed loopback port and fail differently.
    writeFileSync(join(folder, ".env"), "PIPEOPS_AUTH_TOKEN=from-dotenv\nPIPEOPS_API_URL=http://127.0.0.1:9/\nPIPEOPS_CONFIG_PATH=/nonexistent/x.json\n");
    writeFileSync(join(folder, "bunfig.toml"), 'preload = ["./evil.ts"]\n[run]\npreload = ["./evil.ts"]\n');
    writeFileSync(join(folder, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`);

    const version = run(["/usr/bin/env", "-i", binary(), "--version"], { cwd: folder, env: {} });
    expect(version).toEqual({ code: 0, stdout: versionLine, stderr: "" });
    const status = run(["/usr/bin/env", "-i", `HOME=${home}`, binary(), "auth", "status"], { cwd: folder, env: {} });
    expect(status).toEqual({ code: 1, stdout: "✗ Not authenticated\nRun 'pipeops auth login' to authenticate\n", stderr: "" });
    expect(existsSync(marker)).toBe(false);
  });

  test("--help and --version touch neither the credential file nor the network", async () => {
    // Opening a FIFO for reading blocks until a writer comes: a command that read the file would hang.
    const folder = mkdtempSync(join(work, "fifo-"));
    const fifo = join(folder, "pipeops.json");
    expect(run(["mkfifo", fifo]).code).toBe(0);
    const seen: string[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => {
        seen.push(request.url);
        return new Response("{}");
      },
    });
    try {
      const env = {
        PATH: "/usr/bin:/bin",
        HOME: folder,
        PIPEOPS_CONFIG_PATH: fifo,
        PIPEOPS_API_URL: `http://127.0.0.1:${server.port}`,
        PIPEOPS_AUTH_TOKEN: "t",
      };
      for (const args of [["--version"], ["--help"], ["auth", "--help"], ["auth", "status", "--help"], ["auth", "login", "--help"]]) {
        const child = Bun.spawn([binary(), ...args], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 20_000 });
        const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
        expect({ args, code, signal: child.signalCode }).toEqual({ args, code: 0, signal: null });
        expect(stdout.length).toBeGreaterThan(0);
      }
    } finally {
      server.stop(true);
    }
    expect(seen).toEqual([]);
  });

  test("colour only on a terminal, and never with NO_COLOR", () => {
    const script = tool("script", "bsdutils");
    const home = mkdtempSync(join(work, "home-"));
    const onTerminal = (env: string) => run([script, "-qec", `env -i HOME=${home} ${env} ${binary()} auth status`, "/dev/null"]);
    expect(onTerminal("").stdout).toContain("\u001b[31m✗\u001b[39m Not authenticated");
    expect(onTerminal("NO_COLOR=1").stdout).toContain("✗ Not authenticated");
    expect(onTerminal("NO_COLOR=1").stdout).not.toContain("\u001b[");
    expect(run([binary(), "auth", "status"], { env: { HOME: home } }).stdout).not.toContain("\u001b[");
  });
});

/** exit(60) after `vpxor ymm0, ymm0, ymm0`: a static x86-64 ELF whose only point is an AVX2 instruction. */
function avx2Program(): Buffer {
  const code = [0xc5, 0xfd, 0xef, 0xc0, 0xb8, 0x3c, 0, 0, 0, 0xbf, 60, 0, 0, 0, 0x0f, 0x05];
  const size = 64 + 56 + code.length;
  const elf = Buffer.alloc(size);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(0x3e, 18); // x86-64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(0x400000n + 120n, 24); // entry: the code after the headers
  elf.writeBigUInt64LE(64n, 32); // program headers right after this one
  elf.writeUInt16LE(64, 52);
  elf.writeUInt16LE(56, 54);
  elf.writeUInt16LE(1, 56);
  elf.writeUInt32LE(1, 64); // PT_LOAD the whole file, read + execute
  elf.writeUInt32LE(5, 68);
  elf.writeBigUInt64LE(0x400000n, 80);
  elf.writeBigUInt64LE(0x400000n, 88);
  elf.writeBigUInt64LE(BigInt(size), 96);
  elf.writeBigUInt64LE(BigInt(size), 104);
  elf.writeBigUInt64LE(0x1000n, 112);
  elf.set(code, 120);
  return elf;
}

describe("CPUs and architectures we cannot run natively (qemu-user)", () => {
  test(
    "x64 runs on a CPU without AVX or AVX2 (qemu -cpu Nehalem), where an AVX2 instruction is fatal",
    () => {
      const qemu = tool("qemu-x86_64", "qemu-user");
      const avx2 = join(work, "avx2");
      writeFileSync(avx2, avx2Program(), { mode: 0o755 });
      // The control: qemu's Nehalem really refuses AVX2 (SIGILL), a Haswell runs it.
      expect(run([qemu, "-cpu", "Haswell", avx2]).code).toBe(60);
      expect(run([qemu, "-cpu", "Nehalem", avx2]).code).not.toBe(60);

      const result = run([qemu, "-cpu", "Nehalem", join(dir, "pipeops-linux-x64"), "--version"], { timeout: QEMU_TIMEOUT_MS });
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: versionLine });
    },
    QEMU_TIMEOUT_MS * 2,
  );

  test(
    "linux-arm64 runs --version under qemu-aarch64",
    () => {
      const qemu = tool("qemu-aarch64", "qemu-user");
      const sysroot = "/usr/aarch64-linux-gnu";
      if (!existsSync(join(sysroot, "lib", "ld-linux-aarch64.so.1"))) throw new Error(`${sysroot} is missing: apt-get install libc6-arm64-cross`);
      const result = run([qemu, "-L", sysroot, join(dir, "pipeops-linux-arm64"), "--version"], { timeout: QEMU_TIMEOUT_MS });
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: versionLine });
    },
    QEMU_TIMEOUT_MS,
  );
});

test("the release folder holds nothing but the binaries, the archives, SHA256SUMS and BUILD-INFO.json", () => {
  const expected = [...TARGETS.flatMap((t) => [binaryName(t), ...archiveNames(t)]), "SHA256SUMS", "BUILD-INFO.json"].sort();
  expect(readdirSync(dir).sort()).toEqual(expected);
});
