/**
 * `pipeops api` end to end: the compiled binary against the PipeOps-shaped server's project
 * endpoints (and the standards server's userinfo), on a pipe and at a terminal, with sessions that
 * refresh, sessions that cannot, hostile redirects and bodies too large to hold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { BINARY, cleanEnv, runBinary } from "../helpers/binary.ts";
import { homeWithSession, tempDir } from "../helpers/context.ts";
import { startSink } from "../helpers/fault-server.ts";
import { loginWithAuthorizationCode, pipeopsLogin } from "../helpers/flows.ts";
import { spawnInTerminal } from "../helpers/interactive.ts";

let server: PipeOpsServer;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  sink = await startSink();
  server = await startPipeOpsServer({ elsewhere: `${sink.url}/projects` });
});
afterAll(async () => {
  await server?.close();
  await sink?.close();
});

const EXPIRED = "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n";

/**
 * The environment of a CI job: the token in PIPEOPS_TOKEN (by default a new service token, `sat_…`,
 * which never expires: tests that end every session cannot touch it), no credential file.
 */
const ci = (token = server.issueServiceToken()) => ({ HOME: tempDir(), PIPEOPS_API_URL: server.url, PIPEOPS_TOKEN: token });

/** A HOME logged in to the server through its own sign-in, as `pipeops auth login` leaves it. */
async function loggedIn(overrides: Record<string, unknown> = {}) {
  const tokens = await pipeopsLogin(server);
  const expiresAt = new Date(Date.now() + tokens.expires_in * 1000).toISOString();
  return { ...homeWithSession(tokens, server.url, { expires_at: expiresAt, ...overrides }), tokens };
}

const api = (args: string[], env: Record<string, string>, stdin?: string) => runBinary(["api", ...args], { env, stdin });

/** What the project endpoints received from here on. */
function receivedFrom(): () => PipeOpsServer["received"] {
  const start = server.received.length;
  return () => server.received.slice(start);
}

