import { describe, expect, test } from "bun:test";
import { CliError, invalidToken, notAuthenticated, tokenExpired, usageError } from "../src/errors.ts";
import { exitCodeFor, exitCodeOf } from "../src/exit-codes.ts";
import { prepareColors, render } from "../src/output.ts";
import type { CommandResult } from "../src/results.ts";
import { testContext } from "./helpers/context.ts";

function rendered(result: CommandResult, json = false, env: Record<string, string> = { TZ: "UTC" }) {
  const ctx = testContext({ env });
  render(ctx, result, json);
  return { out: ctx.out(), err: ctx.err() };
}

const user = {
  id: "usr_1234567890",
  email: "user@example.com",
  name: "John Doe",
  organization: "Acme Corp",
  role: "admin",
  created_at: "2024-01-01T00:00:00Z",
};

describe("auth status output (spec strings)", () => {
  test("authenticated", () => {
    const { out } = rendered({
      kind: "status",
      authenticated: true,
      email: "user@example.com",
      expiresAt: new Date("2024-12-31T23:59:59Z"),
      problem: null,
    });
    expect(out).toBe("✓ Authenticated as user@example.com\nToken expires: 2024-12-31 23:59:59\n");
  });

  test("the expiry line is omitted when the expiry is unknown", () => {
    const { out } = rendered({ kind: "status", authenticated: true, email: "user@example.com", expiresAt: null, problem: null });
    expect(out).toBe("✓ Authenticated as user@example.com\n");
  });

  test("not authenticated", () => {
    expect(rendered({ kind: "status", authenticated: false }).out).toBe(
      "✗ Not authenticated\nRun 'pipeops auth login' to authenticate\n",
    );
  });

  test("JSON has the spec's keys in the spec's order", () => {
    const { out } = rendered(
      { kind: "status", authenticated: true, email: "user@example.com", expiresAt: new Date("2024-12-31T23:59:59Z"), problem: null },
      true,
    );
    expect(out).toBe(
      '{\n  "authenticated": true,\n  "email": "user@example.com",\n  "expires_at": "2024-12-31T23:59:59Z",\n  "token_valid": true\n}\n',
    );
    expect(JSON.parse(rendered({ kind: "status", authenticated: false }, true).out)).toEqual({
      authenticated: false,
      email: null,
      expires_at: null,
      token_valid: false,
    });
  });

  test("an expired token is the spec's error on stderr, or token_valid false in JSON", () => {
    const result = { kind: "status", authenticated: true, email: null, expiresAt: new Date(0), problem: tokenExpired() } as const;
    expect(rendered(result)).toEqual({
      out: "",
      err: "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n",
    });
    expect(JSON.parse(rendered(result, true).out)).toMatchObject({ authenticated: true, token_valid: false });
    expect(exitCodeOf(result)).toBe(1);
  });
});

describe("auth me output (spec strings)", () => {
  test("human output is aligned as in the spec", () => {
    expect(rendered({ kind: "me", user }).out).toBe(
      [
        "Email:        user@example.com",
        "Name:         John Doe",
        "Organization: Acme Corp",
        "Role:         Admin",
        "Account ID:   usr_1234567890",
        "",
      ].join("\n"),
    );
  });

  test("JSON has the spec's keys, role as the server sent it", () => {
    expect(rendered({ kind: "me", user }, true).out).toBe(`${JSON.stringify(user, null, 2)}\n`);
  });

  test("missing fields are left out of human output and null in JSON", () => {
    const { out } = rendered({ kind: "me", user: { id: "usr_1" } });
    expect(out).toBe("Account ID:   usr_1\n");
    expect(JSON.parse(rendered({ kind: "me", user: { id: "usr_1" } }, true).out)).toEqual({
      id: "usr_1",
      email: null,
      name: null,
      organization: null,
      role: null,
      created_at: null,
    });
  });
});

describe("other results", () => {
  test("token is printed alone", () => {
    expect(rendered({ kind: "token", token: "abc" })).toEqual({ out: "abc\n", err: "" });
  });
  test("login and logout success lines", () => {
    expect(rendered({ kind: "login", email: "user@example.com" }).out).toBe("✓ Successfully authenticated as user@example.com\n");
    expect(rendered({ kind: "logout", outcome: "logged_out", envTokenStillSet: false }).out).toBe("✓ Successfully logged out\n");
  });
  test("login with PIPEOPS_AUTH_TOKEN set warns that the variable still wins", () => {
    const { out, err } = rendered({ kind: "login", email: "a@b.c", envTokenOverrides: true });
    expect(out).toBe("✓ Successfully authenticated as a@b.c\n");
    expect(err).toBe("Warning: PIPEOPS_AUTH_TOKEN is set and takes precedence over the credentials just stored\nRun 'unset PIPEOPS_AUTH_TOKEN' to use them\n");
  });
  test("logout with PIPEOPS_AUTH_TOKEN set says the variable still authenticates", () => {
    const { err } = rendered({ kind: "logout", outcome: "logged_out", envTokenStillSet: true });
    expect(err).toContain("PIPEOPS_AUTH_TOKEN is set and still authenticates until you unset it");
  });
});

describe("colour", () => {
  test("NO_COLOR and non-terminals get plain text; FORCE_COLOR gets ANSI", async () => {
    const plain = testContext({ tty: true, env: { NO_COLOR: "1" } });
    await prepareColors(plain);
    render(plain, { kind: "login", email: "a@b.c" }, false);
    expect(plain.out()).not.toContain("\u001b[");
    const forced = testContext({ env: { FORCE_COLOR: "1" } });
    await prepareColors(forced);
    render(forced, { kind: "login", email: "a@b.c" }, false);
    expect(forced.out()).toContain("\u001b[32m✓");
  });
  test("JSON is never coloured", async () => {
    const forced = testContext({ env: { FORCE_COLOR: "1" } });
    await prepareColors(forced);
    render(forced, { kind: "me", user }, true);
    expect(forced.out()).not.toContain("\u001b[");
  });
});

describe("exit codes", () => {
  test("are decided in one place", () => {
    expect(exitCodeFor(notAuthenticated())).toBe(1);
    expect(exitCodeFor(invalidToken())).toBe(1);
    expect(exitCodeFor(new CliError("network", "x"))).toBe(1);
    expect(exitCodeFor(usageError("x"))).toBe(2);
    expect(exitCodeFor(new CliError("interrupted", "x"))).toBe(130);
    expect(exitCodeFor(new Error("boom"))).toBe(1);
    expect(exitCodeOf({ kind: "status", authenticated: false })).toBe(1);
    expect(exitCodeOf({ kind: "token", token: "t" })).toBe(0);
  });
  test("the spec's error strings", () => {
    expect([notAuthenticated(), tokenExpired(), invalidToken()].map((e) => `Error: ${e.message}\n${e.hint}`)).toEqual([
      "Error: not authenticated\nRun 'pipeops auth login' to authenticate",
      "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate",
      "Error: invalid authentication token\nRun 'pipeops auth login' to re-authenticate",
    ]);
  });
});
