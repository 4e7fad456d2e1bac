/**
 * Fault injection on the refresh grant: the compiled binary's token, status and me with an expired
 * access token and a live refresh token, while the token endpoint misbehaves. A failed refresh must
 * end in one clear line, keep the stored session byte for byte, and leave no lock or temp file; a
 * successful one must store the new tokens (that is its purpose) and only them.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { configFolderEntries } from "../helpers/context.ts";
import { expectCleanFailure, type Fault, faults, loggedInHome, MAINTENANCE_PAGE, startFaultStack, timedRun } from "../helpers/fault-server.ts";
import { loginWithAuthorizationCode } from "../helpers/flows.ts";
import { runInProcess } from "../helpers/in-process.ts";

setDefaultTimeout(60_000);

const { dev, fault, sink } = await startFaultStack();
const origin = fault.url;

const TOKEN = "/token";
const KEPT = "Your session was kept; check your connection and try again";
const couldNotRefresh = (reason: string) => `could not refresh the access token: ${reason}`;

/** A session whose access token has expired and whose refresh token is live (fresh from the server). */
async function expiredSession() {
  const tokens = await loginWithAuthorizationCode(dev);
  const home = loggedInHome({
    auth_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: "2020-01-01T00:00:00Z",
    api_url: origin,
  });
  return { tokens, home };
}

interface Scenario {
  name: string;
  fault: Fault;
  times?: number;
  /** First stderr line without "Error: "; null when the refresh succeeds. */
  error: string | RegExp | null;
  hint?: string;
  maxMs: number;
  minMs?: number;
  env?: Record<string, string>;
  /** What differs in process, where the HTTP timeout (a real wait) is made shorter. */
  fast?: Pick<Scenario, "env" | "error" | "minMs">;
  /** More checks of the stored file after a successful refresh. */
  stored?: (config: Record<string, unknown>) => void;
}

const SCENARIOS: Scenario[] = [
  {
    name: "reset mid-body (the server never saw the request)",
    fault: { kind: "reset", answer: { status: 200, headers: { "content-type": "application/json" }, body: '{"access_token":"x","token_type":"Bearer"}' } },
    error: couldNotRefresh(`could not reach ${origin}: connection reset`),
    hint: KEPT,
    maxMs: 10_000,
  },
  {
    name: "accepts and never answers (timeout 2 s)",
    fault: { kind: "hang" },
    error: couldNotRefresh(`${origin} did not respond within 2 s`),
    hint: KEPT,
    minMs: 1_900,
    maxMs: 15_000,
    fast: { env: { PIPEOPS_HTTP_TIMEOUT: "0.2" }, error: couldNotRefresh(`${origin} did not respond within 0.2 s`), minMs: 190 },
  },
  {
    name: "answered byte by byte, past the timeout (1 s)",
    fault: { kind: "slow", byteDelayMs: 40, answer: { status: 400, body: "{}" } },
    env: { PIPEOPS_HTTP_TIMEOUT: "1" },
    error: couldNotRefresh(`${origin} did not respond within 1 s`),
    hint: KEPT,
    minMs: 900,
    maxMs: 15_000,
    fast: { env: { PIPEOPS_HTTP_TIMEOUT: "0.3" }, error: couldNotRefresh(`${origin} did not respond within 0.3 s`), minMs: 290 },
  },
  {
    name: "answered byte by byte, within the timeout",
    fault: { kind: "slow", byteDelayMs: 2 },
    // A generous per-try limit: on a busy machine 2 ms a byte can take several times longer.
    env: { PIPEOPS_HTTP_TIMEOUT: "20" },
    error: null,
    maxMs: 30_000,
  },
  {
    name: "429 with Retry-After",
    fault: faults.rateLimited("1"),
    error: couldNotRefresh(`${origin} failed (HTTP 429)`),
    hint: KEPT,
    maxMs: 10_000,
  },
  {
    name: "503",
    fault: faults.serverError(503),
    error: couldNotRefresh(`${origin} failed (HTTP 503)`),
    hint: KEPT,
    maxMs: 10_000,
  },
  {
    name: "an HTML maintenance page",
    fault: faults.maintenancePage(),
    error: couldNotRefresh(`${origin} failed (HTTP 503)`),
    hint: KEPT,
    maxMs: 10_000,
  },
  {
    name: "a 20 MB body",
    fault: faults.huge(false),
    error: `the response from ${origin} is too large (over 1 MiB)`,
    maxMs: 10_000,
  },
  {
    name: "invalid JSON",
    fault: faults.invalidJson(),
    error: `${origin} sent an unexpected response: the body is not valid JSON`,
    maxMs: 10_000,
  },
  {
    name: "an HTML page with status 200",
    fault: { kind: "answer", status: 200, headers: { "content-type": "text/html" }, body: MAINTENANCE_PAGE },
    error: `${origin} sent an unexpected response (HTTP 200): expected JSON`,
    maxMs: 10_000,
  },
  {
    name: "a 307 redirect to another host (that would resend the refresh token if followed)",
    fault: faults.redirect(`${sink.url}/token`, 307),
    error: `${origin} sent an unexpected response (HTTP 307): unexpected status code`,
    maxMs: 10_000,
  },
  {
    name: "an error_description with terminal escapes",
    fault: {
      kind: "answer",
      status: 400,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ error: "invalid_request\u001b[31m", error_description: "\u001b]0;pwned\u0007bad\u001b[2J request\nError: fake" }),
    },
    error: `${origin} rejected the request (invalid_request [31m: ]0;pwned bad [2J request Error: fake)`,
    maxMs: 10_000,
  },
  {
    name: "valid tokens labelled text/plain",
    fault: faults.relabel("text/plain"),
    error: null,
    maxMs: 10_000,
  },
  {
    name: "an expires_in too large for any date",
    fault: faults.patchJson({ expires_in: 1e300 }),
    error: null,
    maxMs: 10_000,
    // Stored as "expiry unknown", not as a date that would make the file unreadable.
    stored: (config) => expect(config.expires_at).toBeUndefined(),
  },
];

