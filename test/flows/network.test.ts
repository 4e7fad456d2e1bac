/**
 * Corporate networks: an HTTPS API reached only through an HTTP CONNECT proxy, with a certificate
 * signed by the company's own CA (test/helpers/network.ts). Both local servers, over HTTPS, as
 * `https://api.pipeops.test`, a name only the proxy resolves: a login in the browser and status go
 * through the proxy once NODE_EXTRA_CA_CERTS (or SSL_CERT_FILE) names the CA, and fail with the hint
 * without it. Then what the transport does whatever the server: the proxy's 407, a proxy that is
 * down, loopback never proxied, expired and misnamed certificates, and proxy variables read as curl
 * reads them.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { DEV_CLIENT_ID, startDevServer } from "../../scripts/dev-server.ts";
import { startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { CliError, TLS_HINT } from "../../src/errors.ts";
import { bypassesProxy, proxyFor } from "../../src/server/network.ts";
import { runBinary } from "../helpers/binary.ts";
import { completeAuthorization, loginWithAuthorizationCode, pipeopsLogin } from "../helpers/flows.ts";
import { runInProcess, startInProcess } from "../helpers/in-process.ts";
import { fakeBrowser, readConfig, tempHome, waitForFile } from "../helpers/interactive.ts";
import { type Certificates, type ConnectProxy, closedPort, fetchBehind, makeCertificates, startConnectProxy } from "../helpers/network.ts";

setDefaultTimeout(60_000);

const API = "https://api.pipeops.test";
let certificates: Certificates;
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  certificates = makeCertificates();
});
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

interface Setup {
  /** The CLI's proxy: its log holds only the CLI's requests. */
  proxy: ConnectProxy;
  /** The browser's (the test's own requests), to the same server. */
  browser: typeof fetch;
  /** The environment of a user behind the proxy, without the CA yet. */
  env: Record<string, string>;
  /** A token the server accepts, issued through its own flow (by the browser, behind its proxy). */
  issueToken(): Promise<string>;
}

/** Both proxies to a server listening on `port`, closed after the file. */
async function proxiesTo(port: number) {
  const [proxy, browserProxy] = await Promise.all([startConnectProxy({ upstreamPort: port }), startConnectProxy({ upstreamPort: port })]);
  closers.push(
    () => proxy.close(),
    () => browserProxy.close(),
  );
  return { proxy, browser: fetchBehind(browserProxy, certificates.caFile) };
}

const servers: Record<string, () => Promise<Setup>> = {
  async standards() {
    const server = await startDevServer({ tls: { cert: certificates.valid, key: certificates.key }, publicUrl: API });
    closers.push(() => server.close());
    const { proxy, browser } = await proxiesTo(server.port);
    return {
      proxy,
      browser,
      env: { PIPEOPS_API_URL: API, HTTPS_PROXY: proxy.url, PIPEOPS_CLIENT_ID: DEV_CLIENT_ID },
      issueToken: async () => (await loginWithAuthorizationCode({ url: API }, { fetch: browser })).access_token,
    };
  },
  async pipeops() {
    const server = await startPipeOpsServer({ tls: { cert: certificates.valid, key: certificates.key } });
    closers.push(() => server.close());
    const { proxy, browser } = await proxiesTo(Number(new URL(server.url).port));
    return {
      proxy,
      browser,
      env: { PIPEOPS_API_URL: API, PIPEOPS_DASHBOARD_URL: server.consoleUrl, HTTPS_PROXY: proxy.url },
      issueToken: async () => (await pipeopsLogin({ url: API, consoleUrl: server.consoleUrl }, { fetch: browser })).access_token,
    };
  },
};

