/**
 * What every start of the binary loads. Start-up time and memory are measured by `npm run bench`,
 * not here; these tests keep the structure that bench relies on: the modules imported before any
 * command runs stay few and small, and the heavy ones load only when a command needs them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { modulesLoaded } from "../../scripts/modules-loaded.ts";
import { type PipeOpsServer, startPipeOpsServer } from "../../scripts/pipeops-server.ts";
import { ROOT, runBinary } from "../helpers/binary.ts";
import { tempDir } from "../helpers/context.ts";

/** The modules in the bundle's entry chunk and every chunk it imports statically, and their size. */
async function loadedAtStart(): Promise<{ modules: string[]; bytes: number }> {
  // Unminified, so each module keeps its `// path` comment; the same splitting as the release.
  const build = await Bun.build({ entrypoints: [join(ROOT, "src/main.ts")], target: "bun", splitting: true });
  if (!build.success) throw new AggregateError(build.logs, "bundling src/main.ts failed");
  const chunks = new Map<string, string>();
  for (const output of build.outputs) chunks.set(output.path.replace(/^\.\//, ""), await output.text());
  const seen = new Set<string>();
  const pending = ["main.js"];
  for (let chunk = pending.pop(); chunk !== undefined; chunk = pending.pop()) {
    if (seen.has(chunk)) continue;
    seen.add(chunk);
    // Static imports only: `import(` (a dynamic import) has a parenthesis where these have a quote.
    for (const match of chunks.get(chunk)!.matchAll(/(?:from|import)\s*"\.\/([^"]+)"/g)) pending.push(match[1]!);
  }
  const texts = [...seen].map((chunk) => chunks.get(chunk)!);
  const modules = texts.flatMap((text) => [...text.matchAll(/^\/\/ ((?:src|node_modules)\/\S+)$/gm)].map((match) => match[1]!));
  return { modules, bytes: texts.reduce((sum, text) => sum + text.length, 0) };
}

test("commands, flag parsing, help, the credential store, the OAuth stack and the Deno runtime load only on demand", async () => {
  const { modules } = await loadedAtStart();
  expect(modules).toContain("src/cli.ts");
  expect(modules).toContain("src/context.ts");
  const onDemand = [
    // picocolors aside: its code is here, wrapped in a function that runs when a stream is first
    // painted (src/runtime/bun.ts; the colour test below), not at start.
    /^node_modules\/(?!picocolors\/)/,
    /^src\/(command|flags|usage)\.ts$/,
    /^src\/io\/hidden-line\.ts$/,
    // The command table itself is loaded at start; each command it names is not.
    /^src\/commands\/(?!table\.ts$)/,
    /^src\/config\/(store|schema|lock)\.ts$/,
    /^src\/runtime\/(fs|deno|ansi)\.ts$/,
    /^src\/(server|oauth|session|login|api)\//,
  ];
  expect(modules.filter((module) => onDemand.some((pattern) => pattern.test(module)))).toEqual([]);
});

test("the code loaded at start stays within its budget", async () => {
  // JavaScriptCore loads all of it at every start (as bytecode since the release is built with it,
  // which made each KB cheaper; 24 KB before, 26 KB since stdin read as bytes and the keyring joined
  // the runtime module, 28 KB since the credential file's read starts while a command loads; the
  // reader and the update record's check load behind an import(), which kept --version and the
  // offline auth status within 1% of before in npm run bench; 26.1 KB once that read was taken out
  // again; 30.3 KB since picocolors' wrapped code joined it, with --version and the offline
  // auth status unchanged, 0.997-1.005). Code that would go over belongs behind an import().
  const { bytes } = await loadedAtStart();
  expect(bytes).toBeLessThan(31 * 1024);
});

describe("what a script's command loads with a session that needs no refresh (npm run bench, with a session)", () => {
  let server: PipeOpsServer;
  beforeAll(async () => {
    server = await startPipeOpsServer();
  });
  afterAll(() => server?.close());

  test("no OAuth library, refresh, lock or flag parser: a sat_ token, the PipeOps API already known", async () => {
    const home = tempDir();
    const login = await runBinary(["auth", "login", "--token", server.issueServiceToken()], { env: { HOME: home, PIPEOPS_API_URL: server.url } });
    expect(login.code).toBe(0);
    // The server's kind is learned once, as the login's check learns it.
    expect((await runBinary(["auth", "status"], { env: { HOME: home } })).code).toBe(0);
    const never = [
      /^node_modules\/(oauth4webapi|cac)\//,
      /^src\/config\/(lock|writable|keyring)\.ts$/,
      /^src\/session\/refresh-session\.ts$/,
      /^src\/server\/(standard|discovery|oauth)\.ts$/,
    ];
    for (const args of [
      ["auth", "token"],
      ["api", "oauth/userinfo"],
      ["auth", "status"],
    ]) {
      const { modules } = await modulesLoaded(args, { HOME: home });
      // The command did run: its own module is there.
      expect(modules).toContain(args[0] === "api" ? "src/commands/api.ts" : `src/commands/auth/${args[1]}.ts`);
      expect({ args, loaded: modules.filter((module) => never.some((pattern) => pattern.test(module))) }).toEqual({ args, loaded: [] });
    }
  });

  test("with colour on, as at a terminal: the colours load for status's green ✓, never for the token alone", async () => {
    const home = tempDir();
    expect((await runBinary(["auth", "login", "--token", server.issueServiceToken()], { env: { HOME: home, PIPEOPS_API_URL: server.url } })).code).toBe(0);
    const PICOCOLORS = "node_modules/picocolors/picocolors.js";
    const env = { HOME: home, FORCE_COLOR: "1" };
    expect((await modulesLoaded(["auth", "status"], env)).modules).toContain(PICOCOLORS);
    const token = (await modulesLoaded(["auth", "token"], env)).modules;
    expect(token).toContain("src/commands/auth/token.ts");
    expect(token).not.toContain(PICOCOLORS);
  });
});

test("node:path loads only for file operations that need it, not for a read of the server cache", async () => {
  // About 0.4 ms to import in the binary: runtime/fs.ts imports it inside the functions that use it.
  const source = await Bun.file(join(ROOT, "src/runtime/fs.ts")).text();
  expect(source).not.toMatch(/^import\s[^;]*from\s+"node:path"/m);
});
