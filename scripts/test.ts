/**
 * `npm test`'s last step: `bun test` over the whole suite, then the groups it skipped, each with
 * why (test/helpers/requirements.ts records them), so a green run says what it did not run. In CI
 * (CI set) a skipped group fails the run: .ci/run installs everything the tests need.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const skips = mkdtempSync(join(tmpdir(), "pipeops-test-skips-"));
const child = Bun.spawn([process.execPath, "test", "--timeout", "60000", "--parallel", ...process.argv.slice(2)], {
  env: { ...process.env, PIPEOPS_TEST_SKIPS: skips },
  stdio: ["inherit", "inherit", "inherit"],
});
let code = await child.exited;
const skipped = readdirSync(skips)
  .map((name) => readFileSync(join(skips, name), "utf8").trim())
  .sort();
rmSync(skips, { recursive: true, force: true });
const ci = Boolean(process.env.CI) && process.env.CI !== "false";
if (skipped.length > 0) {
  console.log(`\n${skipped.length} test group${skipped.length === 1 ? "" : "s"} skipped:`);
  for (const line of skipped) console.log(`  ${line}`);
  if (ci) {
    console.log("In CI nothing may be skipped: install what is missing (scripts/system-deps.sh).");
    code ||= 1;
  }
} else {
  console.log("\nNo test group was skipped.");
}
process.exit(code);
