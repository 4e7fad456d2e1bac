/**
 * Fault injection: status, me and token against a server that is half down. A fault server
 * (test/helpers/fault-server.ts) stands in front of the local authorization server; each scenario
 * asserts the one-line message, the exit code, the waits the CLI asked for (Retry-After, back-off),
 * a bound on the elapsed time, what the server saw, and that the credential file is byte-for-byte
 * unchanged. The table runs in this process with waits sped up (test/helpers/in-process.ts); a few
 * scenarios run the compiled binary, real waits and all, to show the same paths end to end.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { RunResult } from "../helpers/binary.ts";
import { expectCleanFailure, faults, loggedInHome, MAINTENANCE_PAGE, type Rule, refusingUrl, startFaultStack, timedRun } from "../helpers/fault-server.ts";
import { loginWithAuthorizationCode, type TokenSet } from "../helpers/flows.ts";
import { runInProcess } from "../helpers/in-process.ts";

setDefaultTimeout(60_000);

// Started at load time, so the scenario table below can name their URLs.
const { dev, fault, sink } = await startFaultStack();
const tokens: TokenSet = await loginWithAuthorizationCode(dev);
const origin = fault.url;

const DISCOVERY = /^\/\.well-known\//;
const USERINFO = "/me";

interface Scenario {
  name: string;
  rules: Rule[];
  /** Expected first stderr line (without "Error: "), or null for success. */
  error: string | RegExp | null;
  maxMs: number;
  /** Real time it must take at least: an HTTP timeout is a real wait. */
  minMs?: number;
  /** The CLI's own waits (Retry-After), in ms, that must be among those it asked for. */
  waits?: number[];
  /** What differs in process, where real waits (an HTTP timeout) are made shorter. */
  fast?: Pick<Scenario, "env" | "error" | "minMs">;
  /** Requests the server must have seen for `auth me` (path → count). */
  seen?: Record<string, number>;
  env?: Record<string, string>;
}

const unavailable = (status: number) => `${origin} is unavailable (HTTP ${status})`;
const unexpected = (status: number, reason: string) => `${origin} sent an unexpected response (HTTP ${status}): ${reason}`;
const FIRST_DISCOVERY = "/.well-known/oauth-authorization-server";

