/**
 * One source, two runtimes: everything Bun- or Deno-specific (and everything that reaches for the
 * process: env, argv, exit, signals, files, spawning, serving) lives in src/runtime/. The check reads
 * the syntax tree, so comments and ordinary strings that mention `process.exit` do not count.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { currentRuntime } from "../../../src/runtime/index.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const SRC = join(ROOT, "src");

const GLOBALS = new Set(["Bun", "Deno", "process"]);
const GLOBAL_OBJECTS = new Set(["globalThis", "window", "self", "global"]);
/** Modules that touch the process, files, child processes, sockets or the terminal. */
const RUNTIME_MODULES = new Set(["process", "fs", "fs/promises", "child_process", "http", "https", "http2", "net", "os", "tty", "worker_threads", "cluster"]);
/** import.meta properties only Bun has (Deno and the web have url, resolve, main, filename, dirname). */
const BUN_IMPORT_META = new Set(["dir", "file", "path", "require", "env"]);

function forbiddenModule(specifier: string): boolean {
  if (specifier === "bun" || specifier.startsWith("bun:")) return true;
  return RUNTIME_MODULES.has(specifier.replace(/^node:/, ""));
}

/** The property name of a node that names a member rather than referring to a variable. */
function isMemberName(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent)) {
    return (ts.isPropertyAccessExpression(parent) ? parent.name : parent.right) === node;
  }
  return (
    (ts.isPropertyAssignment(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent) ||
      ts.isEnumMember(parent)) &&
    parent.name === node
  );
}

/** `(globalThis as any)` is still globalThis. */
function unwrap(node: ts.Expression): ts.Expression {
  while (
    ts.isParenthesizedExpression(node) ||
    ts.isAsExpression(node) ||
    ts.isTypeAssertionExpression(node) ||
    ts.isNonNullExpression(node) ||
    ts.isSatisfiesExpression(node)
  ) {
    node = node.expression;
  }
  return node;
}

/** What in this source reaches past the runtime boundary, one "line: what" string each. */
function boundaryViolations(source: string, fileName = "module.ts"): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const report = (node: ts.Node, what: string) => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    found.push(`${line + 1}: ${what}`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && GLOBALS.has(node.text) && !isMemberName(node)) {
      report(node, `uses ${node.text}`);
    } else if (ts.isPropertyAccessExpression(node) && GLOBALS.has(node.name.text)) {
      const target = unwrap(node.expression);
      if (ts.isIdentifier(target) && GLOBAL_OBJECTS.has(target.text)) report(node, `uses ${target.text}.${node.name.text}`);
    } else if (ts.isStringLiteralLike(node) && GLOBALS.has(node.text) && !ts.isLiteralTypeNode(node.parent)) {
      report(node, `names "${node.text}"`);
    } else if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      const access = node.parent;
      if (ts.isPropertyAccessExpression(access) && BUN_IMPORT_META.has(access.name.text)) report(node, `uses import.meta.${access.name.text} (Bun only)`);
    }
    const specifier =
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
        ? node.moduleSpecifier.text
        : ts.isCallExpression(node) &&
            (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === "require")) &&
            node.arguments[0] &&
            ts.isStringLiteralLike(node.arguments[0])
          ? node.arguments[0].text
          : ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)
            ? node.argument.literal.text
            : undefined;
    if (specifier !== undefined && forbiddenModule(specifier)) report(node, `imports ${specifier}`);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts|cts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe("the runtime boundary", () => {
  test("no module under src/ outside src/runtime/ touches Bun, Deno or process", () => {
    const outside = sourceFiles(SRC).filter((path) => !relative(SRC, path).startsWith("runtime/"));
    expect(outside.length).toBeGreaterThan(10);
    const violations = outside.flatMap((path) =>
      boundaryViolations(readFileSync(path, "utf8"), path).map((violation) => `src/${relative(SRC, path)}:${violation}`),
    );
    expect(violations).toEqual([]);
  });

  test.each([
    ["Bun.serve({ fetch })", "uses Bun"],
    ["const child = Bun.spawn(['x']);", "uses Bun"],
    ["Deno.exit(1);", "uses Deno"],
    ["const { env } = process;", "uses process"],
    ["process.exitCode = 2;", "uses process"],
    ["(globalThis as any).Deno.args", "uses globalThis.Deno"],
    ['globalThis["Bun"]', 'names "Bun"'],
    ['if ("Deno" in globalThis) {}', 'names "Deno"'],
    ['import { env } from "node:process";', "imports node:process"],
    ['import { spawn } from "child_process";', "imports child_process"],
    ['import { readFile } from "node:fs/promises";', "imports node:fs/promises"],
    ['export { serve } from "bun";', "imports bun"],
    ['const { Database } = await import("bun:sqlite");', "imports bun:sqlite"],
    ["type S = import('node:http').Server;", "imports node:http"],
    ["const here = import.meta.dir;", "uses import.meta.dir (Bun only)"],
  ])("catches %s", (source, what) => {
    expect(boundaryViolations(source)).toContain(`1: ${what}`);
  });

  test("comments, messages, member names and pure modules are fine", () => {
    const source = [
      "// nothing here calls process.exit; Bun.serve lives in src/runtime",
      "/* Deno.serve too */",
      'import { join } from "node:path";',
      'import * as oauth from "oauth4webapi";',
      'const message = "run this under Deno or Bun: process.exit is not called";',
      "const steps = { process: 1 }; steps.process += 1;",
      "interface Options { process(): void; Deno: string }",
      "const run = oauth.processDiscoveryResponse;",
      "const url = import.meta.url;",
    ].join("\n");
    expect(boundaryViolations(source)).toEqual([]);
  });
});

describe("choosing the runtime", () => {
  test("under Bun, the Bun implementation is chosen", async () => {
    const runtime = await currentRuntime();
    expect(runtime.name).toBe("bun");
    expect(runtime.pid).toBe(process.pid);
  });

  test("the Deno implementation can be imported under Bun: importing it runs no Deno code", async () => {
    const { denoRuntime } = await import("../../../src/runtime/deno.ts");
    expect(typeof denoRuntime).toBe("function");
    expect(() => denoRuntime()).toThrow(ReferenceError);
  });
});