/** The scenarios that also run the compiled binary. */
const END_TO_END = new Set(["reset mid-body (the server never saw the request)", "503"]);

describe.each([
  ["in process", false],
  ["the compiled binary", true],
] as const)("refresh against a failing token endpoint (%s)", (_how, binary) => {
  const table = binary ? SCENARIOS.filter((scenario) => END_TO_END.has(scenario.name)) : SCENARIOS;
  test.each(table.map((scenario) => [scenario.name, binary ? scenario : { ...scenario, ...scenario.fast }] as const))("%s", async (_name, scenario) => {
    for (const command of ["token", "status", "me"]) {
      const { tokens, home } = await expiredSession();
      fault.use({ path: TOKEN, method: "POST", times: scenario.times, fault: scenario.fault });
      const env = { ...home.env, ...scenario.env };
      const result = binary ? await timedRun(["auth", command], env) : await runInProcess(["auth", command], { env });
      const secrets = [tokens.access_token, tokens.refresh_token!];
      const tokenRequests = fault.requests.filter((request) => request.path === TOKEN);
      // POST is never retried: a second refresh with the same token could be taken for a replay.
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0]!.body).toContain("grant_type=refresh_token");
      expect(result.ms).toBeLessThan(scenario.maxMs);
      if (scenario.minMs !== undefined) expect(result.ms).toBeGreaterThan(scenario.minMs);
      // Neither a lock file nor a temp file is left behind.
      expect(configFolderEntries(home.dir)).toEqual([".pipeops.json"]);

      if (scenario.error === null) {
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
        const stored = JSON.parse(readFileSync(home.path, "utf8")) as Record<string, unknown>;
        expect(stored.auth_token).not.toBe(tokens.access_token);
        expect(stored.refresh_token).not.toBe(tokens.refresh_token);
        expect(stored.settings).toEqual({ theme: "dark" });
        if (scenario.stored) scenario.stored(stored);
        else expect(Date.parse(String(stored.expires_at))).toBeGreaterThan(Date.now());
        expect(statSync(home.path).mode & 0o777).toBe(0o600);
        if (command === "token") expect(result.stdout).toBe(`${stored.auth_token}\n`);
        else expect(result.stdout).not.toContain(String(stored.auth_token));
        for (const secret of [...secrets, String(stored.refresh_token)]) expect(result.stderr).not.toContain(secret);
      } else {
        expectCleanFailure(result, scenario.error, secrets);
        if (scenario.hint) expect(result.stderr).toEndWith(`\n${scenario.hint}\n`);
        expect(readFileSync(home.path, "utf8")).toBe(home.before);
      }
    }
    expect(sink.hits).toEqual([]);
  });

  test("an answer lost after the server rotated the token: the next run asks for a new login, cleanly", async () => {
    const { tokens, home } = await expiredSession();
    // The server issues new tokens, and the connection dies before the CLI has them.
    fault.use({ path: TOKEN, method: "POST", fault: { kind: "reset" } });
    const first = await timedRun(["auth", "token"], home.env);
    expectCleanFailure(first, couldNotRefresh(`could not reach ${origin}: connection reset`), [tokens.access_token, tokens.refresh_token!]);
    expect(readFileSync(home.path, "utf8")).toBe(home.before);

    // The stored refresh token is now spent; replaying it makes the server revoke the grant.
    fault.use();
    const second = await timedRun(["auth", "token"], home.env);
    expectCleanFailure(second, "authentication token has expired", [tokens.access_token, tokens.refresh_token!]);
    expect(second.stderr).toEndWith("Run 'pipeops auth login' to re-authenticate\n");
    expect(configFolderEntries(home.dir)).toEqual([".pipeops.json"]);
  });
});
