/**
 * What scripts run in loops, with a session: `auth token`, `pipeops api oauth/userinfo` and
 * `auth status`, each beside a one-line program compiled with the same Bun and flags that does the
 * same essential work (read ~/.pipeops.json, then print the token, or make the one GET with it and
 * write the body). With a file session (a `sat_` token stored by `auth login --token`) and with
 * PIPEOPS_AUTH_TOKEN, against the PipeOps-shaped server on loopback; medians of interleaved runs,
 * on a pipe and at a terminal. Part of `npm run bench`.
 *
 * Beside them, what the brief asks of every command costs by itself: the same one-line programs
 * with valibot checking what they read (pipeops' own schemas) and with picocolors loaded (as
 * pipeops loads it), each against its plain floor. That share of the 1.25x is spent before any of
 * pipeops' own code runs.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureAtTerminal } from "./bench.ts";
import { median } from "./bench-api.ts";
import { type BuildFlags, build } from "./build.ts";
import { formatModules, modulesLoaded } from "./modules-loaded.ts";
import { startPipeOpsServer } from "./pipeops-server.ts";

/** The target: each command within 1.25x of its floor, on a pipe and at a terminal. */
export const SESSION_RATIO = 1.25;

const FLOORS = {
  "read the file, print the token": `const { auth_token } = JSON.parse(await Bun.file(process.env.HOME + "/.pipeops.json").text());
console.log(auth_token);
`,
  "read the file, the same GET, write the body": `const { auth_token, api_url } = JSON.parse(await Bun.file(process.env.HOME + "/.pipeops.json").text());
const response = await fetch(api_url + "/oauth/userinfo", { headers: { authorization: "Bearer " + auth_token } });
await Bun.write(Bun.stdout, await response.arrayBuffer());
`,
  "print the variable": `console.log(process.env.PIPEOPS_AUTH_TOKEN);
`,
  "the same GET with the variable, write the body": `const response = await fetch(process.env.PIPEOPS_API_URL + "/oauth/userinfo", { headers: { authorization: "Bearer " + process.env.PIPEOPS_AUTH_TOKEN } });
await Bun.write(Bun.stdout, await response.arrayBuffer());
`,
} as const;

type Floor = keyof typeof FLOORS;

const ROOT = join(import.meta.dir, "..");
const src = (path: string) => JSON.stringify(join(ROOT, "src", path));

/** The floors with only what the brief requires added: validation at every boundary (valibot), colour at a terminal (picocolors). */
const REFERENCES = {
  "read the file, validate it (pipeops' config schema), print the token": {
    floor: "read the file, print the token",
    source: `import * as v from "valibot";
import { ConfigFileSchema } from ${src("config/schema.ts")};
const { auth_token } = v.parse(ConfigFileSchema, JSON.parse(await Bun.file(process.env.HOME + "/.pipeops.json").text()));
console.log(auth_token);
`,
  },
  "read and validate the file, the same GET, validate the answer (pipeops' userinfo schema), print the email": {
    floor: "read the file, the same GET, write the body",
    source: `import * as v from "valibot";
import { ConfigFileSchema } from ${src("config/schema.ts")};
import { parseUserInfo } from ${src("server/account.ts")};
const { auth_token, api_url } = v.parse(ConfigFileSchema, JSON.parse(await Bun.file(process.env.HOME + "/.pipeops.json").text()));
const response = await fetch(api_url + "/oauth/userinfo", { headers: { authorization: "Bearer " + auth_token } });
console.log("Authenticated as " + parseUserInfo(await response.json(), "the server").email);
`,
  },
  // All of it together, as `auth status` at a terminal must: its ✓ is green.
  "all three: the file and the answer validated, the colours loaded, print the email": {
    floor: "read the file, the same GET, write the body",
    source: `import * as v from "valibot";
import { ConfigFileSchema } from ${src("config/schema.ts")};
import { withColorFlag } from ${src("runtime/colour-probe.ts")};
import { parseUserInfo } from ${src("server/account.ts")};
const { auth_token, api_url } = v.parse(ConfigFileSchema, JSON.parse(await Bun.file(process.env.HOME + "/.pipeops.json").text()));
const colors = withColorFlag(() => require("picocolors").createColors(true));
const response = await fetch(api_url + "/oauth/userinfo", { headers: { authorization: "Bearer " + auth_token } });
console.log(colors.green("✓") + " Authenticated as " + parseUserInfo(await response.json(), "the server").email);
`,
  },
  "load the colours (picocolors, as pipeops loads it), print the variable": {
    floor: "print the variable",
    source: `import { withColorFlag } from ${src("runtime/colour-probe.ts")};
withColorFlag(() => require("picocolors").createColors(true));
console.log(process.env.PIPEOPS_AUTH_TOKEN);
`,
  },
} as const satisfies Record<string, { floor: Floor; source: string }>;

