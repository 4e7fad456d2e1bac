/**
 * Fault injection on the device login (RFC 8628): `auth login --no-browser` while the device
 * authorization endpoint or the polled token endpoint misbehaves. A login that fails ends in one
 * clear `Error:` line and leaves the previous credentials byte for byte; a transient fault while
 * polling (no answer, a reset, 429, 5xx) is ridden out, as RFC 8628 §3.5 asks. The tables run in
 * this process with the poll intervals sped up; two scenarios run the compiled binary end to end.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { spawnBinary } from "../helpers/binary.ts";
import { configFolderEntries } from "../helpers/context.ts";
import { type Fault, faults, loggedInHome, startFaultStack } from "../helpers/fault-server.ts";
import { approveDevice } from "../helpers/flows.ts";
import { startInProcess } from "../helpers/in-process.ts";

/** The same login, run as the binary or in this process (where waits pass a thousand times faster). */
function startLogin(env: Record<string, string>, binary: boolean) {
  return binary ? spawnBinary(["auth", "login", "--no-browser"], { env }) : startInProcess(FAST_LOGIN, { env });
}

/** In process the login's own time limit passes sped up too: a day of it is some 86 s. */
const FAST_LOGIN = ["auth", "login", "--no-browser", "--timeout", "86400"];

/** The poll scenarios that also run the compiled binary. */
const END_TO_END = new Set(["a poll reset mid-body is retried after a longer interval", "a poll answered with 429 is retried after Retry-After"]);

setDefaultTimeout(90_000);

const { fault, sink } = await startFaultStack();
const origin = fault.url;

const DEVICE_PROMPT = /Please open this URL in your browser to authenticate:\n(\S+)\n/;
const DEVICE_AUTH = "/device/auth";
const TOKEN = "/token";
const PENDING = { status: 400, headers: { "content-type": "application/json" }, body: '{"error":"authorization_pending"}' };

/** A HOME with a previous session, which a failed login must leave exactly as it was. */
function previousSession() {
  return loggedInHome({ auth_token: "previous-access-token", refresh_token: "previous-refresh-token", api_url: origin });
}

/** The run's stderr ends in exactly one `Error:` line (and a hint), with no stack trace and no escape. */
function expectLoginFailure(result: { code: number; stdout: string; stderr: string }, message: string | RegExp): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: "" });
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("Error: "));
  expect(errors).toHaveLength(1);
  if (typeof message === "string") expect(errors[0]).toBe(`Error: ${message}`);
  else expect(errors[0]).toMatch(message);
  const after = result.stderr.slice(result.stderr.indexOf("Error: ")).trimEnd().split("\n");
  expect(after.length).toBeLessThanOrEqual(2);
  expect(result.stderr).not.toMatch(/^\s+at |node_modules|\.ts:\d+|<html|\u001b/im);
}

interface PollScenario {
  name: string;
  fault: Fault;
  times?: number;
  /** null: the login completes once the user approves. */
  error: string | RegExp | null;
  maxMs: number;
  env?: Record<string, string>;
  /**
   * The first waits between polls, in ms of the CLI's own time (recorded in process): the server's
   * interval (the dev server's 1 s), then what the fault made of it.
   */
  waits?: number[];
}

const POLL_SCENARIOS: PollScenario[] = [
  {
    name: "a poll reset mid-body is retried after a longer interval",
    fault: { kind: "reset", answer: PENDING },
    times: 1,
    error: null,
    maxMs: 30_000,
    // RFC 8628 §3.5: no answer is a reason to back off: the interval doubles.
    waits: [1000, 2000],
  },
  {
    name: "a poll that is never answered (the HTTP timeout) is retried",
    fault: { kind: "hang" },
    times: 1,
    error: null,
    maxMs: 30_000,
  },
  {
    name: "polls answered byte by byte within the timeout",
    fault: { kind: "slow", byteDelayMs: 2 },
    // A generous per-try limit: on a busy machine 2 ms a byte can take several times longer.
    env: { PIPEOPS_HTTP_TIMEOUT: "20" },
    error: null,
    maxMs: 45_000,
  },
  {
    name: "a poll answered with 503 is retried after a longer interval",
    fault: faults.serverError(503),
    times: 1,
    // A failing server has not answered either: the user may be approving right now.
    error: null,
    maxMs: 30_000,
    waits: [1000, 2000],
  },
  {
    name: "a poll answered with 429 is retried after Retry-After",
    // Longer than the doubled interval (2 s), so the wait shows which one was taken.
    fault: faults.rateLimited("3"),
    times: 1,
    error: null,
    maxMs: 30_000,
    waits: [1000, 3000],
  },
  {
    name: "a poll answered with an HTML maintenance page is retried",
    fault: faults.maintenancePage(),
    times: 1,
    error: null,
    maxMs: 30_000,
  },
  {
    name: "a poll answered with invalid JSON",
    fault: faults.invalidJson(),
    times: 1,
    error: `${origin} sent an unexpected response: the body is not valid JSON`,
    maxMs: 20_000,
  },
  {
    name: "a poll answered with 20 MB",
    fault: faults.huge(false),
    times: 1,
    error: `the response from ${origin} is too large (over 1 MiB)`,
    maxMs: 20_000,
  },
  {
    name: "a poll redirected to another host",
    fault: faults.redirect(`${sink.url}/token`, 307),
    times: 1,
    error: `${origin} sent an unexpected response (HTTP 307): unexpected status code`,
    maxMs: 20_000,
  },
  {
    name: "a poll error with terminal escapes in error_description",
    fault: {
      kind: "answer",
      status: 400,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ error: "invalid_request", error_description: "\u001b[2J\u001b]0;owned\u0007Denied\nError: fake line" }),
    },
    times: 1,
    error: `${origin} rejected the request (invalid_request: [2J ]0;owned Denied Error: fake line)`,
    maxMs: 20_000,
  },
];

