/**
 * `pipeops auth login` end to end: the compiled binary against the local authorization server, with
 * the user's part played over HTTP by test/helpers/flows.ts.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { BINARY, runBinary, runProgram, spawnBinary, TOKEN_REFUSED } from "../helpers/binary.ts";
import { approveDevice, completeAuthorization, loginWithAuthorizationCode } from "../helpers/flows.ts";
import { fakeBrowser, fileMode, portClosed, readConfig, redirectPort, spawnInTerminal, tempHome, typeHiddenToken } from "../helpers/interactive.ts";

// Servers, processes and a browser on a shared 2-core machine: generous limits (bunfig's is not applied).
setDefaultTimeout(60_000);

const DEVICE_PROMPT = /Please open this URL in your browser to authenticate:\n(\S+)\n\nWaiting for authentication\.\.\.\n/;
const BROWSER_PROMPT = /If the browser does not open, visit:\n(\S+)\n\nWaiting for authentication\.\.\.\n/;
const SSH = { SSH_CONNECTION: "192.0.2.10 50000 192.0.2.20 22", DISPLAY: ":0" };

let server: DevServer;
let noDeviceServer: DevServer;

beforeAll(async () => {
  [server, noDeviceServer] = await Promise.all([startDevServer(), startDevServer({ deviceFlow: false })]);
});
afterAll(async () => {
  await Promise.all([server?.close(), noDeviceServer?.close()]);
});

describe("--no-browser with a device authorization endpoint (RFC 8628)", () => {
  test("prints the spec's lines, finishes when approved elsewhere, and stores the credentials 0600", async () => {
    const { env, configPath } = tempHome();
    const grantsBefore = server.stats.deviceCodeGrants;
    const cli = spawnBinary(["auth", "login", "--no-browser"], { env: { ...env, PIPEOPS_API_URL: server.url } });
    const [, url] = await cli.waitForStderr(DEVICE_PROMPT);
    expect(url).toStartWith(`${server.url}/device?user_code=`);
    await approveDevice(url!);
    const result = await cli.result;

    expect(result.code).toBe(0);
    expect(result.stdout).toBe("✓ Successfully authenticated as user@example.com\n");
    expect(result.stderr).toBe(`Please open this URL in your browser to authenticate:\n${url}\n\nWaiting for authentication...\n`);
    expect(server.stats.deviceCodeGrants).toBe(grantsBefore + 1);

    const stored = readConfig(configPath)!;
    expect(Object.keys(stored).sort()).toEqual(["api_url", "auth_token", "expires_at", "refresh_token"]);
    expect(stored.api_url).toBe(server.url);
    expect(typeof stored.auth_token).toBe("string");
    expect(typeof stored.refresh_token).toBe("string");
    expect(Date.parse(String(stored.expires_at))).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(fileMode(configPath)).toBe(0o600);
    expect(result.stdout + result.stderr).not.toContain(String(stored.auth_token));

    // The stored server is remembered: status works without PIPEOPS_API_URL.
    const status = await runBinary(["auth", "status"], { env });
    expect(status.stdout).toStartWith("✓ Authenticated as user@example.com\n");
    expect(status.code).toBe(0);
  });

  test("denial on the device page: exit 1, the spec-style error, and the previous credentials kept", async () => {
    const { env, configPath } = tempHome();
    const previous = { auth_token: "old-token", refresh_token: "old-refresh", api_url: server.url, theme: "dark" };
    writeFileSync(configPath, JSON.stringify(previous), { mode: 0o600 });
    const cli = spawnBinary(["auth", "login", "--no-browser"], { env: { ...env, PIPEOPS_API_URL: server.url } });
    const [, url] = await cli.waitForStderr(DEVICE_PROMPT);
    await approveDevice(url!, { deny: true });
    const result = await cli.result;

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toEndWith("Waiting for authentication...\nError: authentication was denied\nRun 'pipeops auth login' to try again\n");
    expect(readConfig(configPath)).toEqual(previous);
  });

  test("over SSH the device flow is the default, even with a display", async () => {
    const { env, home } = tempHome();
    const opened = join(home, "opened-url");
    // At a terminal, as an SSH session has one (with none, nobody could finish: see the CI tests).
    const cli = spawnInTerminal(["auth", "login"], { ...env, ...SSH, BROWSER: fakeBrowser(home, opened), PIPEOPS_API_URL: server.url });
    try {
      await cli.waitForScreen(/Please open this URL in your browser to authenticate:\r?\n\S+/);
      const url = /(http:\/\/\S+\/device\?user_code=[A-Z-]+)/.exec(cli.screen())?.[1];
      await approveDevice(url!);
      expect(await cli.exited).toBe(0);
    } finally {
      cli.close();
    }
    expect(existsSync(opened)).toBe(false);
  });
});

describe("--no-browser without a device endpoint: paste or loopback, whichever comes first", () => {
  const MANUAL_PROMPT = /Please open this URL in your browser to authenticate:\n(\S+)\n\n/;

  test("a pasted redirect URL completes the login", async () => {
    const { env, configPath } = tempHome();
    const cli = spawnBinary(["auth", "login", "--no-browser"], { env: { ...env, PIPEOPS_API_URL: noDeviceServer.url }, stdin: "pipe" });
    const [, url] = await cli.waitForStderr(MANUAL_PROMPT);
    await cli.waitForStderr(/Waiting for authentication\.\.\.\n/);
    expect(new URL(url!).searchParams.get("code_challenge_method")).toBe("S256");
    const port = redirectPort(url!);
    // The user's browser cannot reach this machine; they copy the address bar instead.
    const location = await completeAuthorization(url!);
    cli.write("not a url at all\n");
    await cli.waitForStderr(/That is not a sign-in address or code/);
    cli.write(`${location}\n`);
    const result = await cli.result;

    expect(result.code).toBe(0);
    expect(result.stdout).toBe("✓ Successfully authenticated as user@example.com\n");
    expect(readConfig(configPath)?.api_url).toBe(noDeviceServer.url);
    expect(await portClosed(port)).toBe(true);
  });

  test("a redirect URL from another login attempt is refused and the CLI keeps waiting", async () => {
    const { env } = tempHome();
    const cli = spawnBinary(["auth", "login", "--no-browser"], { env: { ...env, PIPEOPS_API_URL: noDeviceServer.url }, stdin: "pipe" });
    const [, url] = await cli.waitForStderr(MANUAL_PROMPT);
    const location = new URL(await completeAuthorization(url!));
    const realState = location.searchParams.get("state")!;
    location.searchParams.set("state", "someone-elses-state");
    cli.write(`${location.href}\n`);
    await cli.waitForStderr(/belongs to a different sign-in/);
    location.searchParams.set("state", realState);
    cli.write(`${location.href}\n`);
    expect((await cli.result).code).toBe(0);
  });

  test("the loopback redirect still works (port forwarded over SSH)", async () => {
    const { env, configPath } = tempHome();
    const cli = spawnBinary(["auth", "login", "--no-browser"], { env: { ...env, PIPEOPS_API_URL: noDeviceServer.url }, stdin: "pipe" });
    const [, url] = await cli.waitForStderr(MANUAL_PROMPT);
    const location = await completeAuthorization(url!);
    const page = await fetch(location);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("You may close this window");
    const result = await cli.result;
    expect(result.code).toBe(0);
    expect(readConfig(configPath)?.auth_token).toBeString();
  });
});

describe("waiting: --timeout and Ctrl-C", () => {
  test("--timeout ends the wait: exit 1, the hint, port freed, nothing stored", async () => {
    const { env, home, configPath } = tempHome();
    const started = Date.now();
    const cli = spawnBinary(["auth", "login", "--browser", "--timeout", "1"], {
      env: { ...env, ...SSH, BROWSER: fakeBrowser(home), PIPEOPS_API_URL: server.url },
    });
    const [, url] = await cli.waitForStderr(BROWSER_PROMPT);
    const result = await cli.result;
    expect(result.code).toBe(1);
    // No terminal here, so nobody was there to sign in: the hint names the ways that need nobody.
    expect(result.stderr).toEndWith(
      "Error: authentication timed out\nIn CI, set PIPEOPS_AUTH_TOKEN (or PIPEOPS_TOKEN), or pipe a token in: pipeops auth login --with-token < token.txt\n",
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(await portClosed(redirectPort(url!))).toBe(true);
    expect(existsSync(configPath)).toBe(false);
  });

  test("SIGINT while waiting: exit 130, callback server closed, nothing stored", async () => {
    const { env, home, configPath } = tempHome();
    const cli = spawnBinary(["auth", "login", "--browser"], {
      env: { ...env, BROWSER: fakeBrowser(home), DISPLAY: ":0", PIPEOPS_API_URL: server.url },
    });
    const [, url] = await cli.waitForStderr(BROWSER_PROMPT);
    const port = redirectPort(url!);
    expect(await portClosed(port)).toBe(false);
    cli.kill("SIGINT");
    const result = await cli.result;
    expect(result.code).toBe(130);
    expect(result.stdout).toBe("");
    expect(await portClosed(port)).toBe(true);
    expect(existsSync(configPath)).toBe(false);
  });

  test("a bad --timeout is a usage error", async () => {
    const result = await runBinary(["auth", "login", "--timeout", "soon"], { env: tempHome().env });
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("Error: --timeout must be a positive number of seconds, got 'soon'\n");
  });
});

describe("at a terminal", () => {
  test("--no-browser: a spinner with the time left, cleared when the login succeeds", async () => {
    const { env, configPath } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--no-browser"], { ...env, PIPEOPS_API_URL: server.url });
    try {
      await cli.waitForScreen(/Waiting for authentication\.\.\. \u001b\[2m\(\d:\d\d left\)/);
      const url = /\r\n(http\S+)\r\n/.exec(cli.screen())![1]!;
      await approveDevice(url);
      expect(await cli.exited).toBe(0);
      const screen = cli.screen();
      expect(screen).toStartWith(`Please open this URL in your browser to authenticate:\r\n${url}\r\n\r\n`);
      expect(screen).toMatch(/\r\u001b\[2K\u001b\[36m⠋\u001b\[39m Waiting for authentication\.\.\. \u001b\[2m\((5:00|4:59) left\)\u001b\[22m/);
      // The last frame is wiped before the result, so the success line stands alone.
      expect(screen).toEndWith("\r\u001b[2K\u001b[32m✓\u001b[39m Successfully authenticated as user@example.com\r\n");
      expect(readConfig(configPath)?.auth_token).toBeString();
    } finally {
      cli.close();
    }
  });
});

describe("--with-token", () => {
  test("a valid token from stdin is verified, stored, and never echoed", async () => {
    const { env, configPath } = tempHome();
    const { access_token } = await loginWithAuthorizationCode(server);
    const result = await runBinary(["auth", "login", "--with-token"], { env: { ...env, PIPEOPS_API_URL: server.url }, stdin: `${access_token}\n` });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("✓ Successfully authenticated as user@example.com\n");
    expect(result.stdout + result.stderr).not.toContain(access_token);
    expect(readConfig(configPath)).toEqual({ auth_token: access_token, api_url: server.url });
    expect(fileMode(configPath)).toBe(0o600);
  });

  test("an invalid token gets the spec's error and nothing is stored", async () => {
    const { env, configPath } = tempHome();
    const result = await runBinary(["auth", "login", "--with-token"], { env: { ...env, PIPEOPS_API_URL: server.url }, stdin: "not-a-real-token\n" });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`Error: invalid authentication token\n${TOKEN_REFUSED("--with-token")}\n`);
    expect(result.stderr).not.toContain("not-a-real-token");
    expect(existsSync(configPath)).toBe(false);
  });

  test("typed at a terminal: not shown while typed, echo back on afterwards", async () => {
    const { env, configPath } = tempHome();
    const { access_token } = await loginWithAuthorizationCode(server);
    const cli = spawnInTerminal(["auth", "login", "--with-token"], { ...env, PIPEOPS_API_URL: server.url });
    try {
      expect(cli.echoes()).toBe(true);
      await typeHiddenToken(cli, access_token);
      // Exactly our text: nothing the runtime adds (Bun's console.error would paint it red).
      expect(cli.screen()).toStartWith("Paste your token (it will not be shown), then press Enter:\r\n\u001b[32m✓");
      expect(readConfig(configPath)).toEqual({ auth_token: access_token, api_url: server.url });
    } finally {
      cli.close();
    }
  });

  test("Ctrl-C at the hidden prompt: exit 130, echo back on, what was typed dropped, nothing stored", async () => {
    const { env, configPath } = tempHome();
    const cli = spawnInTerminal(["auth", "login", "--with-token"], { ...env, PIPEOPS_API_URL: server.url });
    try {
      await cli.waitForScreen(/then press Enter:\r\n/);
      await cli.typeAndFlush("half-typed-tok");
      cli.interrupt();
      expect(await cli.exited).toBe(130);
      expect(cli.echoes()).toBe(true);
      expect(cli.screen()).toEndWith("\u001b[31mError:\u001b[39m authentication cancelled\r\n");
      expect(cli.screen()).not.toContain("half-typed-tok");
      expect(await cli.unreadInput()).toBe("");
      expect(existsSync(configPath)).toBe(false);
    } finally {
      cli.close();
    }
  });

  test("Ctrl-Z at the hidden prompt gives the shell its echo back; fg hides the typing again", async () => {
    const { env, configPath } = tempHome();
    const { access_token } = await loginWithAuthorizationCode(server);
    const cli = spawnInTerminal(["auth", "login", "--with-token"], { ...env, PIPEOPS_API_URL: server.url });
    try {
      await cli.waitForScreen(/then press Enter:\r\n/);
      expect(cli.echoes()).toBe(false);
      cli.signal("SIGTSTP");
      await cli.waitForEcho(true);
      await cli.waitForStopped();
      cli.signal("SIGCONT");
      await cli.waitForEcho(false);
      cli.type(`${access_token}\r`);
      expect(await cli.exited).toBe(0);
      expect(cli.screen()).not.toContain(access_token.slice(0, 12));
      expect(cli.echoes()).toBe(true);
      expect(readConfig(configPath)).toEqual({ auth_token: access_token, api_url: server.url });
    } finally {
      cli.close();
    }
  });

  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const) {
    test(`${signal} at the hidden prompt: echo back on, what was typed dropped, the process ends by the signal, nothing stored`, async () => {
      const { env, configPath } = tempHome();
      const cli = spawnInTerminal(["auth", "login", "--with-token"], { ...env, PIPEOPS_API_URL: server.url });
      try {
        await cli.waitForScreen(/then press Enter:\r\n/);
        await cli.typeAndFlush("half-typed-tok");
        expect(cli.echoes()).toBe(false);
        cli.signal(signal);
        expect(await cli.exited).toBe(code);
        expect(cli.echoes()).toBe(true);
        expect(cli.screen()).not.toContain("half-typed-tok");
        // Left queued, the keys would reach the shell's prompt (and its history, with Enter).
        expect(await cli.unreadInput()).toBe("");
        expect(existsSync(configPath)).toBe(false);
      } finally {
        cli.close();
      }
    });
  }

  test("endless input (yes |) stops at 16 KiB with a one-line error", async () => {
    const { env, configPath } = tempHome();
    const result = await runProgram(["sh", "-c", `yes | '${BINARY}' auth login --with-token`], {
      env: { ...env, PIPEOPS_API_URL: server.url },
      timeoutMs: 20_000,
    });
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: "Error: the token on standard input is too long\nPipe in only the token: pipeops auth login --with-token < token.txt\n",
    });
    expect(existsSync(configPath)).toBe(false);
  });

  test("a token of exactly 16 KiB is still read, and goes to the server (which refuses a header that large)", async () => {
    const result = await runBinary(["auth", "login", "--with-token"], {
      env: { ...tempHome().env, PIPEOPS_API_URL: server.url },
      stdin: `${"a".repeat(16 * 1024)}\n`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith(`Error: ${server.url} `);
    expect(result.stderr).not.toContain("too long");
  });

  test("empty input is a usage error", async () => {
    const result = await runBinary(["auth", "login", "--with-token"], { env: { ...tempHome().env, PIPEOPS_API_URL: server.url }, stdin: "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("Error: no token on standard input\n");
  });
});