describe.each(Object.keys(servers))("the %s server over HTTPS, behind a proxy", (name) => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await servers[name]!();
  });

  test("browser login and status: every request to the API goes through the proxy once NODE_EXTRA_CA_CERTS names the CA", async () => {
    const { env, home, configPath } = tempHome();
    const urlFile = join(home, "browser-url");
    const userEnv = { ...env, ...setup.env, NODE_EXTRA_CA_CERTS: certificates.caFile, DISPLAY: ":0", BROWSER: fakeBrowser(home, urlFile) };
    const from = setup.proxy.log.length;
    const login = startInProcess(["auth", "login"], { env: userEnv, speedup: 1 });
    const back = await completeAuthorization(await waitForFile(urlFile), { fetch: setup.browser });
    const page = await fetch(back);
    expect(page.status).toBe(200);
    expect(await login.result).toMatchObject({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n" });
    expect(readConfig(configPath)?.api_url).toBe(API);

    const status = await runInProcess(["auth", "status"], { env: userEnv });
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toContain("user@example.com");
    // The CLI's requests: all tunnelled, all to the API's name.
    const cli = setup.proxy.log.slice(from);
    expect(cli.length).toBeGreaterThan(0);
    for (const line of cli) expect(line).toBe("CONNECT api.pipeops.test:443 HTTP/1.1");
  });

  test("SSL_CERT_FILE works as NODE_EXTRA_CA_CERTS does", async () => {
    const token = await setup.issueToken();
    const status = await runInProcess(["auth", "status"], {
      env: { ...tempHome().env, ...setup.env, SSL_CERT_FILE: certificates.caFile, PIPEOPS_AUTH_TOKEN: token },
    });
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toContain("user@example.com");
  });

  test("without the CA: one line naming the host, and what to do behind TLS inspection", async () => {
    const status = await runInProcess(["auth", "status"], { env: { ...tempHome().env, ...setup.env, PIPEOPS_AUTH_TOKEN: "pat_whatever" } });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toBe(`Error: could not verify the TLS certificate of api.pipeops.test: it is not signed by a trusted authority\n${TLS_HINT}\n`);
    expect(status.stderr).not.toContain("pat_whatever");
  });
});

