/**
 * Where a text stops being JSON (RFC 8259), for the message about a broken credential file: the
 * runtime's parser says what went wrong but not where. Run only after JSON.parse has failed.
 */

/** The line and column (from 1) where the text stops being JSON, and whether that is its end (a file cut short). */
export interface JsonErrorPosition {
  line: number;
  column: number;
  atEnd: boolean;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

export function jsonErrorPosition(text: string): JsonErrorPosition | undefined {
  let i = 0;
  const stop = (): never => {
    throw new StopAt(i);
  };
  const skipSpace = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const expect = (char: string) => {
    skipSpace();
    if (text[i] !== char) stop();
    i++;
  };
  const string = () => {
    expect('"');
    for (;;) {
      const char = text[i];
      if (char === undefined || char < " ") stop();
      if (char === '"') {
        i++;
        return;
      }
      if (char === "\\") {
        ESCAPE.lastIndex = i;
        if (!ESCAPE.test(text)) stop();
        i = ESCAPE.lastIndex;
      } else i++;
    }
  };
  const list = (close: string, item: () => void) => {
    i++;
    skipSpace();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      skipSpace();
      if (text[i] !== ",") break;
      i++;
    }
    expect(close);
  };
  const member = () => {
    string();
    expect(":");
    value();
  };
  const literal = () => ["true", "false", "null"].find((word) => text.startsWith(word, i));
  const value = (): void => {
    skipSpace();
    const char = text[i];
    const word = literal();
    if (char === "{") list("}", member);
    else if (char === "[") list("]", value);
    else if (char === '"') string();
    else if (word) i += word.length;
    else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) stop();
      i = NUMBER.lastIndex;
    }
  };
  try {
    value();
    skipSpace();
    if (i < text.length) stop();
    return undefined;
  } catch (error) {
    if (!(error instanceof StopAt)) throw error;
    const before = text.slice(0, error.offset);
    const lastBreak = before.lastIndexOf("\n");
    return { line: before.split("\n").length, column: error.offset - lastBreak, atEnd: error.offset >= text.length };
  }
}

class StopAt {
  constructor(readonly offset: number) {}
}
