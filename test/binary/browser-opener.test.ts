/**
 * How the binary starts the browser where a shell would parse the URL: under WSL (faked here with
 * WSL_DISTRO_NAME and stand-in Windows programs on PATH) the URL reaches the opener as one argument,
 * through no cmd.exe, whatever characters a server put in its sign-in URL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBinary } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";

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

/** A folder of stand-in programs that write the arguments they got, one per line, to `<name>.argv`. */
function standIns(names: readonly string[]): string {
  const bin = tempDir();
  for (const name of names) {
    const script = join(bin, name);
    writeFileSync(script, `#!/bin/sh\nfor arg in "$@"; do printf '%s\\n' "$arg"; done > '${join(bin, `${name}.argv`)}'\nexit 0\n`);
    chmodSync(script, 0o755);
  }
  return bin;
}

describe("under WSL", () => {
  test("wslview gets the URL as its one argument; cmd.exe is never started", async () => {
    const bin = standIns(["wslview", "cmd.exe", "explorer.exe"]);
    const result = await runBinary(["auth", "login", "--timeout", "2"], {
      env: { HOME: tempDir(), PATH: `${bin}:/usr/bin:/bin`, WSL_DISTRO_NAME: "Ubuntu", PIPEOPS_API_URL: `http://127.0.0.1:${server.port}` },
    });
    expect(result.code).toBe(1);
    const argv = readFileSync(join(bin, "wslview.argv"), "utf8").split("\n").filter(Boolean);
    expect(argv).toHaveLength(1);
    // | and %PATH% stay raw in a URL (Bun encodes ^ in a path, as WebKit does).
    expect(argv[0]).toContain("/authorize/|calc/%PATH%/");
    expect(argv[0]).toContain("&");
    expect(new URL(argv[0]!).origin).toBe(`http://127.0.0.1:${server.port}`);
    expect(existsSync(join(bin, "cmd.exe.argv"))).toBe(false);
  });

  test("without wslview: explorer.exe gets the URL as its one argument, and cmd.exe is never started", async () => {
    const bin = standIns(["cmd.exe", "explorer.exe"]);
    const result = await runBinary(["auth", "login", "--timeout", "2"], {
      env: { HOME: tempDir(), PATH: `${bin}:/usr/bin:/bin`, WSL_DISTRO_NAME: "Ubuntu", PIPEOPS_API_URL: `http://127.0.0.1:${server.port}` },
    });
    expect(result.code).toBe(1);
    const argv = readFileSync(join(bin, "explorer.exe.argv"), "utf8").split("\n").filter(Boolean);
    expect(argv).toHaveLength(1);
    // | and %PATH% stay raw in a URL (Bun encodes ^ in a path, as WebKit does).
    expect(argv[0]).toContain("/authorize/|calc/%PATH%/");
    expect(argv[0]).toContain("&");
    expect(existsSync(join(bin, "cmd.exe.argv"))).toBe(false);
    // explorer.exe answers 1 even when it opened the page: no "could not open" for that.
    expect(result.stderr).not.toContain("Could not open a browser");
  });
});
