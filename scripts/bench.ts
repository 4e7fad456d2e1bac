/**
 * Start-up, size and memory of the shipped binary against a one-line program built the same way:
 * `npm run bench [-- --runs 40] [-- --variants]`.
 *
 * Runs are interleaved (one of each program per round) so load from other processes on a shared
 * machine falls on every program alike; the table reports medians over the rounds after warm-up,
 * and the median peak RSS of 10 of those rounds (measured with GNU time).
 * `--variants` repeats the comparison for plain, --minify, --splitting and --bytecode (at three
 * depths), which is how the release flags in scripts/build.ts were chosen. Then the requests each
 * command sends, and its wall time with 100 ms added to every request (scripts/latency.ts); then
 * `pipeops api` beside curl, and its memory with a large body (scripts/bench-api.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchApi, formatApiBench, median } from "./bench-api.ts";
import { type BuildFlags, build, RELEASE_FLAGS } from "./build.ts";
import { formatLatency, measureLatency } from "./latency.ts";
import { formatModules, modulesLoaded } from "./modules-loaded.ts";

/**
 * The targets: start-up at most 1.2x the one-liner, on a pipe and at a terminal alike; peak RSS at
 * most 1.3x; the binary at most 3 MiB larger than the one-liner (under 3% of the runtime it carries).
 */
export const LIMITS = { startupRatio: 1.2, rssRatio: 1.3, overheadBytes: 3 * 1024 * 1024 };

const OUT = "dist/bench";
const WARMUP = 5;

interface Sample {
  ms: number;
  cpuMs: number;
}

export interface Measurement {
  name: string;
  wallMs: number;
  cpuMs: number;
  rssBytes: number;
}

interface Case {
  name: string;
  argv: string[];
  expectCode: number;
  expectOut: RegExp;
}

