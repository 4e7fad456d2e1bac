/**
 * Stored credentials belong to the server that issued them (the file's api_url): the compiled
 * binary never sends them to another server that PIPEOPS_API_URL names. A listening decoy counts
 * every request it receives, and must receive none.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { runBinary } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";
import { loginWithAuthorizationCode, pipeopsLogin, type TokenSet } from "../helpers/flows.ts";

let server: DevServer;
let tokens: TokenSet;
let decoy: ReturnType<typeof Bun.serve>;
const received: string[] = [];

beforeAll(async () => {
  server = await startDevServer({ port: 0 });
  tokens = await loginWithAuthorizationCode(server);
  decoy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received.push(`${request.method} ${new URL(request.url).pathname} ${request.headers.get("authorization") ?? ""} ${await request.text()}`);
      return new Response("not found", { status: 404 });
    },
  });
});
afterAll(async () => {
  await decoy?.stop(true);
  await server?.close();
});

function storedFor(apiUrl: string, expiresAt = "2099-12-31T23:59:59Z") {
  const home = tempDir();
  const path = join(home, ".pipeops.json");
  const file = { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: expiresAt, api_url: apiUrl };
  writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
  return { home, path, file };
}

const decoyUrl = () => `http://127.0.0.1:${decoy.port}`;
const STORED_LINE = () => `The stored session belongs to ${server.url}; unset PIPEOPS_API_URL to use it\n`;

describe("PIPEOPS_API_URL naming another server than the stored session's", () => {
  test("status: not authenticated, naming the session's server; the decoy receives nothing", async () => {
    received.length = 0;
    const { home } = storedFor(server.url);
    const result = await runBinary(["auth", "status"], { env: { HOME: home, PIPEOPS_API_URL: decoyUrl() } });
    expect(result).toEqual({
      code: 1,
      stdout: `✗ Not authenticated\nRun 'pipeops auth login' to authenticate\n${STORED_LINE()}`,
      stderr: "",
    });
    expect(received).toEqual([]);
  });

  test("me and token: the spec's not-authenticated error with the second line; an expired session is not refreshed there", async () => {
    received.length = 0;
    for (const expiresAt of ["2099-12-31T23:59:59Z", "2000-01-01T00:00:00Z"]) {
      const { home, path, file } = storedFor(server.url, expiresAt);
      for (const command of ["me", "token"]) {
        const result = await runBinary(["auth", command], { env: { HOME: home, PIPEOPS_API_URL: decoyUrl() } });
        expect(result).toEqual({
          code: 1,
          stdout: "",
          stderr: `Error: not authenticated\nRun 'pipeops auth login' to authenticate\n${STORED_LINE()}`,
        });
      }
      expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(file);
    }
    expect(received).toEqual([]);
  });

  test("logout --revoke revokes at the session's own server, never at the decoy", async () => {
    received.length = 0;
    const fresh = await loginWithAuthorizationCode(server);
    const home = tempDir();
    writeFileSync(join(home, ".pipeops.json"), JSON.stringify({ auth_token: fresh.access_token, refresh_token: fresh.refresh_token, api_url: server.url }));
    const before = server.stats.revocations;
    const result = await runBinary(["auth", "logout", "--force", "--revoke"], { env: { HOME: home, PIPEOPS_API_URL: decoyUrl() } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("✓ Revoked the tokens at the server\n");
    expect(server.stats.revocations - before).toBe(2);
    expect(received).toEqual([]);
  });

  test("the same server spelled with a trailing slash is the same server", async () => {
    const { home } = storedFor(server.url);
    const result = await runBinary(["auth", "status"], { env: { HOME: home, PIPEOPS_API_URL: `${server.url}/` } });
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith("✓ Authenticated as user@example.com\n");
  });

  test("a file without api_url belongs to PIPEOPS_API_URL when it is set", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".pipeops.json"), JSON.stringify({ auth_token: tokens.access_token }));
    const result = await runBinary(["auth", "status"], { env: { HOME: home, PIPEOPS_API_URL: server.url } });
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith("✓ Authenticated as user@example.com\n");
  });
});

describe("a token from the environment goes to PIPEOPS_API_URL or production, never to a file's server", () => {
  // The file holds no credentials of its own, only where they would go: ours, and the official CLI's key.
  for (const [name, file] of [
    ["api_url", (url: string) => ({ api_url: url })],
    ["the official CLI's oauth.base_url", (url: string) => ({ oauth: { base_url: url, access_token: "" } })],
  ] as const) {
    test(`a token-less file's ${name} receives nothing of PIPEOPS_AUTH_TOKEN or PIPEOPS_TOKEN`, async () => {
      received.length = 0;
      const home = tempDir();
      writeFileSync(join(home, ".pipeops.json"), JSON.stringify(file(decoyUrl())), { mode: 0o600 });
      for (const variable of ["PIPEOPS_AUTH_TOKEN", "PIPEOPS_TOKEN"]) {
        // No network here: production cannot be reached, which fails fast; the decoy must see nothing.
        const result = await runBinary(["auth", "status", "--json"], { env: { HOME: home, [variable]: tokens.access_token, PIPEOPS_HTTP_TIMEOUT: "3" } });
        expect(result.code).toBe(1);
        expect(JSON.parse(result.stdout)).toMatchObject({ authenticated: false, token_valid: false, api_url: "https://api.pipeops.io", source: "env" });
      }
      expect(received).toEqual([]);
    });
  }

  test("with PIPEOPS_API_URL set, the token goes there and the file's server still receives nothing", async () => {
    received.length = 0;
    const home = tempDir();
    writeFileSync(join(home, ".pipeops.json"), JSON.stringify({ api_url: decoyUrl() }), { mode: 0o600 });
    const result = await runBinary(["auth", "status"], { env: { HOME: home, PIPEOPS_AUTH_TOKEN: tokens.access_token, PIPEOPS_API_URL: server.url } });
    expect(result.code).toBe(0);
    expect(received).toEqual([]);
  });
});

describe("what the cache says of a server cannot route its tokens elsewhere", () => {
  /** A HOME whose cache was written by a first run against the server, then edited by `tamper`. */
  async function tamperedCache(url: string, tamper: (entry: { facts: Record<string, unknown> }) => void, env: Record<string, string>) {
    const home = tempDir();
    const first = await runBinary(["auth", "status"], { env: { HOME: home, ...env } });
    expect(first.code).toBe(0);
    const cachePath = join(home, ".cache", "pipeops", "servers.json");
    const cache = JSON.parse(readFileSync(cachePath, "utf8"));
    tamper(cache.servers[url]);
    writeFileSync(cachePath, JSON.stringify(cache), { mode: 0o600 });
    return { home, cachePath };
  }

  test("a cached token or userinfo endpoint on another origin is ignored and reported: the decoy receives neither the env token nor the stored tokens", async () => {
    const env = { PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: tokens.access_token };
    for (const key of ["userinfo_endpoint", "token_endpoint"]) {
      received.length = 0;
      const { home } = await tamperedCache(
        server.url,
        (entry) => {
          (entry.facts.metadata as Record<string, string>)[key] = `${decoyUrl()}/steal`;
        },
        env,
      );
      // The env token (status), and a stored expired session whose refresh goes to the token endpoint.
      const withEnv = await runBinary(["auth", "status"], { env: { HOME: home, ...env } });
      // That run learned the server again and wrote it back: tamper once more.
      const cachePath = join(home, ".cache", "pipeops", "servers.json");
      const cache = JSON.parse(readFileSync(cachePath, "utf8"));
      cache.servers[server.url].facts.metadata[key] = `${decoyUrl()}/steal`;
      writeFileSync(cachePath, JSON.stringify(cache), { mode: 0o600 });
      const fresh = await loginWithAuthorizationCode(server);
      const file = { auth_token: fresh.access_token, refresh_token: fresh.refresh_token, expires_at: "2000-01-01T00:00:00Z", api_url: server.url };
      writeFileSync(join(home, ".pipeops.json"), JSON.stringify(file), { mode: 0o600 });
      const stored = await runBinary(["auth", "token"], { env: { HOME: home } });
      for (const result of [withEnv, stored]) {
        expect(result.code).toBe(0);
        expect(result.stderr).toStartWith(`Warning: ignored what was cached about ${server.url}: its ${key} is on another origin\n`);
      }
      expect(received).toEqual([]);
    }
  });

  test("the same for the PipeOps API, cached as a standards server whose endpoints are the decoy's", async () => {
    const pipeops = await startPipeOpsServer();
    try {
      const login = await pipeopsLogin(pipeops);
      const env = { PIPEOPS_API_URL: pipeops.url, PIPEOPS_AUTH_TOKEN: login.access_token };
      received.length = 0;
      const { home } = await tamperedCache(
        pipeops.url,
        (entry) => {
          entry.facts = { kind: "standard", metadata: { issuer: decoyUrl(), token_endpoint: `${decoyUrl()}/t`, userinfo_endpoint: `${decoyUrl()}/u` } };
        },
        env,
      );
      const result = await runBinary(["auth", "status"], { env: { HOME: home, ...env } });
      expect(result.code).toBe(0);
      expect(result.stderr).toStartWith(`Warning: ignored what was cached about ${pipeops.url}: its issuer is on another origin\n`);
      expect(received).toEqual([]);
    } finally {
      await pipeops.close();
    }
  });

  test("a cache file others may write, or in a folder others may write, is ignored and reported", async () => {
    const env = { PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: tokens.access_token };
    for (const [what, loosen] of [
      ["the file", (path: string) => chmodSync(path, 0o666)],
      ["its folder", (path: string) => chmodSync(dirname(path), 0o777)],
      // Owned by another user (the tests run as root, whose own files count as ours).
      ["the file", (path: string) => chownSync(path, 4242, 4242)],
    ] as const) {
      const { home, cachePath } = await tamperedCache(server.url, () => {}, env);
      loosen(cachePath);
      const result = await runBinary(["auth", "status"], { env: { HOME: home, ...env } });
      expect(result.code).toBe(0);
      expect(result.stderr.split("\n")[0]).toBe(`Warning: ignored the cache ${cachePath}: ${what} can be written by other users`);
    }
  });

  test("a cached endpoint that answers 404 is learned again, and that is said", async () => {
    const env = { PIPEOPS_API_URL: server.url, PIPEOPS_AUTH_TOKEN: tokens.access_token };
    const { home } = await tamperedCache(
      server.url,
      (entry) => {
        (entry.facts.metadata as Record<string, string>).userinfo_endpoint = `${server.url}/gone`;
      },
      env,
    );
    const result = await runBinary(["auth", "status"], { env: { HOME: home, ...env } });
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith("✓ Authenticated as user@example.com\n");
    expect(result.stderr).toStartWith(
      `Warning: what was cached about ${server.url} was out of date (${server.url} has no such endpoint (HTTP 404)); it was learned again\n`,
    );
  });
});

