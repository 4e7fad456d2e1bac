/**
 * Each command's parse(argv): flags into options, and the usage errors a typo gets. In-process;
 * test/binary/auth-commands.test.ts checks a few of the same lines from the binary.
 */
import { describe, expect, test } from "bun:test";
import { route } from "../../src/cli.ts";
import { command as login } from "../../src/commands/auth/login.ts";
import { command as logout } from "../../src/commands/auth/logout.ts";
import { command as me } from "../../src/commands/auth/me.ts";
import { command as status } from "../../src/commands/auth/status.ts";
import { command as token } from "../../src/commands/auth/token.ts";
import { CliError } from "../../src/errors.ts";
import { editDistance } from "../../src/suggest.ts";

async function usageMessage(parse: Promise<unknown>): Promise<string> {
  const error = await parse.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof CliError) || error.code !== "usage") throw new Error(`expected a usage error, got ${String(error)}`);
  return error.message;
}

describe("auth login", () => {
  test("defaults: the environment decides the browser, 300 s", async () => {
    expect(await login.parse([])).toEqual({ browser: undefined, withToken: false, timeoutSeconds: 300, qr: false });
  });

  test("--browser, --no-browser, --with-token, --timeout in both spellings", async () => {
    expect(await login.parse(["--no-browser"])).toEqual({ browser: false, withToken: false, timeoutSeconds: 300, qr: false });
    expect(await login.parse(["--browser", "--timeout", "30"])).toEqual({ browser: true, withToken: false, timeoutSeconds: 30, qr: false });
    expect(await login.parse(["--with-token", "--timeout=2.5"])).toEqual({ browser: undefined, withToken: true, timeoutSeconds: 2.5, qr: false });
  });

  test("a repeated --timeout: the last value wins, as in gh", async () => {
    expect((await login.parse(["--timeout", "5", "--timeout", "7"])).timeoutSeconds).toBe(7);
  });

  test("--timeout -5 is a bad value, not an unknown option", async () => {
    expect(await usageMessage(login.parse(["--timeout", "-5"]))).toBe("--timeout must be a positive number of seconds, got '-5'");
    expect(await usageMessage(login.parse(["--timeout", "soon"]))).toBe("--timeout must be a positive number of seconds, got 'soon'");
    expect(await usageMessage(login.parse(["--timeout", "0"]))).toBe("--timeout must be a positive number of seconds, got '0'");
  });

  test("--timeout is capped at a day; huge numbers are a usage error, not an instant timeout", async () => {
    expect((await login.parse(["--timeout", "86400"])).timeoutSeconds).toBe(86400);
    for (const value of ["86401", "3000000", "1e9"]) {
      expect(await usageMessage(login.parse(["--timeout", value]))).toMatch(
        /^--timeout must be (at most 86400 seconds \(a day\)|a positive number of seconds, got '1e9')$/,
      );
    }
  });

  test("--timeout without a value", async () => {
    expect(await usageMessage(login.parse(["--timeout"]))).toBe("flag --timeout needs a value: --timeout <seconds>");
  });

  test("--token keeps its value exactly as typed, whatever it looks like", async () => {
    for (const value of ["00123", "1e5", "0x10", "-5", "pat_abc=="]) {
      expect((await login.parse(["--token", value])).token).toBe(value);
      expect((await login.parse([`--token=${value}`])).token).toBe(value);
    }
  });

  test("--browser with --no-browser is a contradiction", async () => {
    expect(await usageMessage(login.parse(["--browser", "--no-browser"]))).toBe("--browser and --no-browser cannot be used together");
  });

  test("an argument is never repeated back (it may be a token)", async () => {
    const message = await usageMessage(login.parse(["pipeops_SECRET_abc123"]));
    expect(message).toBe("auth login takes no arguments; to log in with a token, pipe it in: pipeops auth login --with-token < token.txt");
    expect(message).not.toContain("SECRET");
    expect(await usageMessage(login.parse(["--", "pipeops_SECRET_abc123"]))).not.toContain("SECRET");
  });

  test("an unknown flag is named as typed, with the nearest one", async () => {
    expect(await usageMessage(login.parse(["--no-brower"]))).toBe("unknown option '--no-brower'; did you mean --no-browser?");
    expect(await usageMessage(login.parse(["--with-tokn"]))).toBe("unknown option '--with-tokn'; did you mean --with-token?");
    expect(await usageMessage(login.parse(["--verbose"]))).toBe("unknown option '--verbose'");
  });

  test("a value given to an unknown flag is not repeated", async () => {
    const message = await usageMessage(login.parse(["--password=pipeops_SECRET_abc123"]));
    expect(message).toBe("unknown option '--password'");
  });
});

