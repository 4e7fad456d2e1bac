/**
 * How the binary starts the browser under WSL (faked here with WSL_DISTRO_NAME and stand-in Windows
 * programs on PATH): the opener gets a one-shot loopback address as its one argument, through no
 * cmd.exe, and that address leads on to the sign-in URL as the server made it, whatever characters
 * it holds; a second request for the address ends the login.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startDevServer } from "../../scripts/dev-server.ts";
import { spawnBinary } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";
import { completeAuthorization } from "../helpers/flows.ts";
import { waitForFile } from "../helpers/interactive.ts";

/**
 * A standards server whose sign-in URL carries what cmd.exe would act on: |, %VAR% and ^ in its
 * path (a URL keeps them there as they are; the query is re-encoded), and the query's own &.
 */
const HOSTILE_PATH = "/authorize/|calc/%PATH%/^a";
let server: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const base = `http://127.0.0.1:${server.port}`;
      if (new URL(request.url).pathname === "/.well-known/oauth-authorization-server") {
        return Response.json({ issuer: base, authorization_endpoint: `${base}${HOSTILE_PATH}`, token_endpoint: `${base}/token` });
      }
      return new Response("not found", { status: 404 });
    },
  });
});
afterAll(() => server.stop(true));

/**
 * A folder of stand-in programs that write the arguments they got, one per line, to `<name>.argv`:
 * written aside and moved into place, so the file is whole once it is there to be read.
 */
function standIns(names: readonly string[]): string {
  const bin = tempDir();
  for (const name of names) {
    const script = join(bin, name);
    const argv = join(bin, `${name}.argv`);
    writeFileSync(script, `#!/bin/sh\nfor arg in "$@"; do printf '%s\\n' "$arg"; done > '${argv}.part'\nmv '${argv}.part' '${argv}'\nexit 0\n`);
    chmodSync(script, 0o755);
  }
  return bin;
}

/** The start address the opener was given, once it has been started. */
async function startAddress(argvFile: string): Promise<string> {
  const argv = (await waitForFile(argvFile)).split("\n").filter(Boolean);
  expect(argv).toHaveLength(1);
  return argv[0]!;
}

const START = /^http:\/\/127\.0\.0\.1:\d+\/start$/;

describe("under WSL (a Windows browser, which cannot read the user's files): a one-shot start address", () => {
  const envFor = (bin: string) => ({
    HOME: tempDir(),
    PATH: `${bin}:/usr/bin:/bin`,
    WSL_DISTRO_NAME: "Ubuntu",
    PIPEOPS_API_URL: `http://127.0.0.1:${server.port}`,
  });

  test("wslview gets the address as its one argument, holding no state or challenge; it leads on to the sign-in URL as is; cmd.exe is never started", async () => {
    const bin = standIns(["wslview", "cmd.exe", "explorer.exe"]);
    const cli = spawnBinary(["auth", "login", "--timeout", "2"], { env: envFor(bin) });
    const address = await startAddress(join(bin, "wslview.argv"));
    expect(address).toMatch(START);
    const redirect = await fetch(address, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get("location")!;
    // | and %PATH% stay raw in a URL (Bun encodes ^ in a path, as WebKit does); the state is here, not in argv.
    expect(location).toContain("/authorize/|calc/%PATH%/");
    expect(new URL(location).searchParams.get("state")).toBeTruthy();
    expect(new URL(location).origin).toBe(`http://127.0.0.1:${server.port}`);
    expect((await cli.result).code).toBe(1);
    expect(existsSync(join(bin, "cmd.exe.argv"))).toBe(false);
  });

  test("a second request for the start address ends the login at once, saying someone else on this machine asked for it", async () => {
    const bin = standIns(["wslview"]);
    const started = Date.now();
    const cli = spawnBinary(["auth", "login", "--timeout", "60"], { env: envFor(bin) });
    const address = await startAddress(join(bin, "wslview.argv"));
    // Another user, racing the browser for it (or the browser, after them): either way, the login stops.
    expect((await fetch(address, { redirect: "manual" })).status).toBe(302);
    const second = await fetch(address, { redirect: "manual" });
    expect(second.status).toBe(409);
    const result = await cli.result;
    expect(result.code).toBe(1);
    expect(result.stderr).toEndWith(
      "Error: the sign-in was stopped: its start address was asked for twice, so someone else on this machine may have it\n" +
        "Run 'pipeops auth login' again; if this happens again, another user of this machine is watching for sign-ins: use --no-browser, or PIPEOPS_AUTH_TOKEN\n",
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test("someone who asks first and calls back at once with their own code still loses: the browser's request, second, ends the login; nothing is stored", async () => {
    const dev = await startDevServer({ port: 0 });
    try {
      const bin = standIns(["wslview"]);
      const env = { ...envFor(bin), PIPEOPS_API_URL: dev.url };
      const cli = spawnBinary(["auth", "login", "--timeout", "60"], { env });
      const address = await startAddress(join(bin, "wslview.argv"));
      // The other user: first to the start address, through a whole sign-in of their own, straight to the callback.
      const location = (await fetch(address, { redirect: "manual" })).headers.get("location")!;
      const callback = completeAuthorization(location).then((back) => fetch(back));
      // The user's browser, a moment later.
      await Bun.sleep(300);
      expect((await fetch(address, { redirect: "manual" })).status).toBe(409);
      expect(await (await callback).text()).toContain("This sign-in was stopped");
      const result = await cli.result;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Error: the sign-in was stopped: its start address was asked for twice");
      expect(existsSync(join(env.HOME, ".pipeops.json"))).toBe(false);
      expect(dev.stats.authorizationCodeGrants).toBe(0);
    } finally {
      await dev.close();
    }
  });

  test("without wslview: explorer.exe gets the address as its one argument, and cmd.exe is never started", async () => {
    const bin = standIns(["cmd.exe", "explorer.exe"]);
    const cli = spawnBinary(["auth", "login", "--timeout", "2"], { env: envFor(bin) });
    expect(await startAddress(join(bin, "explorer.exe.argv"))).toMatch(START);
    const result = await cli.result;
    expect(result.code).toBe(1);
    expect(existsSync(join(bin, "cmd.exe.argv"))).toBe(false);
    // explorer.exe answers 1 even when it opened the page: no "could not open" for that.
    expect(result.stderr).not.toContain("Could not open a browser");
  });
});
