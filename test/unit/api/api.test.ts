/** `pipeops api`'s pure parts: fields into a body or a query, where a path goes, headers, and how a body is shown. */
import { describe, expect, test } from "bun:test";
import { type Field, fieldsToBody, fieldsToQuery, splitField, typedValue } from "../../../src/api/fields.ts";
import { formatHead, headerName, prettyJson, terminalSafe } from "../../../src/api/pretty.ts";
import { apiTarget, parseHeader } from "../../../src/api/target.ts";
import { CliError } from "../../../src/errors.ts";
import { PLAIN_COLORS } from "../../../src/io/colour.ts";

const field = (arg: string, typed = true): Field => {
  const { key, path, raw } = splitField(arg, typed ? "-F" : "-f");
  return { key, path, value: typed ? typedValue(raw) : raw };
};

function usage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError && error.code === "usage") return error.message;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("fields", () => {
  test("-F types true, false, null and integers; anything else, and -f, stays text", () => {
    expect(["true", "false", "null", "42", "-7", "0", "007", "1.5", "1e3", "9007199254740993", "yes", ""].map(typedValue)).toEqual([
      true,
      false,
      null,
      42,
      -7,
      0,
      "007",
      "1.5",
      "1e3",
      "9007199254740993",
      "yes",
      "",
    ]);
    expect(field("port=8080", false).value).toBe("8080");
  });

  test("key[]=v builds arrays and key[sub]=v objects, nested as deep as typed, in order", () => {
    const body = fieldsToBody(["a[]=1", "a[]=x", "s[region]=eu", "s[limits][cpu]=2", "s[tags][]=web", "n=null", "v==equals="].map((arg) => field(arg)));
    expect(body).toEqual({ a: [1, "x"], s: { region: "eu", limits: { cpu: 2 }, tags: ["web"] }, n: null, v: "=equals=" });
  });

  test("a key given twice, or as both a value and an object, is a usage error naming the key", () => {
    expect(usage(() => fieldsToBody([field("a=1"), field("a=2")]))).toBe("field 'a' conflicts with another field of the same name");
    expect(usage(() => fieldsToBody([field("a=1"), field("a[b]=2")]))).toBe("field 'a[b]' conflicts with another field of the same name");
    expect(usage(() => fieldsToBody([field("a[]=1"), field("a[b]=2")]))).toBe("field 'a[b]' conflicts with another field of the same name");
  });

  test("a field without '=' or with a broken key: a usage error that never repeats the text", () => {
    expect(usage(() => splitField("hunter2", "-f"))).toBe("-f takes key=value; a field has no '='");
    expect(usage(() => splitField("a[b=hunter2", "-F"))).not.toContain("hunter2");
    expect(usage(() => splitField("=hunter2", "-F"))).not.toContain("hunter2");
  });

  test("in a query string keys stay as typed and null is empty", () => {
    expect(fieldsToQuery(["ids[]=1", "ids[]=2", "q=null", "on=true"].map((arg) => field(arg)))).toEqual([
      ["ids[]", "1"],
      ["ids[]", "2"],
      ["q", ""],
      ["on", "true"],
    ]);
  });
});

describe("where a path goes", () => {
  const api = new URL("https://api.pipeops.io");

  test("relative paths, with or without a slash, under the API URL's own path too; the query kept, the fragment dropped", () => {
    expect(apiTarget(api, "project/fetch?workspace_uuid=w").href).toBe("https://api.pipeops.io/project/fetch?workspace_uuid=w");
    expect(apiTarget(api, "/project/fetch").href).toBe("https://api.pipeops.io/project/fetch");
    expect(apiTarget(new URL("https://example.com/api/v1/"), "/me#x").href).toBe("https://example.com/api/v1/me");
    expect(apiTarget(api, "https://api.pipeops.io/oauth/userinfo").href).toBe("https://api.pipeops.io/oauth/userinfo");
  });

  test("nothing resolves to another origin: //host and /\\host stay paths, other origins are refused", () => {
    expect(apiTarget(api, "//evil.example/x").href).toBe("https://api.pipeops.io/evil.example/x");
    expect(apiTarget(api, "/\\evil.example/x").href).toBe("https://api.pipeops.io/evil.example/x");
    for (const other of ["https://evil.example/x", "http://api.pipeops.io/x", "https://api.pipeops.io:8443/x", "javascript:alert(1)", "file:///etc/passwd"]) {
      expect(usage(() => apiTarget(api, other))).toMatch(/^refusing to send the session's token to .*: pipeops api talks only to https:\/\/api\.pipeops\.io$/);
    }
    expect(usage(() => apiTarget(api, "  "))).toStartWith("api needs a path");
  });

  test("headers: 'Name: value' with the value trimmed; the session's own headers and broken ones refused, values never shown", () => {
    expect(parseHeader("X-Trace:  on ")).toEqual(["X-Trace", "on"]);
    expect(parseHeader("Accept: a: b")).toEqual(["Accept", "a: b"]);
    expect(usage(() => parseHeader("Authorization: Bearer hunter2"))).toBe("the Authorization header comes from your session");
    expect(usage(() => parseHeader("content-length: 5"))).toBe("header 'content-length' is set by pipeops");
    expect(usage(() => parseHeader("X: a\r\nInjected: hunter2"))).toBe("the value of header 'X' holds a line break");
    expect(usage(() => parseHeader("hunter2"))).not.toContain("hunter2");
  });
});

describe("how a body is shown at a terminal", () => {
  test("JSON is re-indented without parsing numbers, empty containers stay on one line", () => {
    const text = ' {"n": 12345678901234567890.5e1, "s":"a \\"q\\" , : {", "e":{ }, "l":[ ], "a":[1,{"b":null}]} ';
    expect(prettyJson(text, PLAIN_COLORS)).toBe(
      '{\n  "n": 12345678901234567890.5e1,\n  "s": "a \\"q\\" , : {",\n  "e": {},\n  "l": [],\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ]\n}\n',
    );
    expect(prettyJson("[1,2", PLAIN_COLORS)).toBeUndefined();
    expect(prettyJson('"\u009b\u202e"', PLAIN_COLORS)).toBe('"\\u009b\\u202e"\n');
  });

  test("text keeps tabs, newlines and CRLF; other controls become U+FFFD", () => {
    expect(terminalSafe("a\tb\r\nc\rd\u001b[2J\u0007\u202e")).toBe("a\tb\r\nc\uFFFDd\uFFFD[2J\uFFFD\uFFFD");
  });

  test("--include's head: the status line and each header, names as usually written", () => {
    const response = new Response("", { status: 404, statusText: "Not Found", headers: { "content-type": "application/json", "x-request-id": "r1" } });
    expect(formatHead(response)).toBe("HTTP/1.1 404 Not Found\nContent-Type: application/json\nX-Request-Id: r1\n\n");
    expect(headerName("www-authenticate")).toBe("Www-Authenticate");
  });
});
