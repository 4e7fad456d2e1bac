/**
 * `pipeops auth doctor`: why login does not work here. One line per check, each with the fix for a
 * warning or a failure: the credential file, the credentials, the server (one request), the clock,
 * the browser, the callback ports, the terminal. Never a token, on screen or in the JSON.
 */
import { type Command, JSON_FLAG, parseFlags, type Streams } from "../../command.ts";
import type { Context } from "../../context.ts";
import type { Check } from "../../doctor/check.ts";
import { credentialsCheck, fileCheck, keyringCheck } from "../../doctor/files.ts";
import { browserCheck, portsCheck, terminalCheck } from "../../doctor/local.ts";
import { serverChecks } from "../../doctor/server.ts";
import { printJson } from "../../output.ts";

export interface DoctorOptions {
  json: boolean;
}

export interface DoctorResult {
  checks: Check[];
  ok: boolean;
}

async function run(ctx: Context, _options: DoctorOptions): Promise<DoctorResult> {
  const file = await fileCheck(ctx);
  const credentials = await credentialsCheck(ctx, file.check.status !== "fail");
  const checks = [
    file.check,
    credentials.check,
    ...(await serverChecks(ctx, credentials.session, file.snapshot?.apiUrl)),
    await browserCheck(ctx),
    await portsCheck(ctx),
    terminalCheck(ctx),
    await keyringCheck(ctx, file.snapshot),
  ];
  return { checks, ok: checks.every((check) => check.status !== "fail") };
}

const SYMBOLS = { ok: "✓", warn: "!", fail: "✗" } as const;

function render({ stdout }: Streams, result: DoctorResult, options: DoctorOptions): void {
  if (options.json) {
    printJson(stdout, { checks: result.checks.map(({ name, status, detail, hint }) => ({ name, status, detail, hint: hint ?? null })), ok: result.ok });
    return;
  }
  const { colors } = stdout;
  const paint = { ok: colors.green, warn: colors.yellow, fail: colors.red } as const;
  let text = "";
  for (const check of result.checks) {
    text += `${paint[check.status](SYMBOLS[check.status])} ${check.name}: ${check.detail}\n`;
    if (check.hint && check.status !== "ok") text += `  ${colors.dim("→")} ${check.hint}\n`;
  }
  stdout.write(text);
}

const FLAGS = [JSON_FLAG] as const;

export const command: Command<DoctorOptions, DoctorResult, typeof FLAGS> = {
  name: "auth doctor",
  summary: "Check why login may not work here (file, credentials, server, clock, browser, ports, keyring)",
  flags: FLAGS,
  examples: ["pipeops auth doctor", "pipeops auth doctor --json | jq '.checks[] | select(.status != \"ok\")'"],
  parse: async (argv) => ({ json: (await parseFlags(command, argv)).json ?? false }),
  run,
  render,
  exitCode: (result) => (result.ok ? 0 : 1),
  reportsJson: (options) => options.json,
};