const SCENARIOS: Scenario[] = [
  {
    name: "reset mid-body on every request",
    rules: [{ fault: { kind: "reset" } }],
    error: `could not reach ${origin}: connection reset`,
    maxMs: 10_000,
    // GET is retried: three tries of discovery, then the error.
    seen: { [FIRST_DISCOVERY]: 3 },
  },
  {
    name: "connection closed without an answer",
    rules: [{ fault: { kind: "close" } }],
    // Bun reports a connection closed before any answer as a reset.
    error: new RegExp(`^Error: could not reach ${origin}: connection (closed|reset)$`),
    maxMs: 10_000,
    seen: { [FIRST_DISCOVERY]: 3 },
  },
  {
    name: "accepts and never answers (timeout 2 s)",
    rules: [{ fault: { kind: "hang" } }],
    error: `${origin} did not respond within 2 s`,
    minMs: 1_900,
    // In process the same path with a tenth of the timeout: it is a real wait either way.
    fast: { env: { PIPEOPS_HTTP_TIMEOUT: "0.2" }, error: `${origin} did not respond within 0.2 s`, minMs: 190 },
    maxMs: 15_000,
  },
  {
    name: "userinfo answered byte by byte, within the timeout",
    rules: [{ path: USERINFO, fault: { kind: "slow", byteDelayMs: 2 } }],
    // A generous per-try limit: on a busy machine 2 ms a byte can take several times longer.
    env: { PIPEOPS_HTTP_TIMEOUT: "20" },
    error: null,
    maxMs: 30_000,
    seen: { [USERINFO]: 1 },
  },
  {
    name: "userinfo answered byte by byte, past the timeout (1 s)",
    rules: [{ path: USERINFO, fault: { kind: "slow", byteDelayMs: 30 } }],
    env: { PIPEOPS_HTTP_TIMEOUT: "1" },
    error: `${origin} did not respond within 1 s`,
    minMs: 900,
    fast: { env: { PIPEOPS_HTTP_TIMEOUT: "0.3" }, error: `${origin} did not respond within 0.3 s`, minMs: 290 },
    maxMs: 15_000,
  },
  {
    name: "429 with Retry-After: 1, twice, then success",
    rules: [{ path: USERINFO, times: 2, fault: faults.rateLimited("1") }],
    error: null,
    waits: [1000, 1000],
    maxMs: 15_000,
    seen: { [USERINFO]: 3 },
  },
  {
    name: "429 with Retry-After: 1 on every try",
    rules: [{ path: USERINFO, fault: faults.rateLimited("1") }],
    error: `${origin} is rate limiting requests (HTTP 429)`,
    waits: [1000, 1000],
    maxMs: 15_000,
    seen: { [USERINFO]: 3 },
  },
  {
    name: "503 twice, then success",
    rules: [{ path: USERINFO, times: 2, fault: faults.serverError(503) }],
    error: null,
    maxMs: 10_000,
    seen: { [USERINFO]: 3 },
  },
  {
    name: "discovery 502 once, then success",
    rules: [{ path: DISCOVERY, times: 1, fault: faults.serverError(502) }],
    error: null,
    maxMs: 10_000,
  },
  {
    name: "500 on every try",
    rules: [{ path: USERINFO, fault: faults.serverError(500) }],
    error: unavailable(500),
    maxMs: 10_000,
    seen: { [USERINFO]: 3 },
  },
  {
    name: "an HTML maintenance page (503, Retry-After: 1) everywhere",
    rules: [{ fault: faults.maintenancePage() }],
    error: unavailable(503),
    waits: [1000, 1000],
    maxMs: 15_000,
  },
  {
    name: "a 20 MB body with Content-Length",
    rules: [{ path: USERINFO, fault: faults.huge(true) }],
    error: `the response from ${origin} is too large (over 1 MiB)`,
    maxMs: 10_000,
  },
  {
    name: "a 20 MB body without Content-Length",
    rules: [{ path: USERINFO, fault: faults.huge(false) }],
    error: `the response from ${origin} is too large (over 1 MiB)`,
    maxMs: 10_000,
  },
  {
    name: "a 20 MB discovery document",
    rules: [{ path: DISCOVERY, fault: faults.huge(false) }],
    error: `the response from ${origin} is too large (over 1 MiB)`,
    maxMs: 10_000,
  },
  {
    name: "invalid JSON from userinfo",
    rules: [{ path: USERINFO, fault: faults.invalidJson() }],
    error: `${origin} sent an unexpected response: the body is not valid JSON`,
    maxMs: 10_000,
  },
  {
    name: "invalid JSON from discovery",
    rules: [{ path: DISCOVERY, fault: faults.invalidJson() }],
    error: `${origin} sent an unexpected response: the body is not valid JSON`,
    maxMs: 10_000,
  },
  {
    // Lenient like oauth4webapi: a body that parses as JSON is accepted whatever its label.
    name: "a valid userinfo body labelled text/plain",
    rules: [{ path: USERINFO, fault: faults.wrongContentType('{"sub":"usr_1","email":"user@example.com"}') }],
    error: null,
    maxMs: 10_000,
  },
  {
    name: "an HTML page with status 200 instead of userinfo",
    rules: [{ path: USERINFO, fault: { kind: "answer", status: 200, headers: { "content-type": "text/html" }, body: MAINTENANCE_PAGE } }],
    error: unexpected(200, "expected JSON"),
    maxMs: 10_000,
  },
  {
    name: "userinfo redirects to another host",
    rules: [{ path: USERINFO, fault: faults.redirect(`${sink.url}/me`) }],
    error: unexpected(302, "unexpected status code"),
    maxMs: 10_000,
  },
  {
    name: "discovery redirects to another host",
    rules: [{ path: DISCOVERY, fault: faults.redirect(`${sink.url}/.well-known/openid-configuration`, 301) }],
    error: unexpected(301, "unexpected status code"),
    maxMs: 10_000,
  },
];

