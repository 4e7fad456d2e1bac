/**
 * The shape of src/: no module imports itself back through others, not even for a type, and the
 * layers point one way (commands → auth → api → config and runtime; context renders nothing).
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "./helpers/binary.ts";

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

test("layers point one way: api/ never imports auth/ or commands/; auth/ never commands/; context.ts renders nothing", () => {
  const graph = importGraph();
  const offending: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const from = relative(".", file);
      if (from.startsWith("api/") && /^(auth|commands)\//.test(dep)) offending.push(`${from} -> ${dep}`);
      if (from.startsWith("auth/") && dep.startsWith("commands/")) offending.push(`${from} -> ${dep}`);
      if (from.startsWith("config/") && /^(auth|commands)\//.test(dep)) offending.push(`${from} -> ${dep}`);
      if (from === "context.ts" && dep === "output.ts") offending.push(`${from} -> ${dep}`);
    }
  }
  expect(offending).toEqual([]);
});
