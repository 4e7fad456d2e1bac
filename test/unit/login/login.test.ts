/** The login's pure decisions, its progress output, and device polling rules with an injected clock. */
import { afterEach, describe, expect, test } from "bun:test";
import { shouldOpenBrowser } from "../../../src/commands/auth/login.ts";
import { CliError } from "../../../src/errors.ts";
import { browserCommands, isWebUrl } from "../../../src/io/browser.ts";
import { animateProgress } from "../../../src/io/progress.ts";
import { detectWsl } from "../../../src/io/wsl.ts";
import { deviceLogin } from "../../../src/login/device.ts";
import { parsePastedAnswer } from "../../../src/login/paste.ts";
import { formatTimeLeft, loginReporter } from "../../../src/login/progress.ts";
import { abortable } from "../../../src/login/wait.ts";
import { nextInterval, parseDeviceAuthorization } from "../../../src/oauth/device.ts";
import { loginScopes } from "../../../src/oauth/scopes.ts";
import { ServerClock } from "../../../src/server/clock.ts";
import type { ServerConnection } from "../../../src/server/connect.ts";
import { standardDialect } from "../../../src/server/standard.ts";
import { testContext } from "../../helpers/context.ts";

describe("whether to open a browser", () => {
  const desktop = { DISPLAY: ":0" };
  test.each([
    ["explicit --browser wins over SSH", true, { SSH_CONNECTION: "a b c d" }, "linux", true],
    ["explicit --no-browser wins over a display", false, desktop, "linux", false],
    ["Linux desktop", undefined, desktop, "linux", true],
    ["Wayland desktop", undefined, { WAYLAND_DISPLAY: "wayland-0" }, "linux", true],
    ["SSH_CONNECTION", undefined, { ...desktop, SSH_CONNECTION: "192.0.2.1 1 192.0.2.2 22" }, "linux", false],
    ["SSH_TTY", undefined, { ...desktop, SSH_TTY: "/dev/pts/0" }, "linux", false],
    ["Linux without a display", undefined, {}, "linux", false],
    ["macOS needs no DISPLAY", undefined, {}, "darwin", true],
    ["Windows needs no DISPLAY", undefined, {}, "win32", true],
    ["SSH into a Mac", undefined, { SSH_TTY: "/dev/ttys001" }, "darwin", false],
    ["BROWSER set: used even on Linux without a display", undefined, { BROWSER: "w3m" }, "linux", true],
    ["BROWSER set, but over SSH: the device or paste flow", undefined, { BROWSER: "w3m", SSH_TTY: "/dev/pts/0" }, "linux", false],
  ] as const)("%s", (_name, flag, env, platform, expected) => {
    expect(shouldOpenBrowser(flag, env, platform, false)).toBe(expected);
  });
  test("WSL: the Windows browser, display or not; SSH still wins", () => {
    expect(shouldOpenBrowser(undefined, {}, "linux", true)).toBe(true);
    expect(shouldOpenBrowser(undefined, { SSH_CONNECTION: "a b c d" }, "linux", true)).toBe(false);
  });
});

describe("scopes", () => {
  test("default: the official CLI's scopes, plus offline_access where the server's metadata offers it", () => {
    expect(loginScopes({})).toBe("openid profile email");
    expect(loginScopes({ PIPEOPS_SCOPES: "  " })).toBe("openid profile email");
    expect(loginScopes({}, ["openid", "email"])).toBe("openid profile email");
    expect(loginScopes({}, ["openid", "offline_access"])).toBe("openid profile email offline_access");
    expect(loginScopes({ PIPEOPS_SCOPES: "openid" }, ["openid", "offline_access"])).toBe("openid");
  });
  test("PIPEOPS_SCOPES overrides; commas or spaces; duplicates dropped", () => {
    expect(loginScopes({ PIPEOPS_SCOPES: "openid, email  openid" })).toBe("openid email");
  });
  test("characters RFC 6749 forbids are a usage error", () => {
    expect(() => loginScopes({ PIPEOPS_SCOPES: 'openid "email"' })).toThrow("PIPEOPS_SCOPES contains an invalid scope '\"email\"'");
    expect(() => loginScopes({ PIPEOPS_SCOPES: "openid \\x" })).toThrow(CliError);
  });
});

