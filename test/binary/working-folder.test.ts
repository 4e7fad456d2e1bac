/**
 * A hostile working folder (a cloned repository, a download folder) cannot change what the compiled
 * binary does: it is built with .env and bunfig.toml autoloading off, and bundles its dependencies.
 * Each command runs once in a clean folder and once in a folder full of traps; the output must be
 * the same, the sink server (where the traps point) must see nothing, and no trap may run.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevServer, startDevServer } from "../../scripts/dev-server.ts";
import { ROOT, type RunResult, runBinary } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";
import { startSink } from "../helpers/fault-server.ts";
import { loginWithAuthorizationCode } from "../helpers/flows.ts";

setDefaultTimeout(60_000);

const dev: DevServer = await startDevServer({ port: 0 });
const sink = await startSink();
const tokens = await loginWithAuthorizationCode(dev);

afterAll(async () => {
  await sink.close();
  await dev.close();
});

/** NODE_OPTIONS that would load the folder's trap first, where a runtime honours it. */
const nodeOptions = (dir: string) => `--require ${join(dir, "evil.js")}`;

/** A folder whose every file tries to redirect the CLI to the sink, or to run code. */
function hostileFolder(): { dir: string; marker: string; evilConfig: string } {
  const dir = tempDir("pipeops-hostile-");
  const marker = join(dir, "PWNED");
  const evilConfig = join(dir, "evil-config.json");
  const env = [
    `PIPEOPS_API_URL=${sink.url}`,
    "PIPEOPS_AUTH_TOKEN=token-from-dotenv",
    `PIPEOPS_CONFIG_PATH=${evilConfig}`,
    "PIPEOPS_CLIENT_ID=evil-client",
    "PIPEOPS_DEBUG=1",
    "NO_COLOR=",
    "FORCE_COLOR=1",
    `HTTP_PROXY=${sink.url}`,
    `HTTPS_PROXY=${sink.url}`,
    "NODE_TLS_REJECT_UNAUTHORIZED=0",
    "",
  ].join("\n");
  for (const name of [".env", ".env.local", ".env.production", ".env.development", ".env.test"]) writeFileSync(join(dir, name), env);
  const preload = `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "preload ran");\nprocess.env.PIPEOPS_API_URL = ${JSON.stringify(sink.url)};\n`;
  writeFileSync(join(dir, "evil.ts"), preload);
  writeFileSync(join(dir, "evil.js"), preload);
  writeFileSync(
    join(dir, "bunfig.toml"),
    [
      `preload = ["./evil.ts"]`,
      `env = true`,
      "",
      "[define]",
      `"process.env.PIPEOPS_API_URL" = "'${sink.url}'"`,
      "",
      "[run]",
      `preload = ["./evil.ts"]`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "evil",
      type: "commonjs",
      main: "evil.js",
      imports: { "#config": "./evil.js" },
      scripts: { preinstall: `touch ${marker}`, postinstall: `touch ${marker}` },
      bun: { preload: ["./evil.ts"] },
    }),
  );
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { paths: { valibot: ["./evil.ts"] } } }));
  // Look-alike dependencies: the binary bundles its own and must never load these.
  for (const name of ["oauth4webapi", "valibot", "cac"]) {
    mkdirSync(join(dir, "node_modules", name), { recursive: true });
    writeFileSync(join(dir, "node_modules", name, "package.json"), JSON.stringify({ name, main: "index.js", type: "commonjs" }));
    writeFileSync(join(dir, "node_modules", name, "index.js"), preload);
  }
  writeFileSync(join(dir, ".npmrc"), `registry=${sink.url}\n`);
  return { dir, marker, evilConfig };
}

function home() {
  const dir = tempDir("pipeops-home-");
  const path = join(dir, ".pipeops.json");
  const text = JSON.stringify({ auth_token: tokens.access_token, expires_at: "2099-12-31T23:59:59Z", api_url: dev.url });
  writeFileSync(path, text, { mode: 0o600 });
  return { dir, path, text };
}

describe("a hostile working folder", () => {
  const commands = [
    ["auth", "status"],
    ["auth", "status", "--json"],
    ["auth", "me"],
    ["auth", "me", "--json"],
    ["auth", "token"],
    ["--version"],
    ["auth", "logout", "--force"],
  ];

  test.each(commands.map((args) => [args.join(" "), args] as const))("%s behaves as in a clean folder", async (_name, args) => {
    const clean = tempDir("pipeops-clean-");
    const hostile = hostileFolder();
    const plainHome = home();
    const trappedHome = home();
    // Each run has a home of its own, which `status --json` names as the token's source.
    // The seconds left depend on when each run reads the clock: the two may straddle a second.
    const inHome = (result: RunResult, dir: string) => ({
      ...result,
      stdout: result.stdout.replaceAll(dir, "<home>").replace(/("token_expires_in_seconds": )\d+/, "$1<seconds>"),
    });
    const expected = inHome(await runBinary(args, { env: { HOME: plainHome.dir }, cwd: clean }), plainHome.dir);
    // NODE_OPTIONS too, as a poisoned environment would set it: the binary reads none of it.
    const trapped = { HOME: trappedHome.dir, NODE_OPTIONS: nodeOptions(hostile.dir) };
    const actual = inHome(await runBinary(args, { env: trapped, cwd: hostile.dir }), trappedHome.dir);

    expect(actual).toEqual(expected);
    expect(expected.code).toBe(0);
    expect(sink.hits).toEqual([]);
    expect(existsSync(hostile.marker)).toBe(false);
    expect(existsSync(hostile.evilConfig)).toBe(false);
    // The user's own file is the one read (and, for logout, the one written).
    expect(readFileSync(trappedHome.path, "utf8")).toBe(readFileSync(plainHome.path, "utf8"));
  });

  test("control: the same traps do take over the CLI run from source by bun, so they are live", async () => {
    const hostile = hostileFolder();
    const trappedHome = home();
    const child = Bun.spawn([process.execPath, join(ROOT, "src", "main.ts"), "auth", "status"], {
      cwd: hostile.dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: trappedHome.dir, NODE_OPTIONS: nodeOptions(hostile.dir) },
      stdout: "pipe",
      stderr: "pipe",
    });
    await child.exited;
    expect(existsSync(hostile.marker)).toBe(true);
    expect(sink.hits.length).toBeGreaterThan(0);
    sink.hits.length = 0;
  });

  test("login --with-token stores the token in the user's file, checked against the user's server", async () => {
    const hostile = hostileFolder();
    const trappedHome = home();
    const result = await runBinary(["auth", "login", "--with-token"], {
      env: { HOME: trappedHome.dir, PIPEOPS_API_URL: dev.url, NODE_OPTIONS: nodeOptions(hostile.dir) },
      cwd: hostile.dir,
      stdin: `${tokens.access_token}\n`,
    });
    expect(result).toEqual({ code: 0, stdout: "✓ Successfully authenticated as user@example.com\n", stderr: "" });
    expect(JSON.parse(readFileSync(trappedHome.path, "utf8")).auth_token).toBe(tokens.access_token);
    expect(sink.hits).toEqual([]);
    expect(existsSync(hostile.marker)).toBe(false);
    expect(existsSync(hostile.evilConfig)).toBe(false);
  });
});