function runOnce(argv: string[], env: Record<string, string>): Sample & { code: number; stdout: string } {
  const started = performance.now();
  const child = Bun.spawnSync(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - started;
  return { ms, cpuMs: Number(child.resourceUsage.cpuTime.total) / 1000, code: child.exitCode, stdout: child.stdout.toString() };
}

/**
 * Peak RSS in bytes, from GNU time (Debian package `time`). Bun's own resourceUsage().maxRSS
 * cannot be used: Linux keeps the parent's high-water mark across exec, so every child of a
 * Bun process reports at least Bun's own ~27 MB; GNU time forks from a 1 MB process.
 */
function peakRss(argv: string[], env: Record<string, string>, dir: string): number {
  const time = Bun.which("time", { PATH: "/usr/bin:/bin" });
  if (!time) throw new Error("GNU time is missing: apt-get install time");
  const out = join(dir, "rss");
  Bun.spawnSync([time, "-f", "%M", "-o", out, ...argv], { env, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  return Number(readFileSync(out, "utf8").trim().split("\n").pop()) * 1024;
}

/** Medians of `runs` interleaved rounds after a warm-up; each case is checked once for the expected output. */
export function measure(cases: Case[], runs: number, env: Record<string, string>): Measurement[] {
  for (const c of cases) {
    const first = runOnce(c.argv, env);
    if (first.code !== c.expectCode || !c.expectOut.test(first.stdout)) {
      throw new Error(`${c.name}: exit ${first.code}, output ${JSON.stringify(first.stdout)}; expected exit ${c.expectCode} and ${c.expectOut}`);
    }
  }
  const samples = cases.map(() => [] as Sample[]);
  const rss = cases.map(() => [] as number[]);
  const dir = mkdtempSync(join(tmpdir(), "pipeops-bench-rss-"));
  try {
    for (let round = 0; round < WARMUP + runs; round++) {
      cases.forEach((c, i) => {
        const sample = runOnce(c.argv, env);
        if (round < WARMUP) return;
        samples[i]!.push(sample);
        if (round < WARMUP + 10) rss[i]!.push(peakRss(c.argv, env, dir));
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return cases.map((c, i) => ({
    name: c.name,
    wallMs: median(samples[i]!.map((s) => s.ms)),
    cpuMs: median(samples[i]!.map((s) => s.cpuMs)),
    rssBytes: median(rss[i]!),
  }));
}

/**
 * Wall times at a terminal: each run in a new pseudo-terminal (stdin, stdout and stderr on it), so
 * colour is on, as for most people who type the command. Medians of interleaved runs after warm-up.
 */
export async function measureAtTerminal(cases: Case[], runs: number, env: Record<string, string>): Promise<{ name: string; wallMs: number }[]> {
  const samples = cases.map(() => [] as number[]);
  for (let round = 0; round < WARMUP + runs; round++) {
    for (const [i, c] of cases.entries()) {
      let screen = "";
      const decoder = new TextDecoder();
      const terminal = new Bun.Terminal({
        data: (_terminal, data) => {
          screen += decoder.decode(data, { stream: true });
        },
      });
      const started = performance.now();
      const code = await Bun.spawn(c.argv, { env: { ...env, TERM: "xterm" }, terminal }).exited;
      const ms = performance.now() - started;
      if (round === 0) {
        // The terminal's output can arrive just after the exit: wait for it once, to check the run.
        for (let waited = 0; !c.expectOut.test(screen) && waited < 2000; waited += 20) await Bun.sleep(20);
        if (code !== c.expectCode || !c.expectOut.test(screen)) {
          throw new Error(`${c.name} at a terminal: exit ${code}, output ${JSON.stringify(screen)}; expected exit ${c.expectCode} and ${c.expectOut}`);
        }
      }
      terminal.close();
      if (round >= WARMUP) samples[i]!.push(ms);
    }
  }
  return cases.map((c, i) => ({ name: c.name, wallMs: median(samples[i]!) }));
}

export interface BenchReport {
  flags: BuildFlags;
  binaryBytes: number;
  oneLinerBytes: number;
  rows: Measurement[];
  terminalRows: { name: string; wallMs: number }[];
}

/** Builds pipeops and the one-liner with the same flags, then measures both. */
export async function bench(flags: BuildFlags, runs: number, pipeopsOut = join(OUT, "pipeops")): Promise<BenchReport> {
  mkdirSync(OUT, { recursive: true });
  const oneLinerSource = join(OUT, "one-line.ts");
  writeFileSync(oneLinerSource, 'console.log("pipeops");\n');
  const oneLiner = join(OUT, "one-line");
  await build({ entry: oneLinerSource, outfile: oneLiner, ...flags, quiet: true });
  await build({ outfile: pipeopsOut, ...flags, quiet: true });

  // The offline path of `auth status`: an empty HOME, no token in the environment.
  const home = mkdtempSync(join(tmpdir(), "pipeops-bench-"));
  try {
    const env = { PATH: "/usr/bin:/bin", HOME: home, TZ: "UTC" };
    const cases: Case[] = [
      { name: "one-line program", argv: [oneLiner], expectCode: 0, expectOut: /^pipeops\r?\n$/ },
      { name: "pipeops --version", argv: [pipeopsOut, "--version"], expectCode: 0, expectOut: /^pipeops \S+ \(commit \S+\)\r?\n$/ },
      { name: "pipeops auth status", argv: [pipeopsOut, "auth", "status"], expectCode: 1, expectOut: /Not authenticated/ },
    ];
    const rows = measure(cases, runs, env);
    const terminalRows = await measureAtTerminal(cases, runs, env);
    return { flags, binaryBytes: statSync(pipeopsOut).size, oneLinerBytes: statSync(oneLiner).size, rows, terminalRows };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function describeFlags(flags: BuildFlags): string {
  const depth = flags.bytecode && flags.bytecodeDepth !== undefined && `--bytecode-depth=${flags.bytecodeDepth}`;
  const jit = flags.jitPolicy !== undefined && `--compile-jit-policy=${flags.jitPolicy}`;
  const names = [flags.minify && "--minify", flags.bytecode && "--bytecode", depth, flags.splitting && "--splitting", jit].filter(Boolean);
  return names.length ? names.join(" ") : "none of --minify, --bytecode, --splitting";
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A Markdown table, ready for the README. */
export function formatReport(report: BenchReport, runs: number): string {
  const base = report.rows[0]!;
  const lines = [
    `Build flags: ${describeFlags(report.flags)}; ${runs} interleaved runs after ${WARMUP} warm-up runs, medians.`,
    "",
    "| program | wall time | ratio | CPU time | peak RSS | ratio |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of report.rows) {
    lines.push(
      `| ${row.name} | ${row.wallMs.toFixed(1)} ms | ${(row.wallMs / base.wallMs).toFixed(2)}x | ${row.cpuMs.toFixed(1)} ms | ${mb(row.rssBytes)} | ${(row.rssBytes / base.rssBytes).toFixed(2)}x |`,
    );
  }
  const terminalBase = report.terminalRows[0]!;
  lines.push("", "At a terminal (a new pseudo-terminal for each run, colour on):", "", "| program | wall time | ratio |", "| --- | ---: | ---: |");
  for (const row of report.terminalRows) {
    lines.push(`| ${row.name} | ${row.wallMs.toFixed(1)} ms | ${(row.wallMs / terminalBase.wallMs).toFixed(2)}x |`);
  }
  const overhead = report.binaryBytes - report.oneLinerBytes;
  lines.push("", `Binary: ${mb(report.binaryBytes)}; one-liner: ${mb(report.oneLinerBytes)}; pipeops adds ${kb(overhead)}.`);
  const checks = [
    ...report.rows
      .slice(1)
      .map(
        (row) =>
          [
            `startup ${row.name}`,
            row.wallMs / base.wallMs <= LIMITS.startupRatio,
            `${(row.wallMs / base.wallMs).toFixed(2)}x <= ${LIMITS.startupRatio}x`,
          ] as const,
      ),
    ...report.rows
      .slice(1)
      .map(
        (row) =>
          [
            `peak RSS ${row.name}`,
            row.rssBytes / base.rssBytes <= LIMITS.rssRatio,
            `${(row.rssBytes / base.rssBytes).toFixed(2)}x <= ${LIMITS.rssRatio}x`,
          ] as const,
      ),
    ...report.terminalRows
      .slice(1)
      .map(
        (row) =>
          [
            `startup at a terminal ${row.name}`,
            row.wallMs / terminalBase.wallMs <= LIMITS.startupRatio,
            `${(row.wallMs / terminalBase.wallMs).toFixed(2)}x <= ${LIMITS.startupRatio}x`,
          ] as const,
      ),
    ["binary size over the one-liner", overhead <= LIMITS.overheadBytes, `${kb(overhead)} <= ${kb(LIMITS.overheadBytes)}`] as const,
  ];
  lines.push("", ...checks.map(([name, ok, detail]) => `${ok ? "ok  " : "OVER"} ${name}: ${detail}`));
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "40" }, variants: { type: "boolean", default: false }, "session-only": { type: "boolean", default: false } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 30) throw new Error("--runs must be a whole number of at least 30");
  if (values["session-only"]) {
    // Only the rows with a session, against dist/pipeops as it is: for a quick look while working on them.
    const { benchSession, formatSession } = await import("./bench-session.ts");
    console.log(formatSession(await benchSession("dist/pipeops", RELEASE_FLAGS, runs, join(OUT, "session")), runs));
    process.exit(0);
  }
  const variants: BuildFlags[] = values.variants
    ? [
        { minify: false, bytecode: false, splitting: false },
        { minify: true, bytecode: false, splitting: false },
        { minify: false, bytecode: false, splitting: true },
        { minify: true, bytecode: false, splitting: true },
        { minify: true, bytecode: true, splitting: true },
        // Only top-level code, or one level of functions, ahead of time: smaller bytecode.
        { minify: true, bytecode: true, splitting: true, bytecodeDepth: 0 },
        { minify: true, bytecode: true, splitting: true, bytecodeDepth: 1 },
        // The release's: the JIT kept out of runs this short.
        RELEASE_FLAGS,
      ]
    : [RELEASE_FLAGS];
  for (const flags of variants) {
    // Variants go next to the one-liner; the default run measures dist/pipeops itself.
    const out = values.variants ? join(OUT, "pipeops") : "dist/pipeops";
    console.log(formatReport(await bench(flags, runs, out), runs));
    console.log("");
  }
  // What the two measured paths load: a module that joins them shows here, and in review.
  console.log("Modules each path loads (their bundled, unminified size):");
  for (const args of [["--version"], ["auth", "status"]]) console.log(`- ${formatModules(`pipeops ${args.join(" ")}`, await modulesLoaded(args))}`);
  console.log("");
  if (!values.variants) {
    const { benchSession, formatSession } = await import("./bench-session.ts");
    console.log(formatSession(await benchSession("dist/pipeops", RELEASE_FLAGS, runs, join(OUT, "session")), runs));
    console.log("");
    console.log(formatLatency(await measureLatency("dist/pipeops")));
    console.log("");
    console.log(formatApiBench(await benchApi("dist/pipeops", runs)));
  }
}