describe("pasted answers", () => {
  const conn = {
    as: { issuer: "http://127.0.0.1:9", authorization_response_iss_parameter_supported: true },
  } as unknown as ServerConnection;
  const state = "the-state";

  test("a redirect URL with the right state", () => {
    const answer = parsePastedAnswer(`  http://127.0.0.1:5000/callback?code=abc&state=${state}&iss=x \n`, conn, state);
    expect(answer.kind).toBe("params");
    if (answer.kind === "params") expect(answer.params.get("code")).toBe("abc");
  });
  test("just the query string", () => {
    expect(parsePastedAnswer(`?code=abc&state=${state}`, conn, state).kind).toBe("params");
  });
  test("a redirect URL from another login", () => {
    expect(parsePastedAnswer("http://127.0.0.1:5000/callback?code=abc&state=other", conn, state)).toEqual({ kind: "wrong_state" });
    expect(parsePastedAnswer("http://127.0.0.1:5000/callback?code=abc", conn, state)).toEqual({ kind: "wrong_state" });
  });
  test("a bare code gets the expected state and issuer so validation applies", () => {
    const answer = parsePastedAnswer("AbC-123_xyz", conn, state);
    expect(answer.kind).toBe("params");
    if (answer.kind === "params") expect(Object.fromEntries(answer.params)).toEqual({ code: "AbC-123_xyz", state, iss: "http://127.0.0.1:9" });
  });
  test("anything else is not recognised", () => {
    for (const line of ["", "   ", "two words", "https://example.com/somewhere", "\u001b[31m"]) {
      expect(parsePastedAnswer(line, conn, state)).toEqual({ kind: "unrecognised" });
    }
  });
});

describe("device authorization response", () => {
  const valid = { device_code: "d", user_code: "ABCD-EFGH", verification_uri: "https://pipeops.example/device", expires_in: 600 };
  test("accepted as sent", () => {
    expect(parseDeviceAuthorization(valid, "s")).toEqual(valid);
  });
  test.each([
    ["javascript: URL", { verification_uri: "javascript:alert(1)" }, "verification_uri"],
    ["plain http to a remote host", { verification_uri_complete: "http://pipeops.example/device?c=1" }, "HTTPS is required"],
    ["escape sequences in the user code", { user_code: "\u001b[2JABCD" }, "user_code"],
    ["no expiry", { expires_in: 0 }, "expires_in"],
  ])("refused: %s", (_name, change, message) => {
    expect(() => parseDeviceAuthorization({ ...valid, ...change }, "s")).toThrow(message);
  });
  test("slow_down adds 5 s (RFC 8628 §3.5), authorization_pending keeps the interval", () => {
    expect(nextInterval(5, "slow_down")).toBe(10);
    expect(nextInterval(5, "authorization_pending")).toBe(5);
    expect(nextInterval(60, "slow_down")).toBe(60);
  });
});

