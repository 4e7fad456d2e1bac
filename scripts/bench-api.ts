/**
 * `pipeops api` beside curl, against the local PipeOps-shaped server, with the same service token:
 * the wall time of `pipeops api oauth/userinfo` and `curl` in interleaved pairs (medians), the
 * requests each call sends, and the peak RSS of a 1 MiB and a 512 MiB body streamed to a file.
 * Part of `npm run bench`; also `bun scripts/bench-api.ts [--runs N]`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startPipeOpsServer } from "./pipeops-server.ts";

/** The issue's target: within 1.5x of curl, one request per call. */
export const API_LIMITS = { wallRatio: 1.5, requestsPerCall: 1 };

export interface ApiBench {
  runs: number;
  pipeopsMs: number;
  curlMs: number;
  requestsPerCall: number;
  rssSmallBytes: number;
  rssLargeBytes: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One run, awaited (not spawnSync: the server answers from this same process). */
async function timed(argv: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn(argv, { env, stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  const code = await child.exited;
  if (code !== 0) throw new Error(`${argv[0]} exited ${code}`);
  return performance.now() - started;
}

/** Peak RSS from GNU time (see scripts/bench.ts: a Bun parent's own high-water mark would show instead). */
async function peakRss(argv: string[], env: Record<string, string>, dir: string): Promise<number> {
  const out = join(dir, "rss");
  const child = Bun.spawn(["/usr/bin/time", "-f", "%M", "-o", out, ...argv], { env, stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  if ((await child.exited) !== 0) throw new Error(`${argv.join(" ")} failed`);
  return Number(readFileSync(out, "utf8").trim().split("\n").pop()) * 1024;
}

export async function benchApi(binary: string, runs: number): Promise<ApiBench> {
  const server = await startPipeOpsServer();
  const dir = mkdtempSync(join(tmpdir(), "pipeops-bench-api-"));
  try {
    const token = server.issueServiceToken();
    const env = { PATH: "/usr/bin:/bin", HOME: dir, PIPEOPS_API_URL: server.url, PIPEOPS_TOKEN: token };
    // curl reads the header from a file: no token in any process's arguments, here either.
    const header = join(dir, "header");
    writeFileSync(header, `Authorization: Bearer ${token}\n`, { mode: 0o600 });
    const pipeops = [binary, "api", "oauth/userinfo"];
    const curl = ["curl", "-sSf", "-H", `@${header}`, "-H", "Accept: application/json", `${server.url}/oauth/userinfo`];
    const before = server.requests.length;
    await timed(pipeops, env);
    const requestsPerCall = server.requests.length - before;
    const pairs: [number, number][] = [];
    for (let round = 0; round < 5 + runs; round++) {
      // Alternating which goes first, so neither always runs on a warmer machine.
      let ours: number;
      let theirs: number;
      if (round % 2) {
        theirs = await timed(curl, env);
        ours = await timed(pipeops, env);
      } else {
        ours = await timed(pipeops, env);
        theirs = await timed(curl, env);
      }
      if (round >= 5) pairs.push([ours, theirs]);
    }
    const logs = (bytes: number) => [binary, "api", `project/logs/bench?bytes=${bytes}`];
    return {
      runs,
      pipeopsMs: median(pairs.map(([ms]) => ms)),
      curlMs: median(pairs.map(([, ms]) => ms)),
      requestsPerCall,
      rssSmallBytes: await peakRss(logs(1024 * 1024), env, dir),
      rssLargeBytes: await peakRss(logs(512 * 1024 * 1024), env, dir),
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function formatApiBench(result: ApiBench): string {
  const ratio = result.pipeopsMs / result.curlMs;
  return [
    `pipeops api against the local PipeOps-shaped server, beside curl with the same token (${result.runs} interleaved pairs, medians):`,
    "",
    "| call | wall time | ratio | requests |",
    "| --- | ---: | ---: | ---: |",
    `| curl /oauth/userinfo | ${result.curlMs.toFixed(1)} ms | 1.00x | 1 |`,
    `| pipeops api oauth/userinfo | ${result.pipeopsMs.toFixed(1)} ms | ${ratio.toFixed(2)}x | ${result.requestsPerCall} |`,
    "",
    `Streamed to a file, peak RSS: 1 MiB body ${mb(result.rssSmallBytes)}, 512 MiB body ${mb(result.rssLargeBytes)}.`,
    "",
    `${ratio <= API_LIMITS.wallRatio ? "ok  " : "OVER"} pipeops api beside curl: ${ratio.toFixed(2)}x <= ${API_LIMITS.wallRatio}x`,
    `${result.requestsPerCall === API_LIMITS.requestsPerCall ? "ok  " : "OVER"} requests per call: ${result.requestsPerCall}`,
    // Flat: the fetch's own buffers (tens of MB, the same for 256 MiB as for 1 GiB), never the body.
    `${result.rssLargeBytes - result.rssSmallBytes < 96 * 1024 * 1024 ? "ok  " : "OVER"} streaming: 511 MiB more body, ${mb(result.rssLargeBytes - result.rssSmallBytes)} more memory (< 96 MB)`,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "40" }, binary: { type: "string", default: "dist/pipeops" } } });
  console.log(formatApiBench(await benchApi(values.binary, Number(values.runs))));
}
