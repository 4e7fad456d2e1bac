/** The README's first command: `npm run demo` (and `-- --pipeops`) run start to finish against the bundled servers. */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { ROOT, runProgram } from "../helpers/binary.ts";

setDefaultTimeout(120_000);

const demo = (args: string[]) => runProgram([process.execPath, join(ROOT, "scripts", "demo.ts"), ...args], { cwd: ROOT, timeoutMs: 120_000 });

describe("npm run demo", () => {
  test("against the standards server: a device login, then status, me and logout", async () => {
    const result = await demo([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("\n$ pipeops auth login --no-browser\nPlease open this URL in your browser to authenticate:\n");
    expect(result.stdout).toContain("✓ Successfully authenticated as user@example.com\n");
    expect(result.stdout).toContain("\nOrganization: Acme Corp\n");
    expect(result.stdout).toEndWith("Demo finished: login, status, me and logout all worked.\n");
  });

  test("-- --pipeops: the console's sign-in, the address pasted back, then status, me and logout", async () => {
    const result = await demo(["--pipeops"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /\nWaiting for authentication\.\.\.\n# a scripted user .*\nhttp:\/\/localhost:\d+\/callback\?state=\S+&code=\S+\n✓ Successfully authenticated as user@example.com\n/,
    );
    expect(result.stdout).toEndWith("Demo finished: login, status, me and logout all worked.\n");
  });
});
