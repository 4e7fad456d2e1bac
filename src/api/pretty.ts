/**
 * How `pipeops api` shows a body at a terminal: JSON indented and coloured without being parsed
 * into numbers (so 12345678901234567890 stays as the server wrote it), and any other text with the
 * characters that would act on the terminal (escapes, bidi overrides) shown as U+FFFD instead.
 */
import type { Colors } from "../io/colour.ts";

/** What must not reach a terminal from a server: C0 controls but tab and newline, DEL, C1, bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, "\uFFFD");
}

/** Inside a JSON string, raw C1 and bidi characters are legal: shown as their \u escapes, which mean the same. */
const UNSAFE_IN_STRING = /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escapeUnsafe = (text: string) => text.replace(UNSAFE_IN_STRING, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** The document indented by two spaces and coloured; undefined when `text` is not one JSON document. */
export function prettyJson(text: string, colors: Colors): string | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  let out = "";
  let depth = 0;
  const newline = () => `\n${"  ".repeat(depth)}`;
  const nextSignificant = (from: number) => {
    let at = from;
    while (at < text.length && /\s/.test(text[at]!)) at++;
    return text[at];
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const token = escapeUnsafe(text.slice(i, end + 1));
      out += nextSignificant(end + 1) === ":" ? colors.cyan(token) : colors.green(token);
      i = end;
    } else if (char === "{" || char === "[") {
      const close = char === "{" ? "}" : "]";
      if (nextSignificant(i + 1) === close) {
        out += char + close;
        i = text.indexOf(close, i + 1);
      } else {
        depth++;
        out += char + newline();
      }
    } else if (char === "}" || char === "]") {
      depth--;
      out += newline() + char;
    } else if (char === ",") {
      out += `,${newline()}`;
    } else if (char === ":") {
      out += ": ";
    } else if (!/\s/.test(char)) {
      let end = i;
      while (end < text.length && !/[\s,:\]}]/.test(text[end]!)) end++;
      out += colors.yellow(text.slice(i, end));
      i = end - 1;
    }
  }
  return `${out}\n`;
}

/** "content-type" as "Content-Type", the way headers are usually written. */
export function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** `--include`: the status line and the headers, then a blank line, all made safe for a terminal. */
export function formatHead(response: Response): string {
  let head = `HTTP/1.1 ${response.status} ${terminalSafe(response.statusText)}`.trimEnd();
  head += "\n";
  for (const [name, value] of response.headers) head += `${headerName(name)}: ${terminalSafe(value)}\n`;
  return `${head}\n`;
}
