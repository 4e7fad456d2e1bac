import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CredentialStore } from "../../../src/config/store.ts";
import { CliError } from "../../../src/errors.ts";
import { bunRuntime } from "../../../src/runtime/bun.ts";
import { tempDir } from "../../helpers/context.ts";

function storeIn(dir = tempDir()) {
  const warnings: string[] = [];
  const path = join(dir, ".pipeops.json");
  return { path, dir, warnings, store: new CredentialStore(path, (message, hint) => warnings.push(`${message} | ${hint}`)) };
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("CredentialStore.read", () => {
  test("a missing or empty file means no credentials", async () => {
    const { store, path } = storeIn();
    expect((await store.read()).credentials).toBeNull();
    writeFileSync(path, "  \n", { mode: 0o600 });
    expect((await store.read()).credentials).toBeNull();
  });

  test("the spec's hand-written file works", async () => {
    const { store, path } = storeIn();
    writeFileSync(path, '{"auth_token":"your-token-here"}\n', { mode: 0o600 });
    expect((await store.read()).credentials).toEqual({
      accessToken: "your-token-here",
      refreshToken: undefined,
      expiresAt: undefined,
      source: "file",
    });
  });

  test("reads the Go CLI's nested oauth credentials when ours are absent", async () => {
    const { store, path } = storeIn();
    const goFile = {
      oauth: { access_token: "go-at", refresh_token: "go-rt", expires_at: "2030-01-02T03:04:05.123456789+01:00", token_type: "Bearer" },
      settings: { theme: "dark" },
      version: "1.2.3",
    };
    writeFileSync(path, JSON.stringify(goFile), { mode: 0o600 });
    const { credentials } = await store.read();
    expect(credentials?.accessToken).toBe("go-at");
    expect(credentials?.refreshToken).toBe("go-rt");
    expect(credentials?.source).toBe("go-cli");
    expect(credentials?.expiresAt?.toISOString()).toBe("2030-01-02T02:04:05.123Z");
  });

  test("Go's zero time means the expiry is unknown, not expired", async () => {
    const { store, path } = storeIn();
    writeFileSync(path, JSON.stringify({ oauth: { access_token: "go-at", expires_at: "0001-01-01T00:00:00Z" } }), { mode: 0o600 });
    expect((await store.read()).credentials?.expiresAt).toBeUndefined();
  });

  test.each([
    ["not JSON", "{not json", /is not valid: invalid JSON/],
    ["an array", "[1,2]", /is not valid: expected a JSON object/],
    ["a wrong-typed token", '{"auth_token": 42}', /is not valid: auth_token must be a string/],
    ["a bad expiry", '{"auth_token": "t", "expires_at": "tomorrow"}', /is not valid: expires_at must be an RFC 3339 date-time/],
    ["a bad api_url", '{"auth_token": "t", "api_url": "ftp://x"}', /is not valid: api_url must be an http\(s\) URL/],
    ["a wrong-typed Go token", '{"oauth": {"access_token": true}}', /is not valid: oauth\.access_token must be a string/],
  ])("%s is reported with the path, and never rewritten", async (_name, text, reason) => {
    const { store, path } = storeIn();
    writeFileSync(path, text, { mode: 0o600 });
    const error = await store.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe("config_invalid");
    expect((error as CliError).message).toStartWith(`config file ${path} is not valid: `);
    expect((error as CliError).message).toMatch(reason);
    expect((error as CliError).hint).toBeString();
    await expect(store.save({ accessToken: "new" })).rejects.toThrow(CliError);
    await expect(store.clear()).rejects.toThrow(CliError);
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  test("warns once when the file is readable by others", async () => {
    const { store, path, warnings } = storeIn();
    writeFileSync(path, '{"auth_token":"t"}');
    chmodSync(path, 0o644);
    await store.read();
    await store.read();
    expect(warnings).toEqual([`config file ${path} is readable by other users | Run 'chmod 600 ${path}' to protect it`]);
  });
});

describe("CredentialStore.save", () => {
  test("writes our keys atomically with mode 0600, the official CLI's session too, and keeps every other key", async () => {
    const { store, path, dir } = storeIn();
    const original = {
      oauth: { access_token: "go-at", refresh_token: "go-rt", token_type: "Bearer" },
      settings: { theme: "dark" },
      updates: { last_check: "2024-01-01" },
      version: "1.2.3",
      custom: [1, 2, 3],
    };
    writeFileSync(path, JSON.stringify(original));
    chmodSync(path, 0o644);
    await store.save({
      accessToken: "at-1",
      refreshToken: "rt-1",
      expiresAt: new Date("2030-05-06T07:08:09.999Z"),
      apiUrl: "http://127.0.0.1:1234",
    });
    const written = JSON.parse(readFileSync(path, "utf8"));
    expect(written).toEqual({
      ...original,
      // The same session in the official CLI's keys, with the server it belongs to; its token_type kept.
      oauth: { access_token: "at-1", refresh_token: "rt-1", expires_at: "2030-05-06T07:08:09Z", base_url: "http://127.0.0.1:1234", token_type: "Bearer" },
      auth_token: "at-1",
      refresh_token: "rt-1",
      expires_at: "2030-05-06T07:08:09Z",
      api_url: "http://127.0.0.1:1234",
    });
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(dir)).toEqual([".pipeops.json"]);
  });

  test("creates a missing folder and file with private modes", async () => {
    const dir = join(tempDir(), "nested", "deeper");
    const { store, path } = storeIn(dir);
    await store.save({ accessToken: "at" });
    expect(mode(path)).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ auth_token: "at" });
  });
});

