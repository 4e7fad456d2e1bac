#!/usr/bin/env bun
import { runCli } from "./cli.ts";
import { systemContext } from "./context.ts";
import { printWarning } from "./output.ts";
import { currentRuntime } from "./runtime/index.ts";

const runtime = await currentRuntime();
const code = await runCli(await systemContext(runtime, { warning: printWarning }), runtime.args);
runtime.exit(code);
