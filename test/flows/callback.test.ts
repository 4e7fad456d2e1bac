/**
 * The loopback callback server under hostile requests, and the browser login run in-process against
 * the local authorization server (the "browser" is test code that follows the CLI's URL over HTTP).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { command as loginCommand } from "../../src/commands/auth/login.ts";
import { CALLBACK_PATH, isOwnHost, LOCALHOST_PORTS, startCallbackServer } from "../../src/login/loopback.ts";
import { successPage } from "../../src/login/pages.ts";
import { constantTimeEqual } from "../../src/server/state.ts";

const login = loginCommand.run;

import { CliError } from "../../src/errors.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { testContext } from "../helpers/context.ts";
import { completeAuthorization } from "../helpers/flows.ts";
import { portClosed, readConfig, tempHome } from "../helpers/interactive.ts";

// Servers, processes and a browser on a shared 2-core machine: generous limits (bunfig's is not applied).
setDefaultTimeout(60_000);

/** Settles to "pending" when the promise has not settled by the time already-queued work ran. */
async function stillPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  await Bun.sleep(20);
  return (await Promise.race([promise, Promise.resolve(marker)])) === marker;
}

describe("callback server", () => {
  const STATE = "expected-state-0123456789abcdefghijklmnopqrstuv";

  test("listens on 127.0.0.1 with an ephemeral port and the /callback path (RFC 8252 §7.3)", async () => {
    const server = startCallbackServer(bunRuntime.serve, STATE);
    try {
      const [, port] = /^http:\/\/127\.0\.0\.1:(\d+)\/callback$/.exec(server.redirectUri) ?? [];
      expect(Number(port)).toBeGreaterThan(1023);
      const answer = fetch(`http://127.0.0.1:${port}/callback?state=${STATE}&code=abc`);
      const request = await server.callback;
      expect(request.params.get("code")).toBe("abc");
      request.answer(successPage());
      expect((await answer).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  test("for PipeOps: http://localhost:<port>/callback on 127.0.0.1 and ::1, one of the official client's ports", async () => {
    // (Whether a taken port moves on to the next is seen in test/flows/pipeops.test.ts with two binaries:
    // inside bun test, a second server may bind a port in use.)
    const server = startCallbackServer(bunRuntime.serve, STATE, "localhost");
    try {
      const port = Number(/^http:\/\/localhost:(\d+)\/callback$/.exec(server.redirectUri)?.[1]);
      expect([8080, 8085, 8086, 8087, 8088, 8089]).toContain(port);
      expect(LOCALHOST_PORTS.at(-1)).toBe(0);
      for (const host of ["127.0.0.1", "[::1]"]) expect((await fetch(`http://${host}:${port}/`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  test("stray requests get 4xx answers and never settle the login", async () => {
    const server = startCallbackServer(bunRuntime.serve, STATE);
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const cases: [string, RequestInit, number, string][] = [
        [`${base}/`, {}, 404, "Not found"],
        [`${base}/favicon.ico`, {}, 404, "Not found"],
        [`${base}/callback/../admin`, {}, 404, "Not found"],
        [`${base}${CALLBACK_PATH}?code=abc&state=${STATE}`, { method: "POST" }, 405, "Method not allowed"],
        [`${base}${CALLBACK_PATH}?code=abc`, {}, 400, "Unknown sign-in request"],
        [`${base}${CALLBACK_PATH}?code=abc&state=`, {}, 400, "Unknown sign-in request"],
        [`${base}${CALLBACK_PATH}?code=abc&state=${STATE.slice(0, -1)}X`, {}, 400, "Unknown sign-in request"],
        [`${base}${CALLBACK_PATH}?error=access_denied&state=wrong`, {}, 400, "Unknown sign-in request"],
        // DNS rebinding: a foreign name resolving to 127.0.0.1, or our address with another port.
        [`${base}${CALLBACK_PATH}?code=abc&state=${STATE}`, { headers: { host: `evil.example:${server.port}` } }, 403, "Forbidden"],
        [`${base}${CALLBACK_PATH}?code=abc&state=${STATE}`, { headers: { host: `127.0.0.1:${server.port + 1}` } }, 403, "Forbidden"],
        [`${base}${CALLBACK_PATH}?code=abc&state=${STATE}`, { headers: { host: "127.0.0.1" } }, 403, "Forbidden"],
      ];
      for (const [url, init, status, title] of cases) {
        const response = await fetch(url, init);
        expect({ url, host: new Headers(init.headers).get("host"), status: response.status }).toEqual({
          url,
          host: new Headers(init.headers).get("host"),
          status,
        });
        expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
        expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
        expect(await response.text()).toContain(`<h1 id="title">${title}</h1>`);
      }
      expect(await stillPending(server.callback)).toBe(true);
    } finally {
      server.close();
    }
  });

  test("the matching request is handed over, answered with the CLI's page, and the port then closes", async () => {
    const server = startCallbackServer(bunRuntime.serve, STATE);
    const browser = fetch(`http://localhost:${server.port}${CALLBACK_PATH}?code=the-code&state=${STATE}`);
    const request = await server.callback;
    expect(request.params.get("code")).toBe("the-code");
    request.answer(successPage());
    const response = await browser;
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.text()).toContain("You may close this window");
    expect(await portClosed(server.port)).toBe(true);
  });

  test("close() answers a browser that is still waiting and frees the port", async () => {
    const server = startCallbackServer(bunRuntime.serve, STATE);
    const browser = fetch(`http://127.0.0.1:${server.port}${CALLBACK_PATH}?code=c&state=${STATE}`);
    await server.callback;
    server.close();
    const response = await browser;
    expect(await response.text()).toContain("Authentication failed");
    expect(await portClosed(server.port)).toBe(true);
  });

  test("Host check and constant-time comparison", () => {
    expect(isOwnHost("127.0.0.1:5000", 5000)).toBe(true);
    expect(isOwnHost("LOCALHOST:5000", 5000)).toBe(true);
    expect(isOwnHost("localhost", 5000)).toBe(false);
    expect(isOwnHost("127.0.0.1.nip.io:5000", 5000)).toBe(false);
    expect(isOwnHost(null, 5000)).toBe(false);
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abd", "abc")).toBe(false);
    expect(constantTimeEqual("ab", "abc")).toBe(false);
    expect(constantTimeEqual("abcd", "abc")).toBe(false);
    expect(constantTimeEqual("", "abc")).toBe(false);
  });
});

describe("browser login in-process against the local authorization server", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** A context whose "browser" hands the authorization URL to act(); runs login() and returns both. */
  async function browserLogin(act: (authorizationUrl: URL) => Promise<void>, extraEnv: Record<string, string> = {}) {
    const { env, configPath } = tempHome();
    let acting: Promise<void> = Promise.resolve();
    const ctx = testContext({
      env: { ...env, DISPLAY: ":0", PIPEOPS_API_URL: server.url, ...extraEnv },
      openBrowser: async (url) => {
        acting = act(new URL(url));
        return true;
      },
    });
    const outcome = await login(ctx, { browser: undefined, withToken: false, timeoutSeconds: 30, qr: false }).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    await acting;
    return { ...outcome, ctx, configPath };
  }

  const callbackFor = (authorizationUrl: URL, params: Record<string, string>) => {
    const callback = new URL(authorizationUrl.searchParams.get("redirect_uri")!);
    for (const [key, value] of Object.entries(params)) callback.searchParams.set(key, value);
    return callback;
  };

  test("sends PKCE S256, state and the default scopes; stores tokens and replaces the old ones", async () => {
    let requested: URL | undefined;
    let page: Promise<string> | undefined;
    const { env, configPath } = tempHome();
    writeFileSync(configPath, JSON.stringify({ auth_token: "old", refresh_token: "old-r", theme: "dark" }), { mode: 0o600 });
    const ctx = testContext({
      env: { ...env, DISPLAY: ":0", PIPEOPS_API_URL: server.url },
      openBrowser: async (url) => {
        requested = new URL(url);
        page = completeAuthorization(url).then(async (location) => (await fetch(location)).text());
        return true;
      },
    });
    const result = await login(ctx, { browser: undefined, withToken: false, timeoutSeconds: 30, qr: false });
    expect(result).toEqual({ email: "user@example.com" });
    const params = requested!.searchParams;
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("state")!.length).toBeGreaterThanOrEqual(32);
    expect(params.get("scope")).toBe("openid profile email offline_access");
    expect(params.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(ctx.err()).toBe(`If the browser does not open, visit:\n${requested!.href}\n\nWaiting for authentication...\n`);
    const stored = readConfig(configPath)!;
    expect(stored.theme).toBe("dark");
    expect(stored.auth_token).not.toBe("old");
    expect(stored.refresh_token).not.toBe("old-r");
    expect(await page).toContain("You may close this window");
  });

  test("PIPEOPS_SCOPES overrides the scopes", async () => {
    let scope: string | null = null;
    const { result } = await browserLogin(
      async (url) => {
        scope = url.searchParams.get("scope");
        await fetch(await completeAuthorization(url.href));
      },
      { PIPEOPS_SCOPES: "openid,email" },
    );
    expect(scope!).toBe("openid email");
    expect(result).toEqual({ email: "user@example.com" });
  });

  test("a wrong-state callback is refused with 400 while the login keeps waiting and then succeeds", async () => {
    const statuses: number[] = [];
    const { result } = await browserLogin(async (url) => {
      const forged = await fetch(callbackFor(url, { code: "forged", state: "attacker", iss: server.url }));
      statuses.push(forged.status);
      const forgedError = await fetch(callbackFor(url, { error: "access_denied", state: "attacker" }));
      statuses.push(forgedError.status);
      const real = await fetch(await completeAuthorization(url.href));
      statuses.push(real.status);
    });
    expect(statuses).toEqual([400, 400, 200]);
    expect(result).toEqual({ email: "user@example.com" });
  });

  test("denial at the sign-in page: the page says so, the CLI fails with 'authentication was denied', nothing stored", async () => {
    let page = "";
    const { error, configPath } = await browserLogin(async (url) => {
      page = await (await fetch(await completeAuthorization(url.href, { deny: true }))).text();
    });
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe("auth_denied");
    expect((error as CliError).message).toBe("authentication was denied");
    expect((error as CliError).hint).toBe("Run 'pipeops auth login' to try again");
    expect(page).toContain("Authentication was denied");
    expect(readConfig(configPath)).toBeNull();
  });

  test("markup and control characters in error_description are escaped on the page and stripped in the terminal", async () => {
    let page = "";
    const description = `<img src=x onerror=alert(1)>\u001b[31mred\u0007`;
    const { error } = await browserLogin(async (url) => {
      const state = url.searchParams.get("state")!;
      const response = await fetch(callbackFor(url, { error: "server_error", error_description: description, state, iss: server.url }));
      page = await response.text();
    });
    expect((error as CliError).code).toBe("auth_denied");
    expect((error as CliError).message).toBe("authentication failed (server_error: <img src=x onerror=alert(1)> [31mred)");
    expect((error as CliError).message).not.toMatch(/[\u0000-\u001f]/);
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  test("a response naming another issuer (RFC 9207 mix-up) is rejected", async () => {
    const { error } = await browserLogin(async (url) => {
      await fetch(callbackFor(url, { code: "c", state: url.searchParams.get("state")!, iss: "https://evil.example" }));
    });
    expect((error as CliError).message).toContain("issuer mismatch");
  });

  test("a browser that fails to start is not an error: the URL is on screen and the wait goes on", async () => {
    const { env } = tempHome();
    let user: Promise<void> | undefined;
    const ctx = testContext({
      env: { ...env, DISPLAY: ":0", PIPEOPS_API_URL: server.url },
      openBrowser: async () => {
        // The user copies the printed URL by hand.
        const url = /visit:\n(\S+)\n/.exec(ctx.err())![1]!;
        user = completeAuthorization(url).then(async (location) => void (await fetch(location)));
        return false;
      },
    });
    expect(await login(ctx, { browser: true, withToken: false, timeoutSeconds: 30, qr: false })).toEqual({ email: "user@example.com" });
    await user;
  });
});
