/** Where `pipeops api` sends a request, and the headers it may add: only ever the API's own origin. */
import { sanitize, usageError } from "../errors.ts";

const API_USAGE = "Run 'pipeops api --help' for usage";

/**
 * The URL `path` names under the API: `project/fetch` and `/project/fetch` are the same, under the
 * API URL's own path when it has one. A full URL is taken only on the API's origin; anything that
 * would resolve elsewhere (`//host`, `/\host`) is a usage error, before anything is sent.
 */
export function apiTarget(apiUrl: URL, path: string): URL {
  if (path.trim() === "") throw usageError("api needs a path, e.g. pipeops api oauth/userinfo", API_USAGE);
  let target: URL;
  if (path.includes(":") && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) {
    target = parseUrl(path);
  } else {
    const base = apiUrl.pathname.endsWith("/") ? apiUrl.pathname.replace(/\/+$/, "") : apiUrl.pathname;
    const relative = path.startsWith("/") || path.startsWith("\\") ? path.replace(/^[/\\]+/, "") : path;
    target = parseUrl(`${apiUrl.origin}${base}/${relative}`);
  }
  if (target.origin !== apiUrl.origin) {
    throw usageError(
      `refusing to send the session's token to ${originOf(target)}: pipeops api talks only to ${apiUrl.origin}`,
      "Give a path under the API (e.g. project/fetch), or set PIPEOPS_API_URL to the server you mean",
    );
  }
  target.hash = "";
  return target;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw usageError(`'${sanitize(text, 100)}' is not a valid path or URL`, API_USAGE);
  }
}

/** An origin as it may be shown: serialised by URL, so nothing in it can reach the terminal as an escape. */
function originOf(url: URL): string {
  return url.origin === "null" ? `${url.protocol}…` : url.origin;
}

/** Header names pipeops sets itself: the token, and what the request's body and connection decide. */
const OWN_HEADERS = new Set(["authorization", "host", "content-length", "transfer-encoding", "connection", "proxy-authorization"]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

/** `-H 'Name: value'`. The name is checked and may be named in an error; the value never is. */
export function parseHeader(arg: string): [string, string] {
  const colon = arg.indexOf(":");
  const name = (colon < 0 ? arg : arg.slice(0, colon)).trim();
  if (colon < 0 || !TOKEN.test(name)) throw usageError("a header is 'Name: value', e.g. -H 'Accept: text/plain'", API_USAGE);
  const value = arg.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) throw usageError(`the value of header '${name}' holds a line break`, API_USAGE);
  if (name.toLowerCase() === "authorization") {
    throw usageError("the Authorization header comes from your session", "To call with another token, set PIPEOPS_AUTH_TOKEN for this command");
  }
  if (OWN_HEADERS.has(name.toLowerCase())) throw usageError(`header '${name}' is set by pipeops`, API_USAGE);
  return [name, value];
}
