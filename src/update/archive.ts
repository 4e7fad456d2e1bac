/**
 * The archive `pipeops update` installs, picked as scripts/install.sh picks it (OS, CPU, musl, and
 * the .tar.xz where xz is installed, else the .tar.gz; the .zip on Windows), downloaded with a
 * progress bar at a terminal, checked against the signed SHA256SUMS, and unpacked in memory.
 */
import type { Context } from "../context.ts";
import { CliError } from "../errors.ts";
import { animateProgress, CLEAR_LINE, fitLine } from "../io/progress.ts";
import { fileStatus, findOnPath, privateTempFile } from "../runtime/fs.ts";
import { joinChunks } from "../server/http.ts";
import { getFollowing, type Release, releaseRefused } from "./release.ts";
import { BUILD_TARGET } from "./stamp.ts";

export interface ArchiveChoice {
  name: string;
  kind: "tar.xz" | "tar.gz" | "zip";
  /** The binary's name inside it. */
  member: string;
}

/** The release target of this machine: the one this binary was built as, else what install.sh would detect. */
export async function releaseTarget(ctx: Pick<Context, "platform">, arch: string): Promise<string> {
  if (BUILD_TARGET) return BUILD_TARGET;
  const os = ctx.platform === "win32" ? "windows" : ctx.platform;
  const cpu = arch === "arm64" ? "arm64" : arch === "x64" ? "x64" : undefined;
  if ((os !== "linux" && os !== "darwin" && os !== "windows") || !cpu) {
    throw new CliError("server", `there is no pipeops release for ${ctx.platform} on ${arch}`, "pipeops runs on Linux, macOS and Windows, on x64 and ARM64");
  }
  // musl (Alpine): its loader is there.
  const musl = os === "linux" && (await fileStatus(`/lib/ld-musl-${cpu === "arm64" ? "aarch64" : "x86_64"}.so.1`).catch(() => null)) !== null;
  return `${os}-${cpu}${musl ? "-musl" : ""}`;
}

export async function archiveFor(ctx: Pick<Context, "env">, target: string): Promise<ArchiveChoice> {
  if (target.startsWith("windows-")) return { name: `pipeops-${target}.zip`, kind: "zip", member: "pipeops.exe" };
  const xz = await findOnPath("xz", ctx.env.PATH);
  return xz ? { name: `pipeops-${target}.tar.xz`, kind: "tar.xz", member: "pipeops" } : { name: `pipeops-${target}.tar.gz`, kind: "tar.gz", member: "pipeops" };
}

/** Far more than an archive of the binary is (about 40-50 MB). */
const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;
const REDRAW_MS = 100;

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/**
 * The archive's bytes. At a terminal that takes animation, a bar on stderr: bytes so far and in all,
 * the rate and the time left, fitted to its width and cleared at the end; nothing on a pipe or in CI.
 */
export async function download(ctx: Context, release: Release, archive: ArchiveChoice): Promise<Uint8Array> {
  const url = `${release.base}/${archive.name}`;
  const response = await getFollowing(ctx, url, { stream: true });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new CliError("server", `could not download ${url} (HTTP ${response.status})`);
  }
  const declared = Number(response.headers.get("content-length")) || undefined;
  if (declared !== undefined && declared > MAX_ARCHIVE_BYTES) throw releaseRefused(release.base, `${archive.name} is too large`);
  const bar = animateProgress(ctx.env, ctx.stderr.isTTY) && !ctx.stderr.quiet;
  const started = Date.now();
  let drawnAt = 0;
  const draw = (received: number) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = received / seconds;
    const total = declared ? ` / ${megabytes(declared)} MB` : " MB";
    const left = declared && rate > 0 ? `, ${Math.ceil((declared - received) / rate)} s left` : "";
    const share = declared ? Math.min(received / declared, 1) : 0;
    const cells = 20;
    const filled = "█".repeat(Math.round(share * cells)).padEnd(cells, "░");
    const text = `${megabytes(received)}${total}, ${megabytes(rate)} MB/s${left}`;
    ctx.stderr.write(`${CLEAR_LINE}${fitLine([`Downloading ${archive.name} ${filled} ${text}`, `${filled} ${text}`, text], ctx.terminalSize()?.columns)}`);
  };
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > MAX_ARCHIVE_BYTES) throw releaseRefused(release.base, `${archive.name} is too large`);
      chunks.push(value);
      if (bar && Date.now() - drawnAt >= REDRAW_MS) {
        drawnAt = Date.now();
        draw(received);
      }
    }
  } finally {
    if (bar && drawnAt > 0) ctx.stderr.write(CLEAR_LINE);
    reader.releaseLock();
  }
  return joinChunks(chunks, received);
}