describe("the connection, whatever the server", () => {
  let server: Awaited<ReturnType<typeof startPipeOpsServer>>;
  let token: string;
  const ca = () => ({ NODE_EXTRA_CA_CERTS: certificates.caFile });
  beforeAll(async () => {
    server = await startPipeOpsServer({ tls: { cert: certificates.valid, key: certificates.key } });
    closers.push(() => server.close());
    const { browser } = await proxiesTo(Number(new URL(server.url).port));
    token = (await pipeopsLogin({ url: API, consoleUrl: server.consoleUrl }, { fetch: browser })).access_token;
  });
  const status = (env: Record<string, string>) =>
    runInProcess(["auth", "status"], { env: { ...tempHome().env, PIPEOPS_API_URL: API, PIPEOPS_AUTH_TOKEN: token, ...env } });

  test("a proxy that asks for a password: the hint names the variable, never the password given; with the right one it works", async () => {
    const proxy = await startConnectProxy({ upstreamPort: Number(new URL(server.url).port), credentials: "alice:s3cret-pass" });
    closers.push(() => proxy.close());
    const { port } = proxy;
    const refused = await status({ ...ca(), HTTPS_PROXY: `http://alice:wrong-pass@127.0.0.1:${port}` });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toBe(
      `Error: the proxy http://127.0.0.1:${port} asks for a user and password (HTTP 407)\nGive them in HTTPS_PROXY, e.g. http://user:password@127.0.0.1:${port}\n`,
    );
    expect(refused.stderr + refused.stdout).not.toContain("wrong-pass");
    expect(refused.stderr + refused.stdout).not.toContain(token);

    const accepted = await status({ ...ca(), https_proxy: `http://alice:s3cret-pass@127.0.0.1:${port}` });
    expect(accepted).toMatchObject({ code: 0 });
    expect(proxy.log.at(-1)).toBe("CONNECT api.pipeops.test:443 HTTP/1.1 +auth");
  });

  test("a proxy that is down: says so, naming the proxy and its variable", async () => {
    const port = await closedPort();
    const result = await status({ ...ca(), HTTPS_PROXY: `127.0.0.1:${port}` });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe(`Error: could not reach the proxy http://127.0.0.1:${port}: connection refused\nCheck HTTPS_PROXY\n`);
  });

  test("loopback is never proxied: a local server works with every proxy variable pointing nowhere", async () => {
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const result = await runInProcess(["auth", "status"], {
      env: {
        ...tempHome().env,
        ...ca(),
        PIPEOPS_API_URL: server.url.replace("127.0.0.1", "localhost"),
        PIPEOPS_AUTH_TOKEN: token,
        HTTPS_PROXY: nowhere,
        HTTP_PROXY: nowhere,
        ALL_PROXY: nowhere,
      },
    });
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("user@example.com");
  });

  test.each([
    ["expired", () => certificates.expired, "it has expired"],
    ["for another host", () => certificates.wrongHost, "it is for another host"],
    ["that is self-signed", () => certificates.selfSigned, "it is self-signed"],
  ])("a certificate %s, with the company's CA trusted: one line with the reason", async (_name, cert, reason) => {
    const bad = await startPipeOpsServer({ tls: { cert: cert(), key: certificates.key } });
    closers.push(() => bad.close());
    const result = await runInProcess(["auth", "status"], {
      env: { ...tempHome().env, ...ca(), PIPEOPS_API_URL: bad.url.replace("127.0.0.1", "localhost"), PIPEOPS_AUTH_TOKEN: token },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe(`Error: could not verify the TLS certificate of localhost: ${reason}\n${TLS_HINT}\n`);
  });

  test("NODE_EXTRA_CA_CERTS naming a missing file, or one without a certificate: a usage error naming it", async () => {
    const { home } = tempHome();
    const missing = await status({ NODE_EXTRA_CA_CERTS: join(home, "corp-ca.pem") });
    expect(missing.code).toBe(2);
    expect(missing.stderr.split("\n")[0]).toBe(`Error: cannot read the certificates in ${join(home, "corp-ca.pem")}`);
    await Bun.write(join(home, "not-a-ca.pem"), "hello\n");
    const empty = await status({ NODE_EXTRA_CA_CERTS: join(home, "not-a-ca.pem") });
    expect(empty.code).toBe(2);
    expect(empty.stderr.split("\n")[0]).toBe(`Error: ${join(home, "not-a-ca.pem")} holds no PEM certificate`);
  });

  test("the compiled binary: login with a token and status through the proxy, trusting the CA", async () => {
    const { proxy } = await proxiesTo(Number(new URL(server.url).port));
    const { env } = tempHome();
    const userEnv = { ...env, ...ca(), PIPEOPS_API_URL: API, HTTPS_PROXY: proxy.url };
    const login = await runBinary(["auth", "login", "--with-token"], { env: userEnv, stdin: `${token}\n` });
    expect(login).toMatchObject({ code: 0 });
    const result = await runBinary(["auth", "status"], { env: userEnv });
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("user@example.com");
    expect(proxy.log.length).toBeGreaterThan(0);
    for (const line of proxy.log) expect(line).toBe("CONNECT api.pipeops.test:443 HTTP/1.1");
  });
});

describe("which proxy, as curl reads the variables", () => {
  const url = (text: string) => new URL(text);
  test("HTTPS_PROXY for https, HTTP_PROXY for http, ALL_PROXY for either; lower case first; a bare host:port is http", () => {
    expect(proxyFor(url("https://api.pipeops.io/x"), { HTTPS_PROXY: "http://corp:3128", HTTP_PROXY: "http://plain:80" })?.name).toBe("http://corp:3128");
    expect(proxyFor(url("http://api.example/x"), { HTTPS_PROXY: "http://corp:3128", HTTP_PROXY: "http://plain:80" })?.name).toBe("http://plain");
    expect(proxyFor(url("https://api.pipeops.io/x"), { ALL_PROXY: "corp:8080" })).toMatchObject({ name: "http://corp:8080", variable: "ALL_PROXY" });
    expect(proxyFor(url("https://api.pipeops.io/x"), { https_proxy: "http://lower:1", HTTPS_PROXY: "http://upper:2" })?.variable).toBe("https_proxy");
    expect(proxyFor(url("https://api.pipeops.io/x"), {})).toBeUndefined();
  });

  test("the name shown never carries the credentials", () => {
    const proxy = proxyFor(url("https://api.pipeops.io/"), { HTTPS_PROXY: "http://alice:s3cret@corp:3128" });
    expect(proxy?.name).toBe("http://corp:3128");
    expect(proxy?.url.password).toBe("s3cret");
  });

  test("loopback is never proxied", () => {
    for (const host of ["http://127.0.0.1:8080", "http://localhost:8085", "http://[::1]:9000", "https://localhost"]) {
      expect(proxyFor(url(host), { HTTPS_PROXY: "http://corp:3128", HTTP_PROXY: "http://corp:3128" })).toBeUndefined();
    }
  });

  test.each([
    ["api.pipeops.io", true],
    [".pipeops.io", true],
    ["pipeops.io", true],
    ["*.pipeops.io", true],
    ["*", true],
    ["api.pipeops.io:443", true],
    ["api.pipeops.io:8443", false],
    ["ops.io", false],
    ["example.com, .pipeops.io", true],
    ["", false],
  ])("NO_PROXY=%p bypasses https://api.pipeops.io: %p", (noProxy, bypassed) => {
    expect(bypassesProxy(url("https://api.pipeops.io/oauth/token"), noProxy)).toBe(bypassed);
    expect(proxyFor(url("https://api.pipeops.io/"), { HTTPS_PROXY: "http://corp:3128", no_proxy: noProxy }) === undefined).toBe(bypassed);
  });

  test("a proxy that is not http(s) is a usage error naming the variable", () => {
    expect(() => proxyFor(url("https://api.pipeops.io/"), { HTTPS_PROXY: "socks5://corp:1080" })).toThrow(
      new CliError("usage", "HTTPS_PROXY is not an http(s) proxy URL"),
    );
  });
});
