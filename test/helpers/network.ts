/**
 * A corporate network on loopback: a certificate authority of our own (made with openssl), and an
 * HTTP CONNECT proxy that sends every tunnel, whatever host it names, to one local server. So
 * `https://api.pipeops.test` works through the proxy and fails without it, as a name only the
 * proxy resolves would.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Certificates {
  /** A PEM file holding the CA certificate, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** The server's key, for every certificate below. */
  key: string;
  /** Signed by the CA for api.pipeops.test, localhost and 127.0.0.1. */
  valid: string;
  /** Signed by the CA for the same names, but expired. */
  expired: string;
  /** Signed by the CA for other.example only. */
  wrongHost: string;
  /** For the same names, signed by its own key: no CA vouches for it. */
  selfSigned: string;
}

function openssl(args: string[], cwd: string): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr.toString()}`);
}

/** A fresh CA and server certificates signed by it, in a temporary folder. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), "pipeops-ca-"));
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test Corporate CA"], dir);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=api.pipeops.test"], dir);
  writeFileSync(join(dir, "names.cnf"), "subjectAltName=DNS:api.pipeops.test,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  writeFileSync(join(dir, "other.cnf"), "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n");
  const sign = (out: string, days: string, names: string) =>
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", out, "-days", days, "-extfile", names], dir);
  sign("valid.pem", "2", "names.cnf");
  // A negative lifetime: it ended a day before it began.
  sign("expired.pem", "-1", "names.cnf");
  sign("wrong-host.pem", "2", "other.cnf");
  openssl(["x509", "-req", "-in", "server.csr", "-key", "server.key", "-out", "self-signed.pem", "-days", "2", "-extfile", "names.cnf"], dir);
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return {
    caFile: join(dir, "ca.pem"),
    key: read("server.key"),
    valid: read("valid.pem"),
    expired: read("expired.pem"),
    wrongHost: read("wrong-host.pem"),
    selfSigned: read("self-signed.pem"),
  };
}

export interface ConnectProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every request line the proxy received, with " +auth" when it carried Proxy-Authorization. */
  readonly log: string[];
  close(): Promise<void>;
}

/**
 * A CONNECT proxy tunnelling to 127.0.0.1:upstreamPort. With `credentials` ("user:password") it
 * answers 407 to a request without them, as an authenticating corporate proxy does.
 */
export async function startConnectProxy(options: { upstreamPort: number; credentials?: string }): Promise<ConnectProxy> {
  const log: string[] = [];
  const sockets = new Set<Socket>();
  const expected = options.credentials ? `Basic ${Buffer.from(options.credentials).toString("base64")}` : undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      const lines = head.slice(0, end).split("\r\n");
      const authorization = lines.find((line) => /^proxy-authorization:/i.test(line))?.replace(/^[^:]+:\s*/, "");
      log.push(`${lines[0]}${authorization ? " +auth" : ""}`);
      if (expected && authorization !== expected) {
        socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (!lines[0]?.startsWith("CONNECT ")) {
        socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const upstream = connect(options.upstreamPort, "127.0.0.1", () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        const rest = head.slice(end + 4);
        if (rest) upstream.write(Buffer.from(rest, "latin1"));
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => socket.destroy());
    };
    socket.on("data", onData);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A fetch from behind `proxy`, trusting the CA in `caFile`, as a user's browser there is set up: loopback direct. */
export function fetchBehind(proxy: ConnectProxy, caFile: string): typeof fetch {
  const network = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const direct = url.hostname === "127.0.0.1" || url.hostname === "localhost";
    const ca = await Bun.file(caFile).text();
    return fetch(input, { ...init, proxy: direct ? undefined : proxy.url, tls: { ca } } as RequestInit);
  };
  return network as typeof fetch;
}

/** An HTTPS server whose certificate is for another name: it records the Authorization of every request that reaches it. */
export function startImpostor(certificates: Certificates): { url: string; seen: string[]; stop(): Promise<void> } {
  const seen: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: certificates.wrongHost, key: certificates.key },
    fetch(request) {
      seen.push(request.headers.get("authorization") ?? "(none)");
      return Response.json({ sub: "attacker", email: "attacker@example.com" });
    },
  });
  // By name, so the certificate's names (not 127.0.0.1) are what is checked.
  return { url: `https://localhost:${server.port}`, seen, stop: () => server.stop(true) };
}
