/** valibot schemas more than one boundary uses: the file, and what servers send. */
import * as v from "valibot";
import { UNPRINTABLE } from "./cli-error.ts";

/**
 * A schema built when it is first used, not when its module loads: a command whose path never
 * parses it pays nothing for it (npm run bench, with a session: `auth status` loads the modules of
 * the token answer, the profile and error bodies, and parses none of them).
 */
export function builtOnFirstUse<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

/**
 * An http(s) URL of a sane length: where a server, a sign-in page or a device page may be. One
 * with a control or bidi character is refused outright, not cleaned: it was made to deceive.
 */
export const httpUrl = v.pipe(
  v.string(),
  v.maxLength(2048),
  v.check((text) => !UNPRINTABLE.test(text), "must not contain control characters"),
  v.check((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), "must be an http(s) URL"),
);
