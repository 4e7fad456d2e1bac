/**
 * What each command costs a user far from the server: the requests it sends and its wall time,
 * against both local servers behind a proxy that adds 100 ms to every request (about a round trip
 * to the production API from most of the world). Part of `npm run bench`; also
 * `bun scripts/latency.ts [--binary path]` to measure another build (an older one, say).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loginWithAuthorizationCode, pipeopsLogin, type TokenSet } from "../test/helpers/flows.ts";
import { startDevServer } from "./dev-server.ts";
import { startPipeOpsServer } from "./pipeops-server.ts";

export const ADDED_LATENCY_MS = 100;
const LATER_RUNS = 5;

/** A forwarding proxy that waits before each request and counts them; discovery documents and redirects are renamed to it. */
function delayProxy(upstream: string) {
  let count = 0;
  let own = "";
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request: Request): Promise<Response> {
      count++;
      await Bun.sleep(ADDED_LATENCY_MS);
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: request.method === "GET" ? undefined : await request.arrayBuffer(),
        redirect: "manual",
      });
      const body = url.pathname.startsWith("/.well-known/") ? (await answer.text()).replaceAll(upstream, own) : await answer.arrayBuffer();
      const relayed = new Headers(answer.headers);
      relayed.delete("content-length");
      relayed.delete("content-encoding");
      return new Response(body, { status: answer.status, headers: relayed });
    },
  });
  own = `http://127.0.0.1:${server.port}`;
  const reset = () => {
    count = 0;
  };
  return { url: own, requests: () => count, reset, stop: () => server.stop(true) };
}

export interface LatencyRow {
  server: string;
  command: string;
  firstRequests: number;
  firstMs: number;
  laterRequests: number;
  laterMs: number;
  ok: boolean;
}

/** Not spawnSync: the proxy answering the binary runs in this process. */
async function run(binary: string, args: string[], env: Record<string, string>): Promise<{ ms: number; code: number }> {
  const started = performance.now();
  const code = await Bun.spawn([binary, ...args], { env, stdin: "ignore", stdout: "ignore", stderr: "ignore" }).exited;
  return { ms: performance.now() - started, code };
}

/** A HOME with a session for the server at `apiUrl`, valid for the token's lifetime. */
function homeWith(tokens: TokenSet, apiUrl: string): string {
  const home = mkdtempSync(join(tmpdir(), "pipeops-latency-"));
  const expiresAt = new Date(Date.now() + tokens.expires_in * 1000).toISOString();
  writeFileSync(
    join(home, ".pipeops.json"),
    JSON.stringify({ auth_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: expiresAt, api_url: apiUrl }),
    { mode: 0o600 },
  );
  return home;
}

export async function measureLatency(binary: string): Promise<LatencyRow[]> {
  const [dev, pipeops] = await Promise.all([startDevServer(), startPipeOpsServer()]);
  const servers = [
    { name: "standards (oidc-provider)", proxy: delayProxy(dev.url), env: {} as Record<string, string>, session: () => loginWithAuthorizationCode(dev) },
    { name: "PipeOps-shaped", proxy: delayProxy(pipeops.url), env: { PIPEOPS_DASHBOARD_URL: pipeops.consoleUrl }, session: () => pipeopsLogin(pipeops) },
  ];
  const rows: LatencyRow[] = [];
  try {
    for (const server of servers) {
      for (const command of ["token", "status", "me"]) {
        const home = homeWith(await server.session(), server.proxy.url);
        const env = { PATH: "/usr/bin:/bin", HOME: home, TZ: "UTC", PIPEOPS_API_URL: server.proxy.url, ...server.env };
        server.proxy.reset();
        const first = await run(binary, ["auth", command], env);
        const firstRequests = server.proxy.requests();
        const later: number[] = [];
        let laterRequests = 0;
        let ok = first.code === 0;
        for (let i = 0; i < LATER_RUNS; i++) {
          server.proxy.reset();
          const again = await run(binary, ["auth", command], env);
          later.push(again.ms);
          laterRequests = server.proxy.requests();
          ok &&= again.code === 0;
        }
        later.sort((a, b) => a - b);
        rows.push({
          server: server.name,
          command: `auth ${command}`,
          firstRequests,
          firstMs: first.ms,
          laterRequests,
          laterMs: later[Math.floor(LATER_RUNS / 2)]!,
          ok,
        });
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    for (const server of servers) await server.proxy.stop();
    await Promise.all([dev.close(), pipeops.close()]);
  }
  return rows;
}

export function formatLatency(rows: LatencyRow[]): string {
  const lines = [
    `Requests and wall time with ${ADDED_LATENCY_MS} ms added to every request (a session valid for an hour; "later" is the median of ${LATER_RUNS} runs after the first):`,
    "",
    "| server | command | first run: requests | wall | later runs: requests | wall |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    const failed = row.ok ? "" : " (failed)";
    lines.push(
      `| ${row.server} | \`${row.command}\`${failed} | ${row.firstRequests} | ${row.firstMs.toFixed(0)} ms | ${row.laterRequests} | ${row.laterMs.toFixed(0)} ms |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { binary: { type: "string", default: "dist/pipeops" } } });
  console.log(formatLatency(await measureLatency(values.binary!)));
}
