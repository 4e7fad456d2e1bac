/**
 * Preloaded by `bun test` (bunfig.toml): every temporary folder a test file makes (homes, config
 * files, certificates) goes under one folder of this test process, removed when it exits, so the
 * suite leaves nothing in /tmp. World-readable like /tmp itself: some tests run the binary as
 * `nobody` in folders of their own below it.
 */
import { afterAll } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = mkdtempSync(join(tmpdir(), "pipeops-tests-"));
chmodSync(root, 0o755);
process.env.TMPDIR = root;
afterAll(() => rmSync(root, { recursive: true, force: true }));
