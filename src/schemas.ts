/** valibot schemas more than one boundary uses: the file, and what servers send. */
import * as v from "valibot";

/** An http(s) URL of a sane length: where a server, a sign-in page or a device page may be. */
export const httpUrl = v.pipe(
  v.string(),
  v.maxLength(2048),
  v.check((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), "must be an http(s) URL"),
);