describe("another tool's values come back exactly as it wrote them", () => {
  // Numbers JavaScript would round or turn into null, and strings whose escapes it would rewrite.
  const foreign = [
    `"account_id": 12345678901234567890`,
    `"huge": 1e400`,
    `"precise": 0.1000000000000000055511151231257827`,
    `"negative_zero": -0`,
    `"name": "caf\\u00e9 \\ud83d\\ude00 \\/"`,
    `"nested": {"ids": [9007199254740993, 1E+2, true, null]}`,
    `"oauth": {"access_token": "old", "quota": 18446744073709551615, "client_id": "pipeops_public_client"}`,
  ];
  const original = `{\n  ${foreign.join(",\n  ")}\n}\n`;

  test("save: each of them, byte for byte, beside our new keys", async () => {
    const { store, path } = storeIn();
    writeFileSync(path, original, { mode: 0o600 });
    await store.save({ accessToken: "new-token", refreshToken: "new-refresh" });
    const written = readFileSync(path, "utf8");
    for (const pair of foreign.slice(0, 5)) expect(written).toContain(pair.replace(/^("[^"]+"): /, "$1: "));
    expect(written).toContain("9007199254740993");
    expect(written).toContain("1E+2");
    expect(written).toContain("18446744073709551615");
    expect(JSON.parse(written).auth_token).toBe("new-token");
  });

  test("clear: the same, with the session gone from both shapes", async () => {
    const { store, path } = storeIn();
    writeFileSync(path, original, { mode: 0o600 });
    expect(await store.clear()).toBe(true);
    const written = readFileSync(path, "utf8");
    for (const text of [
      "12345678901234567890",
      "1e400",
      "0.1000000000000000055511151231257827",
      "-0",
      "caf\\u00e9 \\ud83d\\ude00 \\/",
      "9007199254740993",
      "18446744073709551615",
    ]) {
      expect(written).toContain(text);
    }
    expect(JSON.parse(written).oauth.access_token).toBeUndefined();
  });
});

describe("CredentialStore.clear", () => {
  test("removes our session keys and the Go CLI's, keeps the rest and the 0600 mode", async () => {
    const { store, path } = storeIn();
    writeFileSync(
      path,
      JSON.stringify({
        auth_token: "at",
        refresh_token: "rt",
        expires_at: "2030-01-01T00:00:00Z",
        api_url: "https://api.example.com",
        oauth: { access_token: "go-at", refresh_token: "go-rt", expires_at: "2030-01-01T00:00:00Z", token_type: "Bearer" },
        settings: { theme: "dark" },
      }),
      { mode: 0o600 },
    );
    expect(await store.clear()).toBe(true);
    // api_url goes too: the next login is to the default server unless told otherwise.
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({
      oauth: { token_type: "Bearer" },
      settings: { theme: "dark" },
    });
    expect(mode(path)).toBe(0o600);
    expect(await store.clear()).toBe(false);
  });
});

test("a config path that is a folder is an error, not a crash", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, ".pipeops.json"));
  const { store } = storeIn(dir);
  await expect(store.read()).rejects.toThrow(/\/.pipeops.json is a folder, not a file$/);
});

describe("reads are bounded", () => {
  test("a file over 1 MiB is refused, named, and left as it is", async () => {
    const { store, path } = storeIn();
    const text = `${JSON.stringify({ auth_token: "kept-token", notes: "x".repeat(1024 * 1024) })}\n`;
    writeFileSync(path, text, { mode: 0o600 });
    const error = await store.read().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe(`config file ${path} is not valid: it is over 1 MiB, far more than credentials take`);
    await expect(store.save({ accessToken: "new-token" })).rejects.toThrow(/is over 1 MiB/);
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  test("a device that never ends (/dev/zero) is refused at once, not read", async () => {
    const store = new CredentialStore("/dev/zero", () => {});
    const started = performance.now();
    await expect(store.read()).rejects.toThrow("config file /dev/zero is a device, not a file");
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe("the missing-file probe the credential store skips loading on", () => {
  test("says missing only when the file does not exist", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file.json"), "{}");
    writeFileSync(join(dir, "empty.json"), "");
    mkdirSync(join(dir, "folder"));
    symlinkSync(join(dir, "nowhere.json"), join(dir, "dangling.json"));
    symlinkSync(join(dir, "loop-b.json"), join(dir, "loop-a.json"));
    symlinkSync(join(dir, "loop-a.json"), join(dir, "loop-b.json"));
    const probe = (name: string) => bunRuntime.isMissing(join(dir, name));
    expect(probe("absent.json")).toBe(true);
    expect(probe("dangling.json")).toBe(true);
    // Everything else is left to the store, which reads the file or reports what is wrong.
    expect(probe("file.json")).toBe(false);
    expect(probe("empty.json")).toBe(false);
    expect(probe("folder")).toBe(false);
    expect(probe("loop-a.json")).toBe(false);
    expect(probe("file.json/child.json")).toBe(false);
  });
});