/** The archive matches its line in the signed SHA256SUMS, or it is refused. */
export async function checkArchive(release: Release, archive: ArchiveChoice, bytes: Uint8Array): Promise<void> {
  const expected = release.sums.get(archive.name);
  if (!expected) throw releaseRefused(release.base, `its signed SHA256SUMS lists no ${archive.name}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
  const actual = [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  if (actual !== expected) throw releaseRefused(release.base, `${archive.name} does not match its checksum (expected ${expected}, got ${actual})`);
}

async function inflate(bytes: Uint8Array, format: "gzip" | "deflate-raw"): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** xz has no decoder on the web platform: the system's xz (install.sh uses it the same way), reading the archive from a private file. */
async function unxz(ctx: Context, bytes: Uint8Array): Promise<Uint8Array> {
  const file = await privateTempFile("pipeops.tar.xz", bytes);
  try {
    const result = await ctx.capture(["xz", "-dc", file.path], { timeoutMs: 120_000, maxBytes: MAX_ARCHIVE_BYTES * 4 });
    if (result.code !== 0) throw new CliError("server", "xz could not unpack the archive");
    return result.stdout;
  } finally {
    await file.remove();
  }
}

/** One member of a ustar archive (POSIX.1-1988): 512-byte headers, each followed by its data in 512-byte blocks. */
export function tarMember(tar: Uint8Array, member: string): Uint8Array | undefined {
  const text = (from: number, length: number) => new TextDecoder().decode(tar.subarray(from, from + length)).replace(/\0.*$/s, "");
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const name = text(offset, 100);
    if (name === "") return undefined;
    const prefix = text(offset + 345, 155);
    const size = Number.parseInt(text(offset + 124, 12).trim() || "0", 8);
    const type = text(offset + 156, 1);
    const full = prefix ? `${prefix}/${name}` : name;
    const data = offset + 512;
    if (!Number.isFinite(size) || size < 0 || data + size > tar.length) return undefined;
    if ((type === "0" || type === "") && full.replace(/^\.\//, "") === member) return tar.slice(data, data + size);
    offset = data + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** The one file of a zip as release.ts writes it: a local header, then the deflated data. */
function zipMember(zip: Uint8Array, member: string): Promise<Uint8Array> | undefined {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  if (zip.length < 30 || view.getUint32(0, true) !== 0x04034b50 || view.getUint16(8, true) !== 8) return undefined;
  const compressed = view.getUint32(18, true);
  const nameLength = view.getUint16(26, true);
  const extra = view.getUint16(28, true);
  if (new TextDecoder().decode(zip.subarray(30, 30 + nameLength)) !== member) return undefined;
  const start = 30 + nameLength + extra;
  return inflate(zip.subarray(start, start + compressed), "deflate-raw");
}

/** The binary inside the archive. */
export async function unpack(ctx: Context, archive: ArchiveChoice, bytes: Uint8Array): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  if (archive.kind === "zip") binary = await zipMember(bytes, archive.member);
  else binary = tarMember(archive.kind === "tar.gz" ? await inflate(bytes, "gzip") : await unxz(ctx, bytes), archive.member);
  if (!binary || binary.length === 0) throw new CliError("server", `${archive.name} holds no ${archive.member}`);
  return binary;
}