/** The scenarios that also run the compiled binary, with real waits. */
const END_TO_END = new Set(["reset mid-body on every request", "429 with Retry-After: 1, twice, then success", "a 20 MB body without Content-Length"]);

async function scenarioRun(args: string[], env: Record<string, string>, binary: boolean): Promise<RunResult & { ms: number; slept?: number[] }> {
  return binary ? timedRun(args, env) : runInProcess(args, { env });
}

describe.each([
  ["in process, waits sped up", false],
  ["the compiled binary", true],
] as const)("status and me against a failing server (%s)", (_how, binary) => {
  const table = binary ? SCENARIOS.filter((scenario) => END_TO_END.has(scenario.name)) : SCENARIOS;
  test.each(table.map((scenario) => [scenario.name, binary ? scenario : { ...scenario, ...scenario.fast }] as const))("%s", async (_name, scenario) => {
    for (const command of ["me", "status"]) {
      const home = loggedInHome({ auth_token: tokens.access_token, expires_at: "2099-12-31T23:59:59Z", api_url: origin });
      fault.use(...scenario.rules);
      const result = await scenarioRun(["auth", command], { ...home.env, ...scenario.env }, binary);
      if (scenario.error === null) {
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
        expect(result.stdout).toContain(command === "me" ? "Account ID:" : "✓ Authenticated as user@example.com");
      } else {
        expectCleanFailure(result, scenario.error, [tokens.access_token]);
      }
      expect(result.ms).toBeLessThan(scenario.maxMs);
      if (scenario.minMs !== undefined) expect(result.ms).toBeGreaterThan(scenario.minMs);
      // Waits the server asked for: seen among the CLI's own in process, as real time from the binary.
      if (scenario.waits && !binary) expect(result.slept).toEqual(expect.arrayContaining(scenario.waits));
      if (scenario.waits && binary) expect(result.ms).toBeGreaterThan(scenario.waits.reduce((a, b) => a + b, 0) - 100);
      if (command === "me" && scenario.seen) {
        for (const [path, count] of Object.entries(scenario.seen)) {
          expect({ path, count: fault.requests.filter((request) => request.path === path).length }).toEqual({ path, count });
        }
      }
      // Tokens travel in headers only, never in a URL.
      for (const request of fault.requests) expect(request.path).not.toContain(tokens.access_token);
      expect(readFileSync(home.path, "utf8")).toBe(home.before);
    }
    expect(sink.hits).toEqual([]);
  });

  test("connection refused: fails fast with the reason, after two retries with back-off", async () => {
    const url = await refusingUrl();
    for (const command of ["me", "status"]) {
      const home = loggedInHome({ auth_token: tokens.access_token, expires_at: "2099-12-31T23:59:59Z", api_url: url });
      const result = await scenarioRun(["auth", command], home.env, binary && command === "me");
      if (result.slept) expect(result.slept).toEqual([250, 500]);
      expectCleanFailure(result, `could not reach ${url}: connection refused`, [tokens.access_token]);
      expect(result.ms).toBeLessThan(10_000);
      expect(readFileSync(home.path, "utf8")).toBe(home.before);
    }
  });
});

describe("token against a failing server", () => {
  test("an unexpired token without a refresh token is printed without asking the server", async () => {
    for (const rules of [[{ fault: { kind: "hang" } }], [{ fault: faults.serverError(500) }], [{ fault: { kind: "reset" } }]] as Rule[][]) {
      const home = loggedInHome({ auth_token: tokens.access_token, expires_at: "2099-12-31T23:59:59Z", api_url: origin });
      fault.use(...rules);
      const result = await timedRun(["auth", "token"], home.env);
      expect(result).toMatchObject({ code: 0, stdout: `${tokens.access_token}\n`, stderr: "" });
      expect(result.ms).toBeLessThan(5_000);
      expect(fault.requests).toEqual([]);
      expect(readFileSync(home.path, "utf8")).toBe(home.before);
    }
  });
});
