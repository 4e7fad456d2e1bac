/**
 * The shape of src/: no module imports itself back through others, not even for a type, and the
 * layers point one way (commands → auth → api → config and runtime; context renders nothing).
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { ROOT } from "../helpers/binary.ts";

const SRC = join(ROOT, "src");

/** Every relative import of every module: static, type-only, re-exports, import() and `typeof import()`. */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts"));
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (const file of files) {
    const text = readFileSync(join(SRC, file), "utf8");
    const deps = new Set<string>();
    for (const match of text.matchAll(specifier)) deps.add(normalize(join(dirname(file), match[1]!)));
    graph.set(normalize(file), deps);
  }
  return graph;
}

/** Strongly connected components of more than one module (or a module importing itself): the cycles. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (node: string) => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        connect(next);
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node)!, indices.get(next)!));
      }
    }
    if (lowlinks.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop()!; ; member = stack.pop()!) {
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!indices.has(node)) connect(node);
  return found;
}

test("the import graph of src/ has no cycle, type imports included", () => {
  const graph = importGraph();
  expect(graph.size).toBeGreaterThan(30);
  expect(cycles(graph)).toEqual([]);
});

test("the cycle finder finds a cycle (so the test above can fail)", () => {
  const graph = new Map([
    ["a.ts", new Set(["b.ts"])],
    ["b.ts", new Set(["c.ts"])],
    ["c.ts", new Set(["a.ts"])],
    ["d.ts", new Set(["a.ts"])],
  ]);
  expect(cycles(graph)).toEqual([["a.ts", "b.ts", "c.ts"]]);
});

/**
 * The layers, lowest first: a module imports only modules of lower rank, or of its own folder. Two
 * folders of one rank (config and io; login and session) never import each other.
 * commands → login | session → oauth → server → config | runtime; errors, time and the like are leaves.
 */
const RANKS: readonly (readonly [RegExp, number])[] = [
  [/^(cli-error|time|sleep|suggest|version)\.ts$/, 0],
  [/^(errors|schemas)\.ts$/, 0.5],
  [/^runtime\//, 1],
  [/^(config|io)\//, 2],
  [/^(context|output)\.ts$/, 3],
  [/^server\//, 4],
  [/^oauth\//, 5],
  [/^(session|login)\//, 6],
  [/^(api|doctor|update)\//, 6.5],
  [/^flags\.ts$/, 7],
  [/^command\.ts$/, 7.1],
  [/^usage\.ts$/, 7.2],
  [/^commands\//, 8],
  [/^globals\.ts$/, 8.5],
  [/^cli\.ts$/, 9],
  [/^main\.ts$/, 10],
];

export function rankOf(file: string): number {
  const found = RANKS.find(([pattern]) => pattern.test(file));
  if (!found) throw new Error(`${file} is in no layer: add it to RANKS`);
  return found[1];
}

const folderOf = (file: string) => (file.includes("/") ? file.slice(0, file.indexOf("/")) : file);

/** The imports that point up or sideways across folders. */
export function layerViolations(graph: Map<string, Set<string>>): string[] {
  const offending: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      if (!graph.has(dep)) continue;
      const sameFolder = file.includes("/") && folderOf(file) === folderOf(dep);
      if (!sameFolder && rankOf(dep) >= rankOf(file)) offending.push(`${file} -> ${dep}`);
    }
  }
  return offending.sort();
}

test("layers point one way: commands → login | session → oauth → server → config | runtime, leaves below all", () => {
  expect(layerViolations(importGraph())).toEqual([]);
});

test("the layer check finds an import that points up, and one between two folders of a rank", () => {
  const graph = new Map([
    ["server/connect.ts", new Set(["oauth/userinfo.ts", "config/store.ts", "errors.ts"])],
    ["oauth/userinfo.ts", new Set(["server/connect.ts"])],
    ["login/browser.ts", new Set(["session/session.ts"])],
    ["session/session.ts", new Set([])],
    ["config/store.ts", new Set([])],
    ["errors.ts", new Set([])],
  ]);
  expect(layerViolations(graph)).toEqual(["login/browser.ts -> session/session.ts", "server/connect.ts -> oauth/userinfo.ts"]);
});
