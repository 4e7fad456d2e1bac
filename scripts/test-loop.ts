/**
 * Runs the test suite again and again, to find tests that fail only sometimes:
 * `bun scripts/test-loop.ts [--runs 20]` (after `npm run build`). Prints one line a run and a
 * summary; exits 1 when any run failed, naming the tests that did.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive whole number");

const failures = new Map<string, number>();
const seconds: number[] = [];
for (let run = 1; run <= runs; run++) {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, "test", "--timeout", "60000", "--parallel"], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const elapsed = (performance.now() - started) / 1000;
  seconds.push(elapsed);
  const output = stdout + stderr;
  const failed = [...new Set([...output.matchAll(/^\(fail\) (.+?)(?: \[[\d.]+m?s\])?$/gm)].map((match) => match[1]!))];
  for (const name of failed) failures.set(name, (failures.get(name) ?? 0) + 1);
  const summary = /^ (\d+) pass\n (\d+) fail/m.exec(output);
  console.log(`run ${run}/${runs}: exit ${code}, ${summary ? `${summary[1]} pass, ${summary[2]} fail` : "no summary"}, ${elapsed.toFixed(1)} s`);
  // A failing run's names at once, and its whole output kept to read why.
  if (code !== 0) {
    const saved = join(tmpdir(), `pipeops-test-loop-run-${run}.log`);
    writeFileSync(saved, output);
    for (const name of failed) console.log(`  failed: ${name}`);
    console.log(`  output: ${saved}`);
  }
}
seconds.sort((a, b) => a - b);
console.log(
  `\n${runs} runs: ${failures.size === 0 ? "no test failed" : `${failures.size} test(s) failed`}; median ${seconds[Math.floor(runs / 2)]!.toFixed(1)} s, slowest ${seconds.at(-1)!.toFixed(1)} s`,
);
for (const [name, count] of failures) console.log(`  ${count}x ${name}`);
process.exit(failures.size === 0 ? 0 : 1);
