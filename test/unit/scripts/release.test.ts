/** The release script's own decisions, without building anything. */
import { expect, test } from "bun:test";
import { RELEASE_DIR, releaseOutDir } from "../../../scripts/release.ts";

test("--out: an absolute path is where it says (it was taken as relative); a relative one is from the working folder", () => {
  expect(releaseOutDir("/srv/releases/v0.2.0", "/home/me/pipeops")).toBe("/srv/releases/v0.2.0");
  expect(releaseOutDir("out/rel", "/home/me/pipeops")).toBe("/home/me/pipeops/out/rel");
  expect(releaseOutDir(undefined)).toBe(RELEASE_DIR);
});