describe.each([
  ["in process, waits sped up", false],
  ["the compiled binary", true],
] as const)("device login against a failing token endpoint (%s)", (_how, binary) => {
  const table = binary ? POLL_SCENARIOS.filter((scenario) => END_TO_END.has(scenario.name)) : POLL_SCENARIOS;
  test.each(table.map((scenario) => [scenario.name, scenario] as const))("%s", async (_name, scenario) => {
    const home = previousSession();
    fault.use({ path: TOKEN, method: "POST", times: scenario.times, fault: scenario.fault });
    const started = performance.now();
    const cli = startLogin({ ...home.env, PIPEOPS_HTTP_TIMEOUT: binary ? "2" : "0.5", ...scenario.env }, binary);
    const [, url] = await cli.waitForStderr(DEVICE_PROMPT);
    // The device code travels in the POST body only, never in a URL.
    if (scenario.error === null) await approveDevice(url!);
    const result = await cli.result;
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(scenario.maxMs);
    // Every wait the CLI asked for, but the login's own time limit (--timeout 86400).
    const polling = "slept" in cli ? cli.slept.filter((wait) => wait !== 86_400_000) : undefined;
    if (scenario.waits && polling) expect(polling.slice(0, scenario.waits.length)).toEqual(scenario.waits);
    const polls = fault.requests.filter((request) => request.path === TOKEN);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    for (const poll of polls) expect(poll.body).toContain("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code");

    if (scenario.error === null) {
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n" });
      const stored = JSON.parse(readFileSync(home.path, "utf8")) as Record<string, unknown>;
      expect(stored.auth_token).not.toBe("previous-access-token");
      expect(stored.settings).toEqual({ theme: "dark" });
      expect(result.stderr).not.toContain(String(stored.auth_token));
      expect(result.stderr).not.toContain(String(stored.refresh_token));
      // A faulty poll was followed by at least one more.
      if (scenario.times) expect(polls.length).toBeGreaterThan(scenario.times);
    } else {
      expectLoginFailure(result, scenario.error);
      expect(readFileSync(home.path, "utf8")).toBe(home.before);
    }
    expect(configFolderEntries(home.dir)).toEqual([".pipeops.json"]);
    expect(sink.hits).toEqual([]);
  });
});

interface StartScenario {
  name: string;
  fault: Fault;
  error: string | RegExp;
  env?: Record<string, string>;
}

const START_SCENARIOS: StartScenario[] = [
  { name: "503", fault: faults.serverError(503), error: `${origin} is unavailable (HTTP 503)` },
  { name: "an HTML maintenance page", fault: faults.maintenancePage(), error: `${origin} is unavailable (HTTP 503)` },
  { name: "no answer (timeout 0.5 s)", fault: { kind: "hang" }, error: `${origin} did not respond within 0.5 s` },
  { name: "a reset", fault: { kind: "reset" }, error: `could not reach ${origin}: connection reset` },
  { name: "invalid JSON", fault: faults.invalidJson(), error: `${origin} sent an unexpected response: the body is not valid JSON` },
  {
    name: "a verification URL that is not https",
    fault: faults.patchJson({ verification_uri: "http://evil.example/device", verification_uri_complete: "javascript:alert(1)" }),
    error: /^Error: .*(invalid device authorization response|HTTPS is required)/,
  },
  {
    name: "a user code with terminal escapes",
    fault: faults.patchJson({ user_code: "\u001b[2JABCD", verification_uri_complete: undefined }),
    error: `${origin} sent an invalid device authorization response (user_code)`,
  },
];

describe("device login against a failing device authorization endpoint", () => {
  test.each(START_SCENARIOS.map((scenario) => [scenario.name, scenario] as const))("%s", async (_name, scenario) => {
    const home = previousSession();
    fault.use({ path: DEVICE_AUTH, method: "POST", fault: scenario.fault });
    const started = performance.now();
    const cli = startInProcess(FAST_LOGIN, { env: { ...home.env, PIPEOPS_HTTP_TIMEOUT: "0.5" } });
    const result = await cli.result;
    expect(performance.now() - started).toBeLessThan(15_000);
    expectLoginFailure(result, scenario.error);
    // Nothing to open was shown: the user is not sent to a page that cannot work.
    expect(result.stderr).not.toContain("Please open this URL");
    expect(fault.requests.filter((request) => request.path === DEVICE_AUTH)).toHaveLength(1);
    expect(readFileSync(home.path, "utf8")).toBe(home.before);
  });
});
