/**
 * Only the requests a command needs, against both local servers: once a command has learned the
 * server, `auth token` sends none while the token is good, `auth status` one (userinfo), `auth me`
 * one, or two at once where the server has a profile (PipeOps). What was learned lives in
 * ~/.cache/pipeops/servers.json, holds no token, and is learned again when the server changed.
 * The standards server (oidc-provider) is counted through a pass-through proxy; the PipeOps-shaped
 * server logs its own requests.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { runBinary, spawnBinary } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";
import { type FaultServer, startFaultServer } from "../helpers/fault-server.ts";
import { completeAuthorization, loginWithAuthorizationCode, pipeopsLogin, type TokenSet } from "../helpers/flows.ts";
import { fakeBrowser, waitForFile } from "../helpers/interactive.ts";

setDefaultTimeout(60_000);

let dev: DevServer;
let proxy: FaultServer;
let pipeops: PipeOpsServer;

beforeAll(async () => {
  [dev, pipeops] = await Promise.all([startDevServer(), startPipeOpsServer()]);
  proxy = await startFaultServer(dev.url);
});
afterAll(async () => {
  await proxy?.close();
  await Promise.all([dev?.close(), pipeops?.close()]);
});

/** One local server as the CLI sees it, and the requests it has received. */
interface Mode {
  name: string;
  env: () => Record<string, string>;
  url: () => string;
  session: () => Promise<TokenSet>;
  /** "METHOD /path" of each request the CLI sent, since the last reset. */
  requests: () => string[];
  reset: () => void;
  /** What `auth me` asks once the server is known. */
  meRequests: string[];
  /** What learning the server asks: RFC 8414's document, then OpenID Connect's where that one is not there. */
  discovery: string[];
}

let pipeopsSeen = 0;
const MODES: Mode[] = [
  {
    name: "the standards server (oidc-provider)",
    env: () => ({ PIPEOPS_API_URL: proxy.url }),
    url: () => proxy.url,
    session: () => loginWithAuthorizationCode(dev),
    requests: () => proxy.requests.map((request) => `${request.method} ${request.path.split("?")[0]}`),
    reset: () => proxy.use(),
    meRequests: ["GET /me"],
    // oidc-provider publishes RFC 8414's document: the first is enough.
    discovery: ["GET /.well-known/oauth-authorization-server"],
  },
  {
    name: "the PipeOps-shaped server",
    env: () => ({ PIPEOPS_API_URL: pipeops.url, PIPEOPS_DASHBOARD_URL: pipeops.consoleUrl }),
    url: () => pipeops.url,
    session: () => pipeopsLogin(pipeops),
    requests: () => pipeops.requests.slice(pipeopsSeen),
    reset: () => {
      pipeopsSeen = pipeops.requests.length;
    },
    meRequests: ["GET /oauth/userinfo", "GET /profile/data"],
    // Production publishes neither (PipeOpsHQ/pipeops-go-sdk pipeops/oauth.go names fixed paths): both are asked, once.
    discovery: ["GET /.well-known/oauth-authorization-server", "GET /.well-known/openid-configuration"],
  },
];

function home(mode: Mode, tokens: TokenSet, extra: Record<string, unknown> = {}) {
  const dir = tempDir();
  const path = join(dir, ".pipeops.json");
  const expiresAt = new Date(Date.now() + tokens.expires_in * 1000).toISOString();
  writeFileSync(
    path,
    JSON.stringify({ auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: expiresAt, api_url: mode.url(), ...extra }),
    { mode: 0o600 },
  );
  return { dir, path, env: { HOME: dir, ...mode.env() }, cache: join(dir, ".cache", "pipeops", "servers.json") };
}

async function counted(mode: Mode, args: string[], env: Record<string, string>) {
  mode.reset();
  const result = await runBinary(args, { env });
  return { result, requests: mode.requests() };
}