describe("live discovery metadata naming endpoints on another origin", () => {
  /** A server whose metadata is its own, but whose endpoints are the decoy's. */
  function hostileMetadata() {
    const hostile: ReturnType<typeof Bun.serve> = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request): Response {
        const base: string = `http://127.0.0.1:${hostile.port}`;
        received.push(`hostile ${new URL(request.url).pathname}`);
        if (!new URL(request.url).pathname.startsWith("/.well-known/")) return new Response("not found", { status: 404 });
        return Response.json({
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${decoyUrl()}/token`,
          userinfo_endpoint: `${decoyUrl()}/me`,
          device_authorization_endpoint: `${decoyUrl()}/device`,
          code_challenge_methods_supported: ["S256"],
        });
      },
    });
    return { url: `http://127.0.0.1:${hostile.port}`, stop: () => hostile.stop(true) };
  }

  test("status, an expired session's auth token, and login: exit 1, the refusal named, and the decoy receives nothing", async () => {
    const hostile = hostileMetadata();
    try {
      const stored = (expiresAt: string) => {
        const home = tempDir();
        const file = { auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: expiresAt, api_url: hostile.url };
        writeFileSync(join(home, ".pipeops.json"), JSON.stringify(file), { mode: 0o600 });
        return home;
      };
      received.length = 0;
      const runs = [
        await runBinary(["auth", "status"], { env: { HOME: stored("2099-01-01T00:00:00Z") } }),
        await runBinary(["auth", "token"], { env: { HOME: stored("2000-01-01T00:00:00Z") } }),
        await runBinary(["auth", "login", "--no-browser"], { env: { HOME: tempDir(), PIPEOPS_API_URL: hostile.url } }),
      ];
      for (const result of runs) {
        expect(result.code).toBe(1);
        expect(result.stdout).toBe("");
        expect(result.stderr).toMatch(
          new RegExp(
            `^Error: ${hostile.url.replaceAll(".", "\\.")} published its (token_endpoint|userinfo_endpoint|device_authorization_endpoint) on another origin than its own; the CLI sends nothing there\n$`,
          ),
        );
      }
      // Only the metadata was asked for; nothing reached the decoy.
      expect(received.filter((line) => !line.startsWith("hostile /.well-known/"))).toEqual([]);
    } finally {
      hostile.stop();
    }
  });
});

describe("a login to a server a token-less file names: said before anything is sent, and never from a file others can write", () => {
  for (const [key, file] of [
    ["api_url", (url: string) => ({ api_url: url })],
    ["oauth.base_url", (url: string) => ({ oauth: { base_url: url, client_id: "pipeops_public_client" } })],
  ] as const) {
    test(`${key}: 'Logging in to …' names the server, the key and the file on stderr, first`, async () => {
      const home = tempDir();
      writeFileSync(join(home, ".pipeops.json"), JSON.stringify(file(server.url)), { mode: 0o600 });
      const result = await runBinary(["auth", "login", "--with-token"], { env: { HOME: home }, stdin: `${tokens.access_token}\n` });
      expect(result).toEqual({
        code: 0,
        stdout: "✓ Successfully authenticated as user@example.com\n",
        stderr: `Logging in to ${server.url} (${key} in ~/.pipeops.json)\n`,
      });
    });

    test(`${key} in a file other users can write: not used (production instead), with a warning; the named server receives nothing`, async () => {
      for (const [loose, make] of [
        ["the file", (_home: string, path: string) => chmodSync(path, 0o666)],
        ["its folder", (home: string, _path: string) => chmodSync(home, 0o777)],
      ] as const) {
        received.length = 0;
        const home = tempDir();
        const path = join(home, ".pipeops.json");
        writeFileSync(path, JSON.stringify(file(`http://127.0.0.1:${decoy.port}`)), { mode: 0o600 });
        make(home, path);
        const result = await runBinary(["auth", "login", "--with-token"], {
          env: { HOME: home, PIPEOPS_HTTP_TIMEOUT: "3" },
          stdin: `${tokens.access_token}\n`,
        });
        expect(result.code).toBe(1);
        const hint =
          loose === "the file"
            ? `Set PIPEOPS_API_URL to choose the server, and make the file yours alone (chmod 600 ${path})`
            : "Set PIPEOPS_API_URL to choose the server, and make its folder yours alone (chmod go-w)";
        expect(result.stderr).toContain(`Warning: the server and console named in ${path} are not used: other users can write ${loose}\n${hint}\n`);
        // No network here: production cannot be reached, which fails fast.
        expect(result.stderr).toContain("Error: could not reach https://api.pipeops.io");
        expect(received).toEqual([]);
      }
    });
  }
});

describe("the global flags (--config, --quiet, --verbose) are not taken from after -- or from another flag's value", () => {
  test("--timeout --quiet is a bad timeout, not --quiet; status -- --quiet is an argument", async () => {
    const home = tempDir();
    expect(await runBinary(["auth", "login", "--timeout", "--quiet"], { env: { HOME: home } })).toEqual({
      code: 2,
      stdout: "",
      stderr: "Error: --timeout must be a positive number of seconds, got '--quiet'\nRun 'pipeops auth login --help' for usage\n",
    });
    expect(await runBinary(["auth", "status", "--", "--quiet"], { env: { HOME: home } })).toEqual({
      code: 2,
      stdout: "",
      stderr: "Error: auth status takes no arguments\nRun 'pipeops auth status --help' for usage\n",
    });
  });
});