describe("device polling against a scripted token endpoint", () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  /** A loopback token endpoint answering from a script; the real dev server cannot be made to send slow_down. */
  function scriptedServer(answers: { status: number; body: object }[], device: object) {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        const path = new URL(request.url).pathname;
        if (path === "/device") return Response.json(device);
        const next = answers.shift() ?? { status: 500, body: { error: "server_error" } };
        return Response.json(next.body, { status: next.status });
      },
    });
    stop = () => server.stop(true);
    const base = `http://127.0.0.1:${server.port}`;
    const as = { issuer: base, device_authorization_endpoint: `${base}/device`, token_endpoint: `${base}/token` };
    const client = { client_id: "pipeops_public_client" };
    const conn: ServerConnection = {
      apiUrl: new URL(base),
      as,
      client,
      fetch,
      clock: new ServerClock(() => Date.now()),
      dialect: standardDialect({ as, client, server: base, fetch }),
      cached: false,
      remembered: { facts: { kind: "pipeops" }, clockOffsetMs: 0 },
    };
    return conn;
  }

  function fastClockContext() {
    const sleeps: number[] = [];
    let now = 1_000_000;
    const ctx = {
      ...testContext(),
      now: () => now,
      sleep: async (ms: number, signal?: AbortSignal) => {
        signal?.throwIfAborted();
        sleeps.push(ms);
        now += ms;
      },
    };
    return { ctx, sleeps };
  }

  const pending = { status: 400, body: { error: "authorization_pending" } };
  const slowDown = { status: 400, body: { error: "slow_down" } };
  const device = { device_code: "dc", user_code: "WDJB-MJHT", verification_uri: "http://127.0.0.1/device", expires_in: 60, interval: 2 };

  test("honours interval and slow_down, shows the code when there is no complete URI, returns the tokens", async () => {
    const conn = scriptedServer([pending, slowDown, pending, { status: 200, body: { access_token: "at", token_type: "Bearer", expires_in: 3600 } }], device);
    const { ctx, sleeps } = fastClockContext();
    const tokens = await deviceLogin(ctx, { conn, scope: "openid", reporter: loginReporter(ctx), signal: new AbortController().signal, deadline: Infinity });
    expect(tokens.accessToken).toBe("at");
    expect(sleeps).toEqual([2000, 2000, 7000, 7000]);
    expect(ctx.err()).toBe(
      "Please open this URL in your browser to authenticate:\nhttp://127.0.0.1/device\nand enter the code: WDJB-MJHT\n\nWaiting for authentication...\n",
    );
  });

  test("the code expiring ends the login with a hint to rerun", async () => {
    const conn = scriptedServer([pending, { status: 400, body: { error: "expired_token" } }], device);
    const { ctx } = fastClockContext();
    const failure = deviceLogin(ctx, { conn, scope: "openid", reporter: loginReporter(ctx), signal: new AbortController().signal, deadline: Infinity });
    await expect(failure).rejects.toThrow("the login code expired before authentication completed");
  });

  test("polling stops by itself once expires_in has passed", async () => {
    const conn = scriptedServer(
      Array.from({ length: 100 }, () => pending),
      { ...device, expires_in: 10 },
    );
    const { ctx, sleeps } = fastClockContext();
    const failure = deviceLogin(ctx, { conn, scope: "openid", reporter: loginReporter(ctx), signal: new AbortController().signal, deadline: Infinity });
    await expect(failure).rejects.toThrow("the login code expired");
    expect(sleeps.length).toBe(5);
  });

  test("other OAuth errors are reported with the server's (sanitised) words", async () => {
    const conn = scriptedServer([{ status: 400, body: { error: "invalid_client", error_description: "no such \u001b[31mclient" } }], device);
    const { ctx } = fastClockContext();
    const failure = deviceLogin(ctx, { conn, scope: "openid", reporter: loginReporter(ctx), signal: new AbortController().signal, deadline: Infinity });
    await expect(failure).rejects.toThrow(/rejected the request \(invalid_client: no such {1,2}\[31mclient\)$/);
  });
});

