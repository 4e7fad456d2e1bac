/**
 * `pipeops auth doctor` on the compiled binary: each check as the support threads of other CLIs
 * describe the problem (a file others can read, a broken file, no server, a proxy, a skewed clock,
 * SSH), at most one request, and never a token in what it prints.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import type { Check } from "../../src/doctor/check.ts";
import { portsCheck } from "../../src/doctor/local.ts";
import { runBinary } from "../helpers/binary.ts";
import { homeWithFile, homeWithSession, testContext } from "../helpers/context.ts";
import { pipeopsLogin } from "../helpers/flows.ts";
import { closedPort } from "../helpers/network.ts";

let server: PipeOpsServer;

beforeAll(async () => {
  server = await startPipeOpsServer();
});
afterAll(() => server?.close());

interface Report {
  checks: Check[];
  ok: boolean;
}

async function doctor(env: Record<string, string>): Promise<{ code: number; report: Report; stdout: string; stderr: string }> {
  const result = await runBinary(["auth", "doctor", "--json"], { env: { PIPEOPS_HTTP_TIMEOUT: "3", ...env } });
  return { ...result, report: JSON.parse(result.stdout) };
}

const named = (report: Report, name: string) => report.checks.find((check) => check.name === name);

describe("auth doctor", () => {
  test("a healthy login: every check ok but the machine's own (no display, no terminal here), exit 0, one request, no token", async () => {
    const tokens = await pipeopsLogin(server);
    const { env } = homeWithSession(tokens, server.url);
    const before = server.requests.length;
    const { code, report, stdout, stderr } = await doctor({ ...env, PIPEOPS_API_URL: server.url });
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.name)).toEqual([
      "credential file",
      "credentials",
      "server",
      "clock",
      "browser",
      "callback ports",
      "terminal",
      "keyring",
    ]);
    expect(named(report, "credential file")).toMatchObject({ status: "ok", detail: expect.stringContaining("mode 0600, pipeops' keys") });
    expect(named(report, "credentials")).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("from the file, an opaque token, a refresh token to renew it"),
    });
    expect(named(report, "server")).toMatchObject({
      status: "ok",
      // Reachable, whatever the status: the root of an API may well be a 404, which is no failure here.
      detail: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+ \(PIPEOPS_API_URL\) is reachable \(answered in \d+ ms\), direct, no proxy/),
    });
    expect(named(report, "clock")?.status).toBe("ok");
    expect(server.requests.length - before).toBe(1);
    for (const secret of [tokens.access_token, tokens.refresh_token!]) expect(stdout + stderr).not.toContain(secret);
    // The human form: a symbol per line, the fix under each warning.
    const human = await runBinary(["auth", "doctor"], { env: { ...env, PIPEOPS_API_URL: server.url } });
    expect(human.stdout).toMatch(/^✓ credential file: .*\n✓ credentials: .*\n✓ server: .*\n✓ clock: .*\n/);
    expect(human.stdout).toContain(
      "! terminal: standard input is not a terminal: no prompt can be answered here\n  → Pipe a token in instead: pipeops auth login --with-token < token.txt\n",
    );
  });

  test("a file other users can read: a warning with the chmod line; a broken file: a failure, exit 1", async () => {
    const open = homeWithFile({ auth_token: "pat_x", api_url: server.url }, { mode: 0o644 });
    const wide = await doctor({ ...open.env, PIPEOPS_API_URL: server.url });
    expect(named(wide.report, "credential file")).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("mode 0644"),
      hint: `chmod 600 ${open.path}`,
    });
    const broken = homeWithFile("{ not json");
    const bad = await doctor({ ...broken.env, PIPEOPS_API_URL: server.url });
    expect(bad.code).toBe(1);
    expect(bad.report.ok).toBe(false);
    expect(named(bad.report, "credential file")).toMatchObject({ status: "fail", detail: expect.stringContaining("is not valid: invalid JSON") });
    expect(named(bad.report, "credentials")?.status).toBe("warn");
  });

  test("no server there: a failure naming it and why, the clock not checked, within the HTTP timeout", async () => {
    const started = performance.now();
    const { code, report } = await doctor({ HOME: homeWithFile().dir, PIPEOPS_API_URL: `http://127.0.0.1:${await closedPort()}` });
    expect(code).toBe(1);
    expect(named(report, "server")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/could not reach http:\/\/127\.0\.0\.1:\d+: connection refused$/),
    });
    expect(named(report, "clock")?.status).toBe("warn");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("a server that accepts and never answers: one request, one try, ended by PIPEOPS_HTTP_TIMEOUT; the fix under ✗ and !", async () => {
    let requests = 0;
    const hang = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        requests++;
        return new Promise<Response>(() => {});
      },
    });
    try {
      const started = performance.now();
      const { code, report } = await doctor({ HOME: homeWithFile().dir, PIPEOPS_API_URL: `http://127.0.0.1:${hang.port}`, PIPEOPS_HTTP_TIMEOUT: "2" });
      const ms = performance.now() - started;
      expect(code).toBe(1);
      expect(named(report, "server")).toMatchObject({
        status: "fail",
        detail: `http://127.0.0.1:${hang.port} (PIPEOPS_API_URL), direct, no proxy: http://127.0.0.1:${hang.port} did not respond within 2 s`,
        hint: expect.stringContaining("PIPEOPS_HTTP_TIMEOUT waits longer"),
      });
      expect(named(report, "clock")).toMatchObject({ status: "warn", hint: "Mend the server line above, then run 'pipeops auth doctor' again" });
      expect(requests).toBe(1);
      // The one try's 2 s, and no second one (a retry would double it).
      expect(ms).toBeGreaterThanOrEqual(2_000);
      expect(ms).toBeLessThan(3_900);
    } finally {
      hang.stop(true);
    }
  });

  test("a proxy on the way is named by host and port, never its password", async () => {
    const port = await closedPort();
    const { report, stdout } = await doctor({
      HOME: homeWithFile().dir,
      PIPEOPS_API_URL: "https://api.pipeops.test",
      HTTPS_PROXY: `http://user:hunter2@127.0.0.1:${port}`,
    });
    expect(named(report, "server")).toMatchObject({ status: "fail", detail: expect.stringContaining(`through the proxy 127.0.0.1:${port} (HTTPS_PROXY)`) });
    expect(stdout).not.toContain("hunter2");
    expect(stdout).not.toContain("user:");
  });

  test("a clock five minutes off the server's: a warning, since expiry depends on it", async () => {
    const skewed = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response("{}", { status: 404, headers: { date: new Date(Date.now() - 300_000).toUTCString() } }),
    });
    try {
      const { report } = await doctor({ HOME: homeWithFile().dir, PIPEOPS_API_URL: `http://127.0.0.1:${skewed.port}` });
      expect(named(report, "clock")).toMatchObject({ status: "warn", detail: expect.stringMatching(/^(4m|5m) ahead of the server's: /) });
    } finally {
      skewed.stop(true);
    }
  });

  test("over SSH: a browser would open on the other machine, so --no-browser is the advice", async () => {
    const { report } = await doctor({ HOME: homeWithFile().dir, PIPEOPS_API_URL: server.url, SSH_CONNECTION: "10.0.0.2 50000 10.0.0.1 22" });
    expect(named(report, "browser")).toMatchObject({ status: "warn", hint: "Log in with 'pipeops auth login --no-browser' and open the URL on any device" });
  });

  test("an expired token from the environment with nothing to renew it: a failure that says to log in", async () => {
    const { report, code } = await doctor({ HOME: homeWithFile().dir, PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: server.issueJwt(-60) });
    expect(code).toBe(1);
    expect(named(report, "credentials")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("from PIPEOPS_AUTH_TOKEN (the environment wins over the file), a JWT, no refresh token; expired "),
    });
  });
});

describe("callback ports (in process, with the ports other programs hold, so no real port is bound while other tests log in)", () => {
  const taking = (taken: number[]) => ({
    ...testContext(),
    serve: ({ port }: { port: number }) => {
      if (taken.includes(port)) throw Object.assign(new Error("address in use"), { code: "EADDRINUSE" });
      return { port, stop: async () => {} };
    },
  });

  test("one taken: fine, the next is used; all taken: a warning that says what login will do (as login itself says), with the way out", async () => {
    const free = await portsCheck(taking([8080]));
    expect(free).toMatchObject({ status: "ok", detail: expect.stringContaining("(localhost:8080 taken)") });
    const none = await portsCheck(taking([8080, 8085, 8086, 8087, 8088, 8089]));
    expect(none).toEqual({
      name: "callback ports",
      status: "warn",
      detail: "localhost:8080 and 8085-8089 are all taken: the sign-in calls back on another port instead, which the PipeOps sign-in page may refuse",
      hint: "If the sign-in does not come back, free one of them, or run 'pipeops auth login --no-browser' and paste the address back",
    });
  });
});
