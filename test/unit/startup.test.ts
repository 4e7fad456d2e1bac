/**
 * What every start of the binary loads. Start-up time and memory are measured by `npm run bench`,
 * not here; these tests keep the structure that bench relies on: the modules imported before any
 * command runs stay few and small, and the heavy ones load only when a command needs them.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../helpers/binary.ts";

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

test("commands, flag parsing, help, colours, the credential store, the OAuth stack and the Deno runtime load only on demand", async () => {
  const { modules } = await loadedAtStart();
  expect(modules).toContain("src/cli.ts");
  expect(modules).toContain("src/context.ts");
  const onDemand = [
    /^node_modules\//,
    /^src\/(command|flags|usage)\.ts$/,
    /^src\/io\/(ansi|hidden-line)\.ts$/,
    // The command table itself is loaded at start; each command it names is not.
    /^src\/commands\/(?!table\.ts$)/,
    /^src\/config\/(store|schema|lock)\.ts$/,
    /^src\/runtime\/(fs|deno)\.ts$/,
    /^src\/(server|oauth|session|login|api)\//,
  ];
  expect(modules.filter((module) => onDemand.some((pattern) => pattern.test(module)))).toEqual([]);
});

test("the code loaded at start stays within its budget", async () => {
  // JavaScriptCore loads all of it at every start (as bytecode since the release is built with it,
  // which made each KB cheaper; 24 KB before, 26 KB since stdin read as bytes and the keyring joined
  // the runtime module, 30 KB since the credential file's read starts while a command loads, with
  // --version unchanged in npm run bench). Code that would go over belongs behind an import().
  const { bytes } = await loadedAtStart();
  expect(bytes).toBeLessThan(30 * 1024);
});
