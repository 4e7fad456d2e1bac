/**
 * Browser login end to end in a real browser: the compiled binary launches "the browser" through
 * BROWSER (a script that hands the URL to this test), headless Chromium driven by playwright-core
 * opens it, signs in (or denies) on the local authorization server, and lands on the CLI's callback.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { spawnBinary } from "../helpers/binary.ts";
import { fakeBrowser, portClosed, readConfig, redirectPort, tempHome, waitForFile } from "../helpers/interactive.ts";
import { describeNeeding } from "../helpers/requirements.ts";

// Servers, processes and a browser on a shared 2-core machine: generous limits (bunfig's is not applied).
setDefaultTimeout(60_000);

const CHROMIUM = process.env.PIPEOPS_TEST_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const inCI = Boolean(process.env.CI) && process.env.CI !== "false";
// In CI a missing Chromium must fail the run (beforeAll throws); locally the tests are skipped, and said.
const describeBrowser = describeNeeding(haveChromium || inCI, "browser login in headless Chromium", `no Chromium at ${CHROMIUM} (apt-get install chromium)`);

describeBrowser("browser login in headless Chromium", () => {
  let server: DevServer;
  let pipeops: PipeOpsServer;
  let browser: Browser;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
    [server, pipeops, browser] = await Promise.all([
      startDevServer(),
      startPipeOpsServer(),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
      }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([browser?.close(), server?.close(), pipeops?.close()]);
  });

  /** Starts `pipeops auth login` with BROWSER pointing at a script that records the URL it is given. */
  async function startLogin() {
    const { env, home, configPath } = tempHome();
    const urlFile = join(home, "browser-url");
    const cli = spawnBinary(["auth", "login"], {
      env: { ...env, DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile), PIPEOPS_API_URL: server.url },
    });
    const url = await waitForFile(urlFile);
    /** What the browser was started with: the start page, a file only the user can read. */
    const opened = readFileSync(`${urlFile}.argv`, "utf8").trim();
    return { cli, url, opened, configPath };
  }

  test("sign in: the browser opens the start page, which leads it to the sign-in; the CLI stores the tokens and the page says the window may be closed", async () => {
    const { cli, url, opened, configPath } = await startLogin();
    expect(url).toStartWith(`${server.url}/auth?`);
    expect(opened).toStartWith("file:///");
    const [, printed] = await cli.waitForStderr(/If the browser does not open, visit:\n(\S+)\n\nWaiting for authentication\.\.\.\n/);
    expect(printed).toBe(url);

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // Chromium follows the start page's meta refresh from file: to the sign-in page.
      await page.goto(opened);
      await page.waitForURL(new RegExp(`^${server.url}/interaction/`));
      await page.click("#sign-in");
      await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
      expect(await page.textContent("#title")).toBe("Authentication complete");
      expect(await page.textContent("#message")).toContain("You may close this window");
    } finally {
      await context.close();
    }

    const result = await cli.result;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("✓ Successfully authenticated as user@example.com\n");
    const stored = readConfig(configPath)!;
    expect(stored.auth_token).toBeString();
    expect(stored.refresh_token).toBeString();
    expect(stored.api_url).toBe(server.url);
    expect(await portClosed(redirectPort(url))).toBe(true);
  }, 60_000);

  test("deny: the page says authentication was denied and the CLI exits 1 with nothing stored", async () => {
    const { cli, url, configPath } = await startLogin();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page.click("#deny");
      await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
      expect(await page.textContent("#title")).toBe("Authentication was denied");
    } finally {
      await context.close();
    }
    const result = await cli.result;
    expect(result.code).toBe(1);
    expect(result.stderr).toEndWith("Error: authentication was denied\nRun 'pipeops auth login' to try again\n");
    expect(readConfig(configPath)).toBeNull();
  }, 60_000);

  test("against the PipeOps API: the console's sign-in page, then the browser lands on http://localhost:<port>/callback", async () => {
    const { env, home, configPath } = tempHome();
    const urlFile = join(home, "browser-url");
    const cli = spawnBinary(["auth", "login"], {
      env: { ...env, DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile), PIPEOPS_API_URL: pipeops.url, PIPEOPS_DASHBOARD_URL: pipeops.consoleUrl },
    });
    const url = await waitForFile(urlFile);
    expect(url).toStartWith(`${pipeops.consoleUrl}/auth/signin?`);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page.click("#sign-in");
      // Chromium resolves localhost to ::1 or 127.0.0.1: the CLI listens on both.
      await page.waitForURL(/^http:\/\/localhost:\d+\/callback\?/);
      expect(await page.textContent("#title")).toBe("Authentication complete");
    } finally {
      await context.close();
    }
    const result = await cli.result;
    expect(result).toMatchObject({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n" });
    expect(readConfig(configPath)!.api_url).toBe(pipeops.url);
    expect(await portClosed(redirectPort(url))).toBe(true);
  }, 60_000);
});