type Reference = keyof typeof REFERENCES;

/** A command (or a reference program), how to run it, its floor, what its output must match, and whether it is a reference. */
type Row = readonly [name: string, argv: readonly string[], floor: Floor, expectOut: RegExp, reference?: boolean];

export interface SessionRow {
  /** A reference program (REFERENCES) rather than a pipeops command: reported, not held to the target. */
  reference?: boolean;
  command: string;
  floor: Floor;
  commandMs: number;
  floorMs: number;
  terminalCommandMs: number;
  terminalFloorMs: number;
}

interface SessionCase {
  name: string;
  argv: string[];
  expectCode: number;
  expectOut: RegExp;
}

const WARMUP = 5;

/**
 * Wall time on a pipe, as bench.ts measures it, but awaited rather than spawnSync: the server
 * answers from this same process. Interleaved, one of each case per round; medians after warm-up.
 */
async function measureOnPipe(cases: SessionCase[], runs: number, env: Record<string, string>): Promise<{ wallMs: number }[]> {
  const samples = cases.map(() => [] as number[]);
  for (let round = 0; round < WARMUP + runs; round++) {
    for (const [i, c] of cases.entries()) {
      const started = performance.now();
      const child = Bun.spawn(c.argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      const ms = performance.now() - started;
      if (round === 0 && (code !== c.expectCode || !c.expectOut.test(stdout))) {
        throw new Error(`${c.name}: exit ${code}, output ${JSON.stringify(stdout)}; expected exit ${c.expectCode} and ${c.expectOut}`);
      }
      if (round >= WARMUP) samples[i]!.push(ms);
    }
  }
  return samples.map((values) => ({ wallMs: median(values) }));
}

export interface SessionBench {
  rows: SessionRow[];
  /** What each path loads (from source, the same session): a module that joins one shows in review. */
  modules: string[];
}

export async function benchSession(built: string, flags: BuildFlags, runs: number, out: string): Promise<SessionBench> {
  mkdirSync(out, { recursive: true });
  // Measured from a copy written now, as the floors are built now: on this machine a binary written
  // half an hour ago starts over 1 ms slower than the same bytes written a moment ago (the kernel's
  // page cache keeps a new file in large pieces, and splits them as it ages), which would favour
  // whichever program was written last.
  const binary = join(out, "pipeops");
  copyFileSync(built, binary);
  chmodSync(binary, 0o755);
  const floors = new Map<Floor, string>();
  for (const [name, source] of Object.entries(FLOORS) as [Floor, string][]) {
    const file = join(out, `floor-${floors.size}.ts`);
    writeFileSync(file, source);
    const outfile = join(out, `floor-${floors.size}`);
    await build({ entry: file, outfile, ...flags, quiet: true });
    floors.set(name, outfile);
  }
  const references = new Map<Reference, string>();
  for (const [name, { source }] of Object.entries(REFERENCES) as [Reference, { source: string }][]) {
    const file = join(out, `reference-${references.size}.ts`);
    writeFileSync(file, source);
    const outfile = join(out, `reference-${references.size}`);
    await build({ entry: file, outfile, ...flags, quiet: true });
    references.set(name, outfile);
  }
  const referenceRow = (name: Reference, expect: RegExp): Row => [name, [references.get(name)!], REFERENCES[name].floor, expect, true];
  const server = await startPipeOpsServer();
  const fileHome = mkdtempSync(join(tmpdir(), "pipeops-bench-session-"));
  const emptyHome = mkdtempSync(join(tmpdir(), "pipeops-bench-session-"));
  try {
    const token = server.issueServiceToken();
    // Stored as the issue measured it: auth login --token, which writes api_url beside it.
    const login = Bun.spawn([binary, "auth", "login", "--token", token], {
      env: { PATH: "/usr/bin:/bin", HOME: fileHome, PIPEOPS_API_URL: server.url },
      stdout: "ignore",
      stderr: "pipe",
    });
    if ((await login.exited) !== 0) throw new Error(`auth login --token failed: ${await new Response(login.stderr).text()}`);
    const groups: { env: Record<string, string>; rows: Row[] }[] = [
      {
        env: { PATH: "/usr/bin:/bin", HOME: fileHome, TZ: "UTC" },
        rows: [
          ["auth token", [binary, "auth", "token"], "read the file, print the token", new RegExp(`^${token}\\r?\\n$`)],
          ["api oauth/userinfo", [binary, "api", "oauth/userinfo"], "read the file, the same GET, write the body", /user@example\.com/],
          ["auth status", [binary, "auth", "status"], "read the file, the same GET, write the body", /Authenticated as/],
          referenceRow("read the file, validate it (pipeops' config schema), print the token", new RegExp(`^${token}\\r?\\n$`)),
          referenceRow("read and validate the file, the same GET, validate the answer (pipeops' userinfo schema), print the email", /Authenticated as/),
          referenceRow("all three: the file and the answer validated, the colours loaded, print the email", /Authenticated as/),
        ],
      },
      {
        env: { PATH: "/usr/bin:/bin", HOME: emptyHome, TZ: "UTC", PIPEOPS_AUTH_TOKEN: token, PIPEOPS_API_URL: server.url },
        rows: [
          ["auth token (PIPEOPS_AUTH_TOKEN)", [binary, "auth", "token"], "print the variable", new RegExp(`^${token}\\r?\\n$`)],
          ["api oauth/userinfo (PIPEOPS_AUTH_TOKEN)", [binary, "api", "oauth/userinfo"], "the same GET with the variable, write the body", /user@example\.com/],
          ["auth status (PIPEOPS_AUTH_TOKEN)", [binary, "auth", "status"], "the same GET with the variable, write the body", /Authenticated as/],
          referenceRow("load the colours (picocolors, as pipeops loads it), print the variable", new RegExp(`^${token}\\r?\\n$`)),
        ],
      },
    ];
    const results: SessionRow[] = [];
    for (const group of groups) {
      // Each command and its floor interleaved, one of each per round.
      const cases = group.rows.flatMap(([name, argv, floor, expectOut]) => [
        { name, argv: [...argv], expectCode: 0, expectOut },
        {
          name: floor,
          argv: [floors.get(floor)!],
          expectCode: 0,
          expectOut: floor.startsWith("print") || floor.includes("print the token") ? /\S/ : /user@example\.com/,
        },
      ]);
      const onPipe = await measureOnPipe(cases, runs, { ...group.env });
      const atTerminal = await measureAtTerminal(cases, runs, { ...group.env });
      group.rows.forEach(([name, , floor, , reference], i) => {
        results.push({
          reference,
          command: name,
          floor,
          commandMs: onPipe[2 * i]!.wallMs,
          floorMs: onPipe[2 * i + 1]!.wallMs,
          terminalCommandMs: atTerminal[2 * i]!.wallMs,
          terminalFloorMs: atTerminal[2 * i + 1]!.wallMs,
        });
      });
    }
    const modules: string[] = [];
    for (const group of groups) {
      for (const [name, argv, , , reference] of group.rows)
        if (!reference) modules.push(formatModules(`pipeops ${name}`, await modulesLoaded(argv.slice(1), { ...group.env })));
    }
    return { rows: results, modules };
  } finally {
    await server.close();
    rmSync(fileHome, { recursive: true, force: true });
    rmSync(emptyHome, { recursive: true, force: true });
  }
}

export function formatSession({ rows, modules }: SessionBench, runs: number): string {
  const lines = [
    `With a session (a sat_ token; the PipeOps-shaped server on loopback): ${runs} interleaved runs, medians; each beside a one-line program doing the same work.`,
    "",
    "| command | floor (one-line program) | on a pipe | floor | ratio | at a terminal | floor | ratio |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const checks: string[] = [];
  const tableLine = (row: SessionRow) =>
    `| ${row.command} | ${row.floor} | ${row.commandMs.toFixed(1)} ms | ${row.floorMs.toFixed(1)} ms | ${(row.commandMs / row.floorMs).toFixed(2)}x | ${row.terminalCommandMs.toFixed(1)} ms | ${row.terminalFloorMs.toFixed(1)} ms | ${(row.terminalCommandMs / row.terminalFloorMs).toFixed(2)}x |`;
  for (const row of rows.filter((row) => !row.reference)) {
    const pipe = row.commandMs / row.floorMs;
    const terminal = row.terminalCommandMs / row.terminalFloorMs;
    lines.push(tableLine(row));
    checks.push(`${pipe <= SESSION_RATIO ? "ok  " : "OVER"} ${row.command} on a pipe: ${pipe.toFixed(2)}x <= ${SESSION_RATIO}x`);
    checks.push(`${terminal <= SESSION_RATIO ? "ok  " : "OVER"} ${row.command} at a terminal: ${terminal.toFixed(2)}x <= ${SESSION_RATIO}x`);
  }
  const required = [
    "What the brief requires costs by itself: each floor with only that added (valibot checking what it read, with pipeops' schemas; picocolors loaded). Part of the 1.25x goes here before any of pipeops' own code runs.",
    "",
    "| reference program | its floor | on a pipe | floor | ratio | at a terminal | floor | ratio |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.filter((row) => row.reference).map(tableLine),
  ];
  return [
    ...lines,
    "",
    ...checks,
    "",
    ...required,
    "",
    "Modules each path loads (their bundled, unminified size):",
    ...modules.map((line) => `- ${line}`),
  ].join("\n");
}
