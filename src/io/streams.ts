/** The standard streams as commands see them: output with its colours, input read line by line and bounded. */
import type { Colors } from "./colour.ts";
import { NO_TERMINAL, type TerminalControls } from "./terminal.ts";

export interface OutputStream {
  write(text: string): void;
  /** Bytes as they are (a response body on a pipe), resolved once written; false once the reader has gone. */
  writeBytes(bytes: Uint8Array): Promise<boolean>;
  readonly isTTY: boolean;
  /** This stream's colours: ANSI where it takes colour (NO_COLOR, FORCE_COLOR, TTY), plain text elsewhere. */
  readonly colors: Colors;
  /** --quiet: only the essential line of a result, and errors; no warnings. */
  readonly quiet?: boolean;
  /** The line a terminal redraws in place: held while one indicator draws it, so no other draws over it. */
  readonly line?: { held: boolean };
}

export interface InputStream extends TerminalControls {
  readonly isTTY: boolean;
  /**
   * One line without its terminator; null at end of input. A line longer than `maxChars` is read
   * to its end but returned cut to maxChars + 1 characters, so no line fills memory and the caller
   * can tell it was too long.
   */
  readLine(maxChars?: number): Promise<string | null>;
  /** Everything up to end of input, or the first maxChars + 1 characters, after which reading stops. */
  readAll(maxChars: number): Promise<string>;
  /** The same in bytes, as they are: a request body. */
  readBytes(maxBytes: number): Promise<Uint8Array>;
}

/** What readLine() keeps of a line unless told otherwise: far more than a URL or a token. */
export const MAX_LINE_CHARS = 64 * 1024;

/** `colors` is asked each time: the stream's colours load when first painted, after it is made (src/context.ts). */
export function outputStream(
  write: (text: string) => void,
  writeBytes: (bytes: Uint8Array) => Promise<boolean>,
  isTTY: boolean,
  colors: () => Colors,
): OutputStream {
  return {
    write,
    writeBytes,
    isTTY,
    line: { held: false },
    get colors() {
      return colors();
    },
  };
}

/** Splits a byte stream into lines on demand; unread input stays unread, and nothing read is unbounded. */
export function lineReader(open: () => ReadableStream<Uint8Array>, isTTY: boolean, terminal: TerminalControls = NO_TERMINAL): InputStream {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let decoder: TextDecoder | undefined;
  let buffered = "";
  let ended = false;

  async function fill(): Promise<boolean> {
    if (ended) return false;
    reader ??= open().getReader();
    decoder ??= new TextDecoder();
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      buffered += decoder.decode();
      reader.releaseLock();
      return false;
    }
    buffered += decoder.decode(value, { stream: true });
    return true;
  }

  return {
    isTTY,
    setEcho: (on) => terminal.setEcho(on),
    discardTyped: () => terminal.discardTyped(),
    async readLine(maxChars = MAX_LINE_CHARS) {
      let kept: string | undefined;
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = (kept ?? "") + buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (kept !== undefined) return line.slice(0, maxChars + 1);
          return line.endsWith("\r") ? line.slice(0, -1) : line;
        }
        if (buffered.length > maxChars || kept !== undefined) {
          // Too long already: keep what tells so, drop the rest of the line as it arrives.
          kept = ((kept ?? "") + buffered).slice(0, maxChars + 1);
          buffered = "";
        }
        if (!(await fill())) {
          const rest = (kept ?? "") + buffered;
          buffered = "";
          if (rest === "" && kept === undefined) return null;
          return rest.slice(0, maxChars + 1);
        }
      }
    },
    async readAll(maxChars) {
      while (buffered.length <= maxChars && (await fill()));
      if (buffered.length > maxChars && !ended) {
        ended = true;
        await reader?.cancel().catch(() => {});
      }
      const all = buffered.slice(0, maxChars + 1);
      buffered = "";
      return all;
    },
    async readBytes(maxBytes) {
      // Text already taken in for a line goes first, as it was.
      const chunks: Uint8Array[] = buffered ? [new TextEncoder().encode(buffered)] : [];
      buffered = "";
      let size = chunks[0]?.length ?? 0;
      while (size <= maxBytes && !ended) {
        reader ??= open().getReader();
        const { value, done } = await reader.read();
        if (done) ended = true;
        else {
          chunks.push(value);
          size += value.length;
        }
      }
      if (!ended) {
        ended = true;
        await reader?.cancel().catch(() => {});
      }
      const bytes = new Uint8Array(Math.min(size, maxBytes + 1));
      let offset = 0;
      for (const chunk of chunks) {
        if (offset >= bytes.length) break;
        const part = chunk.subarray(0, bytes.length - offset);
        bytes.set(part, offset);
        offset += part.length;
      }
      return bytes;
    },
  };
}
