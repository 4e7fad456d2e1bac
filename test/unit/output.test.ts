import { describe, expect, test } from "bun:test";
import type { AnyCommand } from "../../src/command.ts";
import { command as login } from "../../src/commands/auth/login.ts";
import { command as logout } from "../../src/commands/auth/logout.ts";
import { command as me } from "../../src/commands/auth/me.ts";
import { command as status } from "../../src/commands/auth/status.ts";
import { command as token } from "../../src/commands/auth/token.ts";
import { CliError, exitCodeFor, invalidToken, notAuthenticated, tokenExpired, usageError } from "../../src/errors.ts";
import { testContext } from "../helpers/context.ts";

/** A command's render() into buffers, as the runner calls it. */
function rendered(command: AnyCommand, result: unknown, options: Record<string, unknown> = {}, env: Record<string, string> = { TZ: "UTC" }, tty = false) {
  const ctx = testContext({ env, tty });
  command.render(ctx, result, options);
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
    const { out } = rendered(status, {
      authenticated: true,
      email: "user@example.com",
      expiresAt: new Date("2024-12-31T23:59:59Z"),
      problem: null,
    });
    expect(out).toBe("✓ Authenticated as user@example.com\nToken expires: 2024-12-31 23:59:59\n");
  });

  test("the expiry line is omitted when the expiry is unknown", () => {
    const { out } = rendered(status, { authenticated: true, email: "user@example.com", expiresAt: null, problem: null });
    expect(out).toBe("✓ Authenticated as user@example.com\n");
  });

  test("not authenticated", () => {
    expect(rendered(status, { authenticated: false }).out).toBe("✗ Not authenticated\nRun 'pipeops auth login' to authenticate\n");
  });

  test("JSON has the spec's keys in the spec's order, then api_url and source, then the official CLI's keys", () => {
    const production = {
      server: "https://api.pipeops.io",
      source: "/home/u/.pipeops.json",
      tokenType: "oauth" as const,
      tokenSource: "/home/u/.pipeops.json",
      expiresInSeconds: 90,
      credentialStore: "file" as const,
    };
    const { out } = rendered(
      status,
      { authenticated: true, email: "user@example.com", expiresAt: new Date("2024-12-31T23:59:59Z"), problem: null, ...production },
      { json: true },
    );
    expect(out).toBe(
      '{\n  "authenticated": true,\n  "email": "user@example.com",\n  "expires_at": "2024-12-31T23:59:59Z",\n  "token_valid": true,\n  "api_url": "https://api.pipeops.io",\n  "source": "/home/u/.pipeops.json",\n' +
        '  "api_endpoint": "https://api.pipeops.io",\n  "token_type": "oauth",\n  "token_source": "/home/u/.pipeops.json",\n  "token_expires_at": "2024-12-31T23:59:59Z",\n  "token_expires_in_seconds": 90,\n  "credential_store": "file",\n' +
        '  "remaining_seconds": null,\n  "min_remaining_ok": null,\n  "error": null\n}\n',
    );
    expect(JSON.parse(rendered(status, { authenticated: false, server: "https://api.pipeops.io" }, { json: true }).out)).toEqual({
      authenticated: false,
      email: null,
      expires_at: null,
      token_valid: false,
      api_url: "https://api.pipeops.io",
      source: null,
      api_endpoint: "https://api.pipeops.io",
      token_type: null,
      token_source: null,
      token_expires_at: null,
      token_expires_in_seconds: null,
      credential_store: null,
      remaining_seconds: null,
      min_remaining_ok: null,
      error: null,
    });
    // A service-account token: its type, no expiry (null, as every key is printed whatever the outcome).
    const service = { ...production, tokenType: "service_account" as const, tokenSource: "PIPEOPS_TOKEN", source: "env", credentialStore: null };
    expect(
      JSON.parse(rendered(status, { authenticated: true, email: "ci@example.com", expiresAt: null, problem: null, ...service }, { json: true }).out),
    ).toEqual({
      authenticated: true,
      email: "ci@example.com",
      expires_at: null,
      token_valid: true,
      api_url: "https://api.pipeops.io",
      source: "env",
      api_endpoint: "https://api.pipeops.io",
      token_type: "service_account",
      token_source: "PIPEOPS_TOKEN",
      token_expires_at: null,
      token_expires_in_seconds: null,
      credential_store: null,
      remaining_seconds: null,
      min_remaining_ok: null,
      error: null,
    });
  });

  test("every outcome prints the same keys in one order, and authenticated is true only for an accepted credential (exit 0, or 3)", () => {
    const keys = [
      "authenticated",
      "email",
      "expires_at",
      "token_valid",
      "api_url",
      "source",
      "api_endpoint",
      "token_type",
      "token_source",
      "token_expires_at",
      "token_expires_in_seconds",
      "credential_store",
      "remaining_seconds",
      "min_remaining_ok",
      "error",
    ];
    const found = { authenticated: true, email: "a@b.c", expiresAt: new Date("2030-01-01T00:00:00Z"), server: "https://api.pipeops.io" } as const;
    const outcomes = [
      { result: { authenticated: false }, accepted: false },
      { result: { authenticated: false, problem: tokenExpired() }, accepted: false },
      { result: { ...found, problem: null }, accepted: true },
      { result: { ...found, problem: tokenExpired() }, accepted: false },
      { result: { ...found, problem: null, remaining: { askedSeconds: 3600, remainingSeconds: 60, ok: false } }, accepted: true },
    ] as const;
    for (const { result, accepted } of outcomes) {
      const json = JSON.parse(rendered(status, result, { json: true }).out);
      expect(Object.keys(json)).toEqual(keys);
      expect(json.authenticated).toBe(accepted);
      expect(status.exitCode?.(result)).toBe(accepted ? ("remaining" in result ? 3 : 0) : 1);
    }
  });

  test("a Server line after the spec's two, only for a server that is not production", () => {
    const result = { authenticated: true, email: "a@b.c", expiresAt: new Date("2024-12-31T23:59:59Z"), problem: null } as const;
    expect(rendered(status, { ...result, server: "https://api.pipeops.io" }).out).toBe("✓ Authenticated as a@b.c\nToken expires: 2024-12-31 23:59:59\n");
    expect(rendered(status, { ...result, server: "http://127.0.0.1:8000" }).out).toBe(
      "✓ Authenticated as a@b.c\nToken expires: 2024-12-31 23:59:59\nServer: http://127.0.0.1:8000\n",
    );
  });

  test("an expired token is the spec's error on stderr, or token_valid false in JSON", () => {
    const result = { authenticated: true, email: null, expiresAt: new Date(0), problem: tokenExpired() } as const;
    expect(rendered(status, result)).toEqual({
      out: "",
      err: "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate\n",
    });
    expect(JSON.parse(rendered(status, result, { json: true }).out)).toMatchObject({ authenticated: false, token_valid: false });
    expect(status.exitCode?.(result)).toBe(1);
  });
});

