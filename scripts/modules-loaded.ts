/**
 * Which modules a command loads, and how much code that is: the source run with a preload that
 * notes every module as it loads, sized by that module's part of the bundle the binary embeds
 * (unminified, so each module keeps its `// path` heading). `npm run bench` prints it for
 * `--version` and `auth status`, so a change that adds a module to either path shows in review.
 *   bun scripts/modules-loaded.ts auth status
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** A preload that appends each module's path to $PIPEOPS_TRACE_MODULES as Bun loads it. */
const TRACER = `
import { plugin } from "bun";
import { appendFileSync } from "node:fs";
plugin({
  name: "trace-modules",
  setup(build) {
    build.onLoad({ filter: /\\.(ts|js|mjs|cjs)$/ }, async (args) => {
      appendFileSync(process.env.PIPEOPS_TRACE_MODULES, args.path + "\\n");
      return { contents: await Bun.file(args.path).text(), loader: args.path.endsWith(".ts") ? "ts" : "js" };
    });
  },
});
`;

/** Each module's bytes in the split bundle, by its path from the repository's root. */
async function bundledSizes(): Promise<Map<string, number>> {
  const build = await Bun.build({ entrypoints: [join(ROOT, "src/main.ts")], target: "bun", splitting: true });
  if (!build.success) throw new AggregateError(build.logs, "bundling src/main.ts failed");
  const sizes = new Map<string, number>();
  for (const output of build.outputs) {
    const text = await output.text();
    const headings = [...text.matchAll(/^\/\/ ((?:src|node_modules)\/\S+)$/gm)];
    headings.forEach((heading, i) => {
      const end = headings[i + 1]?.index ?? text.length;
      sizes.set(heading[1]!, (sizes.get(heading[1]!) ?? 0) + end - heading.index!);
    });
  }
  return sizes;
}

export interface LoadedModules {
  modules: string[];
  bytes: number;
}

/** The modules `pipeops <args>` loads: by default with an empty HOME and no token (the offline path), else with `env`. */
export async function modulesLoaded(args: readonly string[], env?: Record<string, string>): Promise<LoadedModules> {
  const dir = mkdtempSync(join(tmpdir(), "pipeops-modules-"));
  try {
    const tracer = join(dir, "trace.ts");
    const list = join(dir, "loaded");
    writeFileSync(tracer, TRACER);
    writeFileSync(list, "");
    const child = Bun.spawn([process.execPath, "--preload", tracer, join(ROOT, "src/main.ts"), ...args], {
      cwd: ROOT,
      env: { PATH: "/usr/bin:/bin", HOME: dir, ...env, PIPEOPS_TRACE_MODULES: list },
      stdout: "ignore",
      stderr: "ignore",
    });
    await child.exited;
    const modules = [...new Set(readFileSync(list, "utf8").split("\n").filter(Boolean))].map((path) => relative(ROOT, path));
    const sizes = await bundledSizes();
    return { modules, bytes: modules.reduce((sum, module) => sum + (sizes.get(module) ?? 0), 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatModules(name: string, loaded: LoadedModules): string {
  const names = loaded.modules.map((module) => module.replace(/^src\//, "").replace(/\.ts$/, ""));
  return `${name}: ${loaded.modules.length} modules, ${(loaded.bytes / 1024).toFixed(1)} KB (${names.join(", ")})`;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  console.log(formatModules(`pipeops ${args.join(" ")}`, await modulesLoaded(args)));
}