describe("requests as the user describes them", () => {
  test("GET with query fields: the body comes as the server sent it, with the token in the header only", async () => {
    const received = receivedFrom();
    const env = ci();
    const serviceToken = env.PIPEOPS_TOKEN;
    const result = await api(["-X", "GET", "project/fetch", "-f", "workspace_uuid=ws-demo", "-F", "limit=2", "-F", "page=2"], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body.data.projects.rows.map((project: { Name: string }) => project.Name)).toEqual(["demo-project-3", "demo-project-4"]);
    expect(received()).toHaveLength(1);
    const [request] = received();
    expect(request).toMatchObject({ method: "GET", path: "/project/fetch", search: "?workspace_uuid=ws-demo&limit=2&page=2", body: "" });
    expect(request!.headers.authorization).toBe(`Bearer ${serviceToken}`);
    expect(request!.headers["user-agent"]).toMatch(/^pipeops\//);
    expect(`${result.stdout}${result.stderr}`).not.toContain(serviceToken);
  });

  test("`project/fetch`, `/project/fetch` and the API's full URL name the same endpoint; a query in the path is kept", async () => {
    const received = receivedFrom();
    for (const path of [
      "project/fetch?workspace_uuid=ws-demo",
      "/project/fetch?workspace_uuid=ws-demo",
      `${server.url}/project/fetch?workspace_uuid=ws-demo`,
    ]) {
      expect((await api([path], ci())).code).toBe(0);
    }
    expect(received().map((request) => `${request.method} ${request.path}${request.search}`)).toEqual(
      Array(3).fill("GET /project/fetch?workspace_uuid=ws-demo"),
    );
  });

  test("POST with typed and nested fields: a JSON body, numbers and booleans typed, order kept, big integers as typed", async () => {
    const received = receivedFrom();
    const args = ["project/create", "-f", "name=web", "-F", "port=8080", "-F", "settings[public]=true", "-F", "settings[region]=null"];
    args.push("-f", "tags[]=a", "-F", "tags[]=2", "-f", "port_text=8080", "-F", "id=123456789012345678901");
    const result = await api(args, ci());
    expect(result.code).toBe(0);
    const [request] = received();
    expect(request!.method).toBe("POST");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(request!.body)).toEqual({
      name: "web",
      port: 8080,
      settings: { public: true, region: null },
      tags: ["a", 2],
      port_text: "8080",
      id: "123456789012345678901",
    });
    expect(JSON.parse(result.stdout).data.project).toMatchObject({ Name: "web", port: 8080 });
  });

  test("--input - sends standard input as it is; -F key=@file reads a file; -F key=@- reads stdin", async () => {
    const received = receivedFrom();
    const raw = '{"name":"from-stdin",  "port":1}';
    expect((await api(["project/create", "--input", "-"], ci(), raw)).code).toBe(0);
    const dir = tempDir();
    writeFileSync(join(dir, "description.txt"), "line one\nline two\n");
    expect(
      (await api(["project/create", "-f", "name=files", "-F", `description=@${join(dir, "description.txt")}`, "-F", "notes=@-"], ci(), "typed on stdin")).code,
    ).toBe(0);
    const [fromInput, fromFields] = received();
    expect(fromInput!.body).toBe(raw);
    expect(JSON.parse(fromFields!.body)).toEqual({ name: "files", description: "line one\nline two\n", notes: "typed on stdin" });
  });

  test("fields with --input go into the query string, and so do a DELETE's", async () => {
    const received = receivedFrom();
    await api(["project/create", "--input", "-", "-f", "dry_run=true"], ci(), '{"name":"q"}');
    await api(["-X", "delete", "project/delete/abc", "-F", "force=true"], ci());
    expect(received().map((request) => `${request.method} ${request.path}${request.search} ${request.body}`)).toEqual([
      'POST /project/create?dry_run=true {"name":"q"}',
      "DELETE /project/delete/abc?force=true ",
    ]);
  });

  test("-H adds headers (the user's Accept wins); Authorization, Host and broken headers are usage errors with no request", async () => {
    const received = receivedFrom();
    const result = await api(["project/fetch?workspace_uuid=ws-demo", "-H", "X-Request-Id: abc-123", "-H", "Accept: application/vnd.pipeops+json"], ci());
    expect(result.code).toBe(0);
    expect(received()[0]!.headers).toMatchObject({ "x-request-id": "abc-123", accept: "application/vnd.pipeops+json" });
    for (const header of ["Authorization: Bearer stolen", "Host: evil.example", "no colon here", "Bad Name: x"]) {
      const refused = await api(["oauth/userinfo", "-H", header], ci());
      expect(refused.code).toBe(2);
      expect(refused.stderr).toStartWith("Error: ");
      expect(refused.stderr).not.toContain("stolen");
    }
    expect(received()).toHaveLength(1);
  });

  test("--include prints the status line and the headers; --silent prints no body", async () => {
    const included = await api(["oauth/userinfo", "-i"], ci());
    expect(included.code).toBe(0);
    const [head, body] = included.stdout.split("\n\n");
    expect(head).toStartWith("HTTP/1.1 200 OK\n");
    expect(head).toContain("Content-Type: application/json");
    expect(JSON.parse(body!).data.email).toBe(server.user.email);
    expect(await api(["oauth/userinfo", "--silent"], ci())).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("a same-origin redirect is followed with the token; GET stays GET", async () => {
    const received = receivedFrom();
    const env = ci();
    const serviceToken = env.PIPEOPS_TOKEN;
    const result = await api(["project/list?workspace_uuid=ws-demo&limit=1"], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).data.projects.rows).toHaveLength(1);
    expect(received().map((request) => `${request.path} ${request.headers.authorization === `Bearer ${serviceToken}`}`)).toEqual([
      "/project/list true",
      "/project/fetch true",
    ]);
  });
});

describe("answers that are not a success", () => {
  test("a 404: the envelope still goes to stdout, its message to stderr, exit 1", async () => {
    const result = await api(["project/fetch/no-such-project"], ci());
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ status: "error", message: "Project not found" });
    expect(result.stderr).toBe("Error: Project not found (HTTP 404)\n");
  });

  test("an off-origin URL is a usage error naming the origin, and nothing is sent anywhere", async () => {
    const requests = server.requests.length;
    for (const target of [`${sink.url}/project/fetch`, "//127.0.0.2/x", "/\\127.0.0.2/x"]) {
      const result = await api([target], ci());
      expect(result.code).toBe(target.startsWith("http") ? 2 : 1);
      if (target.startsWith("http"))
        expect(result.stderr).toStartWith(`Error: refusing to send the session's token to ${sink.url}: pipeops api talks only to ${server.url}\n`);
    }
    // The others resolve under the API (//x and /\x are paths there): its 404, never the sink.
    expect(sink.hits).toEqual([]);
    expect(server.requests.length - requests).toBe(2);
  });

  test("a redirect to another origin is not followed and is reported; the token never reaches it", async () => {
    const result = await api(["project/moved", "-i"], ci());
    expect(result.code).toBe(1);
    expect(result.stdout).toStartWith("HTTP/1.1 302 Found\n");
    expect(result.stderr).toBe(
      `Error: ${server.url} redirected to ${sink.url}, which pipeops api does not follow\nThe session's token is sent only to the API's origin\n`,
    );
    expect(sink.hits).toEqual([]);
  });

  test("not logged in: the spec's error, exit 1, and no request", async () => {
    const requests = server.requests.length;
    expect(await api(["oauth/userinfo"], { HOME: tempDir(), PIPEOPS_API_URL: server.url })).toEqual({
      code: 1,
      stdout: "",
      stderr: "Error: not authenticated\nRun 'pipeops auth login' to authenticate\n",
    });
    expect(server.requests.length).toBe(requests);
  });

  test("bad input: no path, two paths, a field without '=', stdin twice, a missing file, an input too large — exit 2, no request", async () => {
    const requests = server.requests.length;
    const dir = tempDir();
    const large = join(dir, "large.json");
    writeFileSync(large, Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    const cases: [string[], RegExp][] = [
      [[], /^Error: api needs a path/],
      [["a", "b"], /^Error: api takes one argument, <path>\n/],
      [["project/create", "-f", "secret-value"], /^Error: -f takes key=value; a field has no '='\n/],
      [["project/create", "-F", "a=@-", "--input", "-"], /^Error: standard input can be read only once/],
      [["project/create", "-F", `a=@${join(dir, "missing")}`], /^Error: cannot read the file for field 'a' .*missing: no such file\n/],
      [["project/create", "--input", large], /^Error: the --input file .* is too large \(over 10 MiB\)\n/],
      [["project/create", "--input", dir], /^Error: cannot read the --input file .*: not a regular file \(a folder\)\n/],
      [["-X", "GE T", "x"], /^Error: --method takes an HTTP method/],
      [["-X", "GET", "project/create", "--input", "-"], /^Error: a GET request carries no body: drop --input, or use -X POST\n/],
      [["-X", "GET", "project/create", "--input", "-"], /^Error: a GET request carries no body: drop --input, or use -X POST\n/],
    ];
    for (const [args, expected] of cases) {
      const result = await api(args, ci(), "{}");
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(expected);
      expect(result.stderr).not.toContain("secret-value");
    }
    expect(server.requests.length).toBe(requests);
  });
});