for (const mode of MODES) {
  describe(`against ${mode.name}`, () => {
    test("the first command learns the server (its discovery documents); after that token sends 0, status 1, me the least it needs", async () => {
      const tokens = await mode.session();
      const h = home(mode, tokens);
      const first = await counted(mode, ["auth", "status"], h.env);
      expect(first.result.code).toBe(0);
      const userinfo = mode.meRequests[0]!;
      expect(first.requests).toEqual([...mode.discovery, userinfo]);

      const token = await counted(mode, ["auth", "token"], h.env);
      expect(token.result.stdout).toBe(`${tokens.access_token}\n`);
      expect(token.requests).toEqual([]);

      const status = await counted(mode, ["auth", "status"], h.env);
      expect(status.result.code).toBe(0);
      expect(status.requests).toEqual([userinfo]);

      const me = await counted(mode, ["auth", "me"], h.env);
      expect(me.result.code).toBe(0);
      expect(me.requests.sort()).toEqual([...mode.meRequests].sort());
    });

    test("the cache: 0600 in a 0700 folder, what the server is, no token", async () => {
      const tokens = await mode.session();
      const h = home(mode, tokens);
      await counted(mode, ["auth", "status"], h.env);
      const text = readFileSync(h.cache, "utf8");
      expect(statSync(h.cache).mode & 0o777).toBe(0o600);
      expect(statSync(join(h.dir, ".cache", "pipeops")).mode & 0o777).toBe(0o700);
      const cache = JSON.parse(text);
      expect(Object.keys(cache.servers)).toEqual([mode.url()]);
      expect(cache.servers[mode.url()].facts.kind).toBe(mode.name.includes("PipeOps") ? "pipeops" : "standard");
      expect(text).not.toContain(tokens.access_token);
      expect(text).not.toContain(tokens.refresh_token!);
    });

    test("a broken or foreign cache is ignored and rewritten, never fatal", async () => {
      const tokens = await mode.session();
      for (const junk of [
        "{not json",
        JSON.stringify({ version: 99 }),
        JSON.stringify({
          version: 1,
          servers: { [mode.url()]: { facts: { kind: "standard", metadata: { issuer: "javascript:alert(1)" } }, learned_at: Date.now(), clock_offset_ms: 0 } },
        }),
      ]) {
        const h = home(mode, tokens);
        mkdirSync(join(h.dir, ".cache", "pipeops"), { recursive: true });
        writeFileSync(h.cache, junk);
        const status = await counted(mode, ["auth", "status"], h.env);
        expect(status.result.stderr).toBe("");
        expect(status.result.code).toBe(0);
        expect(JSON.parse(readFileSync(h.cache, "utf8")).version).toBe(1);
      }
    });

    test("what was learned a day ago is learned again", async () => {
      const tokens = await mode.session();
      const h = home(mode, tokens);
      await counted(mode, ["auth", "status"], h.env);
      const cache = JSON.parse(readFileSync(h.cache, "utf8"));
      cache.servers[mode.url()].learned_at -= 25 * 60 * 60 * 1000;
      writeFileSync(h.cache, JSON.stringify(cache));
      const again = await counted(mode, ["auth", "status"], h.env);
      expect(again.requests.length).toBeGreaterThan(1);
      expect(again.requests.at(-1)).toBe(mode.meRequests[0]);
    });

    test("login sends only what its flow needs once the server is known", async () => {
      const tokens = await mode.session();
      const h = home(mode, tokens);
      await counted(mode, ["auth", "status"], h.env);
      mode.reset();
      const urlFile = join(h.dir, "browser-url");
      const cli = spawnBinary(["auth", "login"], { env: { ...h.env, DISPLAY: ":0", BROWSER: fakeBrowser(h.dir, urlFile) } });
      const url = await waitForFile(urlFile);
      const back = await completeAuthorization(url);
      const signIn = mode.requests();
      await fetch(back);
      const login = await cli.result;
      expect(login.stderr).toEndWith("\n\nWaiting for authentication...\n");
      expect(login.code).toBe(0);
      // The browser's own requests to the sign-in pages are not the CLI's.
      const byCli = mode.requests().slice(signIn.length);
      expect(byCli).toEqual([mode.name.includes("PipeOps") ? "POST /oauth/token" : "POST /token", mode.meRequests[0]!]);
    });
  });
}

