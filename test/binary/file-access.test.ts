/**
 * What the commands scripts run in loops do to the files in HOME, traced with strace on the compiled
 * binary: with a session that needs no refresh, the credential file is opened once, read-only, and
 * nothing is created, written or locked. (#33: strace of `auth token` showed the file opened twice,
 * once read-write.) Against both local servers; the server cache is learned first, as any second
 * command finds it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { BINARY, runBinary, runProgram } from "../helpers/binary.ts";
import { homeWithSession, tempDir } from "../helpers/context.ts";
import { loginWithAuthorizationCode } from "../helpers/flows.ts";
import { describeNeeding } from "../helpers/requirements.ts";

let pipeops: PipeOpsServer;
let standard: DevServer;

beforeAll(async () => {
  [pipeops, standard] = await Promise.all([startPipeOpsServer(), startDevServer({ port: 0 })]);
});
afterAll(async () => {
  await pipeops?.close();
  await standard?.close();
});

interface Open {
  path: string;
  flags: string;
}

/** The files under `home` the command opened (openat, open, creat), with their flags, and its exit code. */
async function tracedOpens(args: string[], env: Record<string, string>, home: string): Promise<{ code: number; opens: Open[]; stdout: string }> {
  const log = join(tempDir(), "trace");
  const result = await runProgram(["strace", "-f", "-qq", "-o", log, "-e", "trace=open,openat,creat,mkdir,rename,unlink,link", BINARY, ...args], { env });
  const opens: Open[] = [];
  for (const line of readFileSync(log, "utf8").split("\n")) {
    const call = /\b(?:openat|open|creat|mkdir|rename|unlink|link)\((?:AT_FDCWD, )?"([^"]*)"(?:, ([A-Z_|]+))?/.exec(line);
    if (call && call[1]!.startsWith(home)) opens.push({ path: call[1]!, flags: call[2] ?? line.replace(/^\d+\s+/, "").split("(")[0]! });
  }
  return { code: result.code, opens, stdout: result.stdout };
}

/** Each command a script runs with a session, as the bench measures them; `userinfo`: the API path of the server's userinfo. */
async function expectOneReadOnlyOpen(env: Record<string, string>, home: string, file: string, userinfo: string): Promise<void> {
  // The server's kind is learned once (and cached), as by the login that stored the session.
  expect((await runBinary(["auth", "status"], { env })).code).toBe(0);
  for (const args of [
    ["auth", "token"],
    ["api", userinfo],
    ["auth", "status"],
  ]) {
    const { code, opens } = await tracedOpens(args, env, home);
    expect({ args, code }).toEqual({ args, code: 0 });
    const credentialOpens = opens.filter((open) => open.path === file);
    expect({ args, credentialOpens }).toEqual({ args, credentialOpens: [{ path: file, flags: expect.stringMatching(/^O_RDONLY\b/) }] });
    // Nothing else in HOME is written, created or locked: the server cache, where read, is read-only too.
    const writes = opens.filter((open) => !/^O_RDONLY\b/.test(open.flags));
    expect({ args, writes }).toEqual({ args, writes: [] });
  }
}

const describeTraced = describeNeeding(existsSync("/usr/bin/strace"), "file access (strace)", "strace is not installed (apt-get install strace)");

describeTraced("a session that needs no refresh: the credential file is opened once, read-only, and nothing is written", () => {
  test("a sat_ token stored by auth login --token (the PipeOps-shaped server)", async () => {
    const home = tempDir();
    const env = { HOME: home, PIPEOPS_API_URL: pipeops.url };
    expect((await runBinary(["auth", "login", "--token", pipeops.issueServiceToken()], { env })).code).toBe(0);
    await expectOneReadOnlyOpen({ HOME: home }, home, join(home, ".pipeops.json"), "oauth/userinfo");
  });

  test("a login session with a refresh token, far from expiry (oidc-provider)", async () => {
    const tokens = await loginWithAuthorizationCode(standard);
    const { dir, path, env } = homeWithSession(tokens, standard.url);
    await expectOneReadOnlyOpen(env, dir, path, "me");
  });
});