describe("sessions: refreshed once on 401 or 419, else the spec's expired error", () => {
  test("a 401 with a refresh token: one refresh, one retry, the new token saved", async () => {
    const { env, path } = await loggedIn({ auth_token: "pat_the_server_never_issued" });
    const grants = server.stats.refreshGrants;
    const result = await api(["oauth/userinfo"], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).data.email).toBe(server.user.email);
    expect(server.stats.refreshGrants).toBe(grants + 1);
    expect(JSON.parse(readFileSync(path, "utf8")).auth_token).not.toBe("pat_the_server_never_issued");
  });

  test("a 419 (production's ended session) with a refresh token: refreshed, retried, and the POST body sent again", async () => {
    const { env } = await loggedIn();
    server.endSessions();
    const received = receivedFrom();
    const result = await api(["project/create", "-f", "name=after-419"], env);
    expect(result.code).toBe(0);
    expect(received().map((request) => request.body)).toEqual(['{"name":"after-419"}']);
  });

  test("401 and 419 without a refresh token: the spec's expired error, exit 1, nothing on stdout", async () => {
    const without = await loggedIn({ auth_token: "pat_unknown", refresh_token: undefined });
    expect(await api(["oauth/userinfo"], without.env)).toEqual({ code: 1, stdout: "", stderr: EXPIRED });
    const ended = await loggedIn({ refresh_token: undefined });
    server.endSessions();
    expect(await api(["oauth/userinfo"], ended.env)).toEqual({ code: 1, stdout: "", stderr: EXPIRED });
  });

  test("a refresh token the server refuses too: the expired error", async () => {
    const { env } = await loggedIn({ auth_token: "pat_unknown" });
    server.revokeRefreshTokens();
    const result = await api(["oauth/userinfo"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith("Error: authentication token has expired\n");
  });

  test("a token from PIPEOPS_TOKEN that the server refuses: the invalid-token error naming the variable; an ended one: expired", async () => {
    expect(await api(["oauth/userinfo"], ci("pat_not_a_real_token"))).toEqual({
      code: 1,
      stdout: "",
      stderr: "Error: invalid authentication token\nUnset PIPEOPS_TOKEN or set it to a valid token\n",
    });
    const { tokens } = await loggedIn();
    server.endSessions();
    const ended = await api(["oauth/userinfo"], ci(tokens.access_token));
    expect(ended.code).toBe(1);
    expect(ended.stderr).toStartWith("Error: authentication token has expired\n");
  });

  test("a service token in CI costs exactly one request", async () => {
    const requests = server.requests.length;
    expect((await api(["oauth/userinfo"], ci())).code).toBe(0);
    expect(server.requests.slice(requests)).toEqual(["GET /oauth/userinfo"]);
  });
});

describe("output: bytes on a pipe, a readable document at a terminal", () => {
  /** A server whose body tries to act on the terminal, and one JSON number no double can hold. */
  async function hostile() {
    const api = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) =>
        new URL(request.url).pathname === "/text"
          ? new Response("ok \u001b]0;owned\u0007 \u001b[2J\u202etxt.exe\n", { headers: { "content-type": "text/plain" } })
          : new Response('{"id":12345678901234567890,"name":"\u009b31m","empty":{},"list":[]}', { headers: { "content-type": "application/json" } }),
    });
    return { url: `http://127.0.0.1:${api.port}`, stop: () => api.stop(true) };
  }

  test("on a pipe the body is byte for byte what the server sent, escapes and all", async () => {
    const other = await hostile();
    try {
      const env = { ...ci("pat_any"), PIPEOPS_API_URL: other.url };
      expect((await api(["text"], env)).stdout).toBe("ok \u001b]0;owned\u0007 \u001b[2J\u202etxt.exe\n");
      expect((await api(["json"], env)).stdout).toBe('{"id":12345678901234567890,"name":"\u009b31m","empty":{},"list":[]}');
    } finally {
      await other.stop();
    }
  });

  test("at a terminal JSON is indented and coloured, numbers kept, C1 shown escaped; text has its controls defused", async () => {
    const other = await hostile();
    try {
      const env = { ...ci("pat_any"), PIPEOPS_API_URL: other.url };
      const json = spawnInTerminal(["api", "json"], env);
      expect(await json.exited).toBe(0);
      const screen = json.screen();
      expect(screen).toContain('\u001b[36m"id"\u001b[39m: \u001b[33m12345678901234567890\u001b[39m');
      expect(screen).toContain('"\\u009b31m"');
      expect(screen).toContain('"empty"\u001b[39m: {}');
      const plain = spawnInTerminal(["api", "json"], { ...env, NO_COLOR: "1" });
      expect(await plain.exited).toBe(0);
      expect(plain.screen()).toBe('{\r\n  "id": 12345678901234567890,\r\n  "name": "\\u009b31m",\r\n  "empty": {},\r\n  "list": []\r\n}\r\n');
      const text = spawnInTerminal(["api", "text"], env);
      expect(await text.exited).toBe(0);
      expect(text.screen()).toBe("ok \uFFFD]0;owned\uFFFD \uFFFD[2J\uFFFDtxt.exe\r\n");
      for (const cli of [json, plain, text]) cli.close();
    } finally {
      await other.stop();
    }
  });

  test("a body far larger than memory would like is streamed: peak memory stays flat, every byte arrives", async () => {
    const dir = tempDir();
    const peak = async (bytes: number) => {
      const out = join(dir, `body-${bytes}`);
      const rss = join(dir, "rss");
      // GNU time, not resourceUsage(): Linux keeps this test runner's own high-water mark across exec.
      const argv = ["/usr/bin/time", "-f", "%M", "-o", rss, BINARY, "api", `project/logs/build?bytes=${bytes}`];
      const child = Bun.spawn(argv, { env: cleanEnv(ci()), stdout: Bun.file(out), stderr: "pipe" });
      expect(await child.exited).toBe(0);
      const size = statSync(out).size;
      rmSync(out);
      return { size, maxRss: Number(readFileSync(rss, "utf8").trim().split("\n").pop()) * 1024 };
    };
    const small = await peak(1024 * 1024);
    const large = await peak(384 * 1024 * 1024);
    expect(small.size).toBe(1024 * 1024);
    expect(large.size).toBe(384 * 1024 * 1024);
    // In bytes: 383 MiB more body, a quarter of that at most in more memory (the fetch's buffers;
    // measured: about 45 MB, the same for 256 MiB as for 1 GiB). A body held whole would be all of it.
    expect(large.maxRss - small.maxRss).toBeLessThan(96 * 1024 * 1024);
  });

  test("a reader that stops early (| head) stops the download: a 4 GiB body ends at once", async () => {
    const started = performance.now();
    const child = Bun.spawn(["sh", "-c", `"${BINARY}" api 'project/logs/build?bytes=4294967296' | head -c 100`], { env: cleanEnv(ci()), stdout: "pipe" });
    expect((await new Response(child.stdout).text()).length).toBe(100);
    expect(await child.exited).toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe("against a standards server (oidc-provider)", () => {
  let standard: DevServer;
  beforeAll(async () => {
    standard = await startDevServer({ port: 0 });
  });
  afterAll(() => standard?.close());

  test("api me: its userinfo with the stored session", async () => {
    const tokens = await loginWithAuthorizationCode(standard);
    const { env } = homeWithSession(tokens, standard.url);
    const result = await runBinary(["api", "me"], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ email: expect.stringContaining("@") });
  });
});