describe("what was learned, kept apart and kept fresh", () => {
  test("PIPEOPS_API_URL naming another server uses that server's own entry", async () => {
    const dir = tempDir();
    for (const mode of MODES) {
      const tokens = await mode.session();
      const env = { HOME: dir, ...mode.env(), PIPEOPS_AUTH_TOKEN: tokens.access_token };
      expect((await runBinary(["auth", "status"], { env })).code).toBe(0);
    }
    const cache = JSON.parse(readFileSync(join(dir, ".cache", "pipeops", "servers.json"), "utf8"));
    expect(Object.keys(cache.servers).sort()).toEqual([proxy.url, pipeops.url].sort());
    expect(cache.servers[proxy.url].facts.kind).toBe("standard");
    expect(cache.servers[pipeops.url].facts.kind).toBe("pipeops");
  });

  test("an endpoint that moved (404) is learned again once, without the user doing anything", async () => {
    const mode = MODES[0]!;
    const tokens = await mode.session();
    const h = home(mode, tokens);
    const first = await counted(mode, ["auth", "status"], h.env);
    expect(first.requests).toEqual([...mode.discovery, "GET /me"]);
    const cache = JSON.parse(readFileSync(h.cache, "utf8"));
    cache.servers[mode.url()].facts.metadata.userinfo_endpoint = `${mode.url()}/moved-away`;
    writeFileSync(h.cache, JSON.stringify(cache));
    const status = await counted(mode, ["auth", "status"], h.env);
    expect(status.result.code).toBe(0);
    expect(status.requests).toEqual(["GET /moved-away", ...mode.discovery, "GET /me"]);
    const relearned = JSON.parse(readFileSync(h.cache, "utf8"));
    expect(relearned.servers[mode.url()].facts.metadata.userinfo_endpoint).toBe(`${mode.url()}/me`);
  });

  test("the server's clock offset is remembered: auth token judges expiry by it with no request", async () => {
    const mode = MODES[0]!;
    const tokens = await mode.session();
    // The server's clock is two hours ahead of ours: a token "valid for an hour" here is expired there.
    const ahead = new Date(Date.now() + 2 * 60 * 60 * 1000).toUTCString();
    const h = home(mode, tokens);
    proxy.use({ fault: { kind: "pass", transform: (answer) => ({ ...answer, headers: { ...answer.headers, date: ahead } }) } });
    // status learns the offset (and refreshes the token expiring "now" in server time).
    const learned = await runBinary(["auth", "status"], { env: h.env });
    expect(learned.code).toBe(0);
    const cache = JSON.parse(readFileSync(h.cache, "utf8"));
    expect(Math.abs(cache.servers[mode.url()].clock_offset_ms - 2 * 60 * 60 * 1000)).toBeLessThan(5_000);
    const refreshed = JSON.parse(readFileSync(h.path, "utf8"));
    expect(refreshed.auth_token).not.toBe(tokens.access_token);
    proxy.requests.length = 0;
    const token = await runBinary(["auth", "token"], { env: h.env });
    expect(token.stdout).toBe(`${refreshed.auth_token}\n`);
    expect(proxy.requests).toEqual([]);
    proxy.use();
  });

  test("an environment token never touches the credential file; the cache is no credential", async () => {
    const mode = MODES[1]!;
    const dir = tempDir();
    const token = pipeops.issueServiceToken();
    expect((await runBinary(["auth", "status"], { env: { HOME: dir, ...mode.env(), PIPEOPS_TOKEN: token } })).code).toBe(0);
    expect(existsSync(join(dir, ".pipeops.json"))).toBe(false);
    expect(readFileSync(join(dir, ".cache", "pipeops", "servers.json"), "utf8")).not.toContain(token);
  });
});