describe("auth me output (spec strings)", () => {
  test("human output is aligned as in the spec", () => {
    expect(rendered(me, { user }).out).toBe(
      ["Email:        user@example.com", "Name:         John Doe", "Organization: Acme Corp", "Role:         Admin", "Account ID:   usr_1234567890", ""].join(
        "\n",
      ),
    );
  });

  test("JSON has the spec's keys, role as the server sent it", () => {
    expect(rendered(me, { user }, { json: true }).out).toBe(`${JSON.stringify(user, null, 2)}\n`);
  });

  test("missing fields are left out of human output and null in JSON", () => {
    const { out } = rendered(me, { user: { id: "usr_1" } });
    expect(out).toBe("Account ID:   usr_1\n");
    expect(JSON.parse(rendered(me, { user: { id: "usr_1" } }, { json: true }).out)).toEqual({
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
    expect(rendered(token, { token: "abc" })).toEqual({ out: "abc\n", err: "" });
  });
  test("login and logout success lines", () => {
    expect(rendered(login, { email: "user@example.com" }).out).toBe("✓ Successfully authenticated as user@example.com\n");
    expect(rendered(logout, { outcome: "logged_out" }).out).toBe("✓ Successfully logged out\n");
  });
  test("login with PIPEOPS_AUTH_TOKEN set warns that the variable still wins", () => {
    const { out, err } = rendered(login, { email: "a@b.c", envTokenOverrides: "PIPEOPS_AUTH_TOKEN" });
    expect(out).toBe("✓ Successfully authenticated as a@b.c\n");
    expect(err).toBe("Warning: PIPEOPS_AUTH_TOKEN is set and takes precedence over the credentials just stored\nRun 'unset PIPEOPS_AUTH_TOKEN' to use them\n");
  });
  test("logout with a token variable set names it: it still authenticates", () => {
    const { err } = rendered(logout, { outcome: "logged_out", envTokenStillSet: "PIPEOPS_TOKEN" });
    expect(err).toBe("Warning: PIPEOPS_TOKEN is set and still authenticates until you unset it\nRun 'unset PIPEOPS_TOKEN'\n");
  });
});

describe("colour, decided per stream", () => {
  test("NO_COLOR and non-terminals get plain text; FORCE_COLOR gets ANSI; FORCE_COLOR=0 turns it off", () => {
    expect(rendered(login, { email: "a@b.c" }, {}, { NO_COLOR: "1" }, true).out).toBe("✓ Successfully authenticated as a@b.c\n");
    expect(rendered(login, { email: "a@b.c" }, {}, {}, false).out).toBe("✓ Successfully authenticated as a@b.c\n");
    expect(rendered(login, { email: "a@b.c" }, {}, {}, true).out).toBe("\u001b[32m✓\u001b[39m Successfully authenticated as a@b.c\n");
    expect(rendered(login, { email: "a@b.c" }, {}, { FORCE_COLOR: "1" }).out).toBe("\u001b[32m✓\u001b[39m Successfully authenticated as a@b.c\n");
    for (const off of ["0", "false"])
      expect(rendered(login, { email: "a@b.c" }, {}, { FORCE_COLOR: off }, true).out).toBe("✓ Successfully authenticated as a@b.c\n");
  });
  test("JSON is never coloured", () => {
    expect(rendered(me, { user }, { json: true }, { FORCE_COLOR: "1" }).out).toBe(`${JSON.stringify(user, null, 2)}\n`);
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
    expect(status.exitCode?.({ authenticated: false })).toBe(1);
    expect(status.exitCode?.({ authenticated: true, email: "a@b.c", expiresAt: null, problem: null })).toBe(0);
    expect(token.exitCode).toBeUndefined();
  });
  test("the spec's error strings", () => {
    expect([notAuthenticated(), tokenExpired(), invalidToken()].map((e) => `Error: ${e.message}\n${e.hint}`)).toEqual([
      "Error: not authenticated\nRun 'pipeops auth login' to authenticate",
      "Error: authentication token has expired\nRun 'pipeops auth login' to re-authenticate",
      "Error: invalid authentication token\nRun 'pipeops auth login' to re-authenticate",
    ]);
  });
});