describe("the other commands", () => {
  test("status and me take --json", async () => {
    expect(await status.parse([])).toEqual({ json: false });
    expect(await status.parse(["--json"])).toEqual({ json: true });
    expect(await me.parse(["--json"])).toEqual({ json: true });
    expect(await usageMessage(status.parse(["--jsn"]))).toBe("unknown option '--jsn'; did you mean --json?");
    expect(await usageMessage(status.parse(["--json=1"]))).toBe("flag --json takes no value");
  });

  test("logout takes --force and --revoke", async () => {
    expect(await logout.parse([])).toEqual({ force: false, revoke: false });
    expect(await logout.parse(["--force", "--revoke"])).toEqual({ force: true, revoke: true });
    expect(await usageMessage(logout.parse(["--forse"]))).toBe("unknown option '--forse'; did you mean --force?");
  });

  test("token takes nothing", async () => {
    expect(await token.parse([])).toEqual({});
    expect(await usageMessage(token.parse(["x"]))).toBe("auth token takes no arguments");
    expect(await usageMessage(token.parse(["--json"]))).toBe("unknown option '--json'");
  });
});

describe("routing", () => {
  test("help at every level, in every spelling", () => {
    expect(route([])).toEqual({ kind: "help", topic: "root" });
    expect(route(["help"])).toEqual({ kind: "help", topic: "root" });
    expect(route(["-h"])).toEqual({ kind: "help", topic: "root" });
    expect(route(["auth"])).toEqual({ kind: "help", topic: "auth" });
    expect(route(["help", "auth"])).toEqual({ kind: "help", topic: "auth" });
    expect(route(["auth", "help"])).toEqual({ kind: "help", topic: "auth" });
    expect(route(["auth", "help", "login"])).toEqual({ kind: "help", topic: "login" });
    expect(route(["help", "auth", "login"])).toEqual({ kind: "help", topic: "login" });
    expect(route(["auth", "login", "--timeout", "5", "--help"])).toEqual({ kind: "help", topic: "login" });
  });

  test("version, commands and unknown words", () => {
    expect(route(["--version"])).toEqual({ kind: "version" });
    expect(route(["auth", "status", "--json"])).toEqual({ kind: "command", name: "status", argv: ["--json"] });
    expect(route(["--bogus"])).toEqual({ kind: "unknown", typed: "--bogus" });
    expect(route(["auth", "lgoin"])).toEqual({ kind: "unknown", typed: "lgoin", under: "auth" });
  });

  test("edit distance counts a swap of neighbours as one edit", () => {
    expect(editDistance("lgoin", "login")).toBe(1);
    expect(editDistance("--no-brower", "--no-browser")).toBe(1);
    expect(editDistance("status", "status")).toBe(0);
    expect(editDistance("me", "token")).toBe(4);
  });
});

describe("api", () => {
  test("a path, fields in the order given (-f and -F together), repeated headers, -XPOST", async () => {
    const { command: api } = await import("../../src/commands/api.ts");
    expect(await api.parse(["project/create", "-f", "a[]=x", "-F", "a[]=1", "-XPOST", "-H", "X-A: 1", "--header=X-B: 2", "-i"])).toEqual({
      path: "project/create",
      method: "POST",
      fields: [
        { arg: "a[]=x", typed: false },
        { arg: "a[]=1", typed: true },
      ],
      input: undefined,
      headers: [
        ["X-A", "1"],
        ["X-B", "2"],
      ],
      include: true,
      silent: false,
    });
  });

  test("a path after flags, and after --; none, or two, is a usage error that never repeats an argument", async () => {
    const { command: api } = await import("../../src/commands/api.ts");
    expect((await api.parse(["--silent", "oauth/userinfo"])).path).toBe("oauth/userinfo");
    expect((await api.parse(["--", "-odd-path"])).path).toBe("-odd-path");
    expect(await usageMessage(api.parse(["--silent"]))).toBe("api needs a path, e.g. pipeops api oauth/userinfo");
    expect(await usageMessage(api.parse(["a", "sat_secret"]))).toBe("api takes one argument, <path>");
    expect(await usageMessage(api.parse(["a", "--method"]))).toBe("flag --method needs a value: --method <method>");
  });

  test("route: `pipeops api …` runs api; `pipeops api --help` is its help", () => {
    expect(route(["api", "me", "-i"])).toEqual({ kind: "top", name: "api", argv: ["me", "-i"] });
    expect(route(["api", "--help"])).toEqual({ kind: "help", topic: "api" });
  });
});