describe("waiting", () => {
  test("an animated line with the time left on a terminal, cleared when done", () => {
    const ctx = testContext({ tty: true, now: 1_000_000 });
    const reporter = loginReporter(ctx);
    reporter.waiting(1_000_000 + 65_000);
    reporter.done();
    const plain = ctx.err().replace(/\x1b\[[0-9;]*m/g, "");
    expect(plain).toBe("\r\x1b[2K⠋ Waiting for authentication... (1:05 left)\r\x1b[2K");
  });

  test.each([
    ["not a terminal", false, {}],
    ["CI", true, { CI: "true" }],
    ["NO_COLOR", true, { NO_COLOR: "1" }],
  ])("plain lines when %s", (_name, tty, env) => {
    const ctx = testContext({ tty, env });
    const reporter = loginReporter(ctx);
    reporter.waiting(ctx.now() + 300_000);
    reporter.notice("a notice");
    reporter.done();
    expect(ctx.err()).toBe("Waiting for authentication...\na notice\n");
  });

  test("formatting and decisions", () => {
    expect(formatTimeLeft(300_000)).toBe("5:00");
    expect(formatTimeLeft(61_001)).toBe("1:02");
    expect(formatTimeLeft(-5)).toBe("0:00");
    expect(animateProgress({}, true)).toBe(true);
    expect(animateProgress({ CI: "false" }, true)).toBe(true);
    expect(animateProgress({ TERM: "dumb" }, true)).toBe(false);
  });

  test("abortable rejects with the signal's reason without waiting for the promise", async () => {
    const controller = new AbortController();
    const never = new Promise<never>(() => {});
    const waiting = abortable(never, controller.signal);
    controller.abort(new CliError("auth_timeout", "authentication timed out"));
    await expect(waiting).rejects.toThrow("authentication timed out");
  });
});

describe("the browser command (BROWSER's convention, WSL)", () => {
  const url = "https://console.pipeops.io/auth/signin?a=1&b=2";
  test("BROWSER: a list of commands tried in turn, with arguments; %s is the URL, else it goes last", () => {
    expect(browserCommands({ BROWSER: "firefox" }, "linux", false, url)).toEqual([["firefox", url]]);
    expect(browserCommands({ BROWSER: "w3m:lynx -dump %s : firefox --new-window" }, "linux", false, url)).toEqual([
      ["w3m", url],
      ["lynx", "-dump", url],
      ["firefox", "--new-window", url],
    ]);
    expect(browserCommands({ BROWSER: "echo 100%% %s" }, "linux", false, url)).toEqual([["echo", "100%", url]]);
    // Windows paths have colons: there the list is separated by semicolons.
    expect(browserCommands({ BROWSER: "C:\\Browsers\\a.exe;b.exe" }, "win32", false, url)).toEqual([
      ["C:\\Browsers\\a.exe", url],
      ["b.exe", url],
    ]);
  });
  test("the desktop's opener; on WSL wslview, then explorer.exe; on Windows rundll32; the URL always one argument, never through cmd", () => {
    expect(browserCommands({}, "linux", false, url)).toEqual([["xdg-open", url]]);
    expect(browserCommands({}, "darwin", false, url)).toEqual([["open", url]]);
    expect(browserCommands({}, "linux", true, url)).toEqual([
      ["wslview", url],
      ["explorer.exe", url],
    ]);
    const hostile = "https://console.pipeops.io/a|calc/%PATH%/^x?a=1&b=2";
    expect(browserCommands({}, "win32", false, hostile)).toEqual([["rundll32", "url.dll,FileProtocolHandler", hostile]]);
    for (const platform of ["win32", "linux"]) {
      for (const argv of browserCommands({}, platform, platform === "linux", hostile)) expect(argv[0]).not.toMatch(/^cmd(\.exe)?$/i);
    }
  });

  test("only http(s) URLs are opened", () => {
    expect(isWebUrl("https://console.pipeops.io/auth/signin")).toBe(true);
    expect(isWebUrl("http://127.0.0.1:8080/x")).toBe(true);
    for (const url of ["file:///etc/passwd", "javascript:alert(1)", "ms-settings:", "vscode://x", "not a url"]) expect(isWebUrl(url)).toBe(false);
  });
  test("WSL is told by /proc/version or WSL_DISTRO_NAME, and only on Linux", () => {
    const kernel = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 12.2.0)";
    expect(detectWsl({}, "linux", () => kernel)).toBe(true);
    expect(detectWsl({ WSL_DISTRO_NAME: "Ubuntu" }, "linux", () => undefined)).toBe(true);
    expect(detectWsl({}, "linux", () => "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)")).toBe(false);
    expect(detectWsl({ WSL_DISTRO_NAME: "Ubuntu" }, "darwin", () => kernel)).toBe(false);
  });
});
