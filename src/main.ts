#!/usr/bin/env bun
import { runCli } from "./cli.ts";
import { systemContext } from "./context.ts";
import { currentRuntime } from "./runtime/index.ts";

const runtime = await currentRuntime();
const code = await runCli(systemContext(runtime), runtime.args);
runtime.exit(code);
