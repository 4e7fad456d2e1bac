/**
 * Property tests for the credential file reader and writer: random bytes and random JSON shapes
 * (wrong types, prototype keys, duplicate keys, huge strings, deep nesting) only ever give a typed,
 * one-line error, and a file that was not valid is never rewritten. Seeded: set PIPEOPS_FUZZ_SEED
 * to replay another run; fast-check prints the seed and path of any counterexample.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { CredentialStore } from "../../../src/config/store.ts";
import { CliError } from "../../../src/errors.ts";
import { tempDir } from "../../helpers/context.ts";

const SEED = Number(process.env.PIPEOPS_FUZZ_SEED ?? 20_240_601);
/** Generous: the machine may be busy with other test runs; a normal run takes a few seconds. */
const TIMEOUT_MS = 60_000;
const CONFIG_CASES = { bytes: 1500, shapes: 1500, roundTrips: 600, numbers: 400, secrets: 1000 };

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Every error the store throws: a CliError with a one-line message and hint, no control characters. */
function expectTypedError(error: unknown, code: CliError["code"] = "config_invalid"): CliError {
  expect(error).toBeInstanceOf(CliError);
  const cliError = error as CliError;
  expect(cliError.code).toBe(code);
  expect(cliError.message).not.toMatch(CONTROL);
  expect(cliError.hint ?? "").not.toMatch(CONTROL);
  expect(cliError.message.length).toBeLessThan(1000);
  return cliError;
}

/** On tmpfs when there is one: each save fsyncs, which costs ~10 ms on disk and nothing there. */
function freshStore() {
  const dir = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/pipeops-prop-") : tempDir("pipeops-prop-");
  const path = join(dir, ".pipeops.json");
  return { dir, path, store: new CredentialStore(path, () => {}) };
}

// ---------------------------------------------------------------------------
// JSON text with shapes a hand-edited or hostile file may have. Built as text, not via
// JSON.stringify of objects, so keys like __proto__ reach the file exactly as written.

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"];
const CONFIG_KEYS = ["auth_token", "refresh_token", "expires_at", "api_url", "oauth", "access_token", "token_type", "id_token", "user", "settings", "version"];

const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...CONFIG_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12, unit: "binary" }) },
);

const dateLike = fc.oneof(
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom("0001-01-01T00:00:00Z", "2099-12-31T23:59:59.123456789+14:00", "tomorrow", "", "2024-02-30T25:61:61Z", "9999-99-99T99:99:99Z"),
);
const urlLike = fc.oneof(fc.webUrl(), fc.constantFrom("ftp://x", "javascript:alert(1)", "http://", "http://[::1", "https://api.pipeops.io"));

const scalarText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }).map((text) => JSON.stringify(text)),
  dateLike.map((text) => JSON.stringify(text)),
  urlLike.map((text) => JSON.stringify(text)),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom("true", "false", "null", "1e400", "-0", "[]", "{}"),
);

/** A huge string, or nesting a few thousand levels deep: rare, because each is big. */
const heavyText = fc.oneof(
  fc.integer({ min: 4, max: 5 }).map((power) => JSON.stringify("x".repeat(10 ** power))),
  fc.integer({ min: 100, max: 5000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
  fc.integer({ min: 100, max: 3000 }).map((depth) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`),
);

const { valueText } = fc.letrec<{ valueText: string; objectText: string }>((tie) => ({
  valueText: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalarText,
    fc.array(tie("valueText"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    tie("objectText"),
  ),
  objectText: fc
    .array(fc.tuple(key, tie("valueText")), { maxLength: 5 })
    .map((entries) => `{${entries.map(([k, value]) => `${JSON.stringify(k)}:${value}`).join(",")}}`),
}));

const objectOf = (value: fc.Arbitrary<string>) =>
  fc.array(fc.tuple(key, value), { maxLength: 8 }).map((entries) => `{${entries.map(([k, text]) => `${JSON.stringify(k)}:${text}`).join(",")}}`);

/** Any shape, now and then a huge or very deep one. */
const configText = objectOf(fc.oneof({ weight: 30, arbitrary: valueText }, { weight: 1, arbitrary: heavyText }));
/**
 * For save and clear: no heavy values, because pretty-printing n levels of nesting writes O(n²)
 * bytes of indentation (seconds per case at 5,000 levels; see the report of issue 6).
 */
const lightConfigText = objectOf(valueText);

/** Own keys in file order, as JSON.parse creates them (own "__proto__" included). */
function ownEntries(value: unknown): [string, unknown][] {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.entries(value) : [];
}

const OUR_KEYS = new Set(["auth_token", "refresh_token", "expires_at"]);

describe("CredentialStore on random input", () => {
  test(
    `random bytes: read gives credentials or a typed error, and never changes the file (${CONFIG_CASES.bytes} cases)`,
    async () => {
      const { path, store } = freshStore();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 512 }),
            fc.string({ unit: "binary", maxLength: 200 }).map((text) => new TextEncoder().encode(text)),
            // Valid-looking JSON cut short or with a byte flipped.
            fc.tuple(configText, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([text, at, byte]) => {
              const bytes = new TextEncoder().encode(text);
              if (bytes.length === 0) return bytes;
              const copy = bytes.slice(0, Math.max(1, at % (bytes.length + 1)));
              copy[at % copy.length] = byte;
              return copy;
            }),
          ),
          async (bytes) => {
            writeFileSync(path, bytes, { mode: 0o600 });
            try {
              const snapshot = await store.read();
              if (snapshot.credentials) expect(snapshot.credentials.accessToken).toBeString();
            } catch (error) {
              expect(expectTypedError(error).message).toStartWith(`config file ${path} is not valid: `);
            }
            expect(Buffer.compare(readFileSync(path), Buffer.from(bytes))).toBe(0);
          },
        ),
        { seed: SEED, numRuns: CONFIG_CASES.bytes },
      );
    },
    TIMEOUT_MS,
  );

  test(
    `random JSON shapes: read gives credentials or a typed error; save and clear never rewrite an invalid file (${CONFIG_CASES.shapes} cases)`,
    async () => {
      const { dir, path, store } = freshStore();
      await fc.assert(
        fc.asyncProperty(configText, async (text) => {
          writeFileSync(path, text, { mode: 0o600 });
          try {
            const { credentials } = await store.read();
            if (credentials) {
              expect(credentials.accessToken.length).toBeGreaterThan(0);
              if (credentials.expiresAt) expect(Number.isFinite(credentials.expiresAt.getTime())).toBe(true);
            }
            return;
          } catch (error) {
            expectTypedError(error);
          }
          // The user's broken file is theirs to fix: neither save nor clear may touch it.
          expectTypedError(
            await store.save({ accessToken: "new-at" }).then(
              () => "saved",
              (e: unknown) => e,
            ),
          );
          expectTypedError(
            await store.clear().then(
              () => "cleared",
              (e: unknown) => e,
            ),
          );
          expect(readFileSync(path, "utf8")).toBe(text);
          expect(readdirSync(dir)).toEqual([".pipeops.json"]);
        }),
        { seed: SEED + 1, numRuns: CONFIG_CASES.shapes },
      );
    },
    TIMEOUT_MS,
  );

  test(
    `random valid files: save and clear keep every other key, prototype-named ones included (${CONFIG_CASES.roundTrips} cases)`,
    async () => {
      const { dir, path, store } = freshStore();
      await fc.assert(
        fc.asyncProperty(lightConfigText, fc.boolean(), fc.date(), async (text, saveNotClear, expiresAt) => {
          writeFileSync(path, text, { mode: 0o600 });
          if (
            !(await store.read().then(
              () => true,
              () => false,
            ))
          )
            return;
          const before = JSON.parse(text) as unknown;
          await (saveNotClear
            ? // Any date a server's expires_in may produce, invalid and far-future ones included.
              store.save({ accessToken: "new-at", refreshToken: "new-rt", expiresAt })
            : store.clear());
          expect(readdirSync(dir)).toEqual([".pipeops.json"]);
          expect(statSync(path).mode & 0o777).toBe(0o600);
          const after = new Map(ownEntries(JSON.parse(readFileSync(path, "utf8"))));
          const removedByClear = new Set(["api_url", "oauth", "token_type", "id_token", "user"]);
          for (const [k, value] of new Map(ownEntries(before))) {
            // A save also writes the session into the official CLI's oauth object, where there is one.
            if (OUR_KEYS.has(k) || (!saveNotClear && removedByClear.has(k)) || (saveNotClear && k === "oauth")) continue;
            expect(after.has(k)).toBe(true);
            expect(JSON.stringify(after.get(k))).toBe(JSON.stringify(value));
          }
          const reread = await store.read();
          if (saveNotClear) {
            expect(reread.credentials?.accessToken).toBe("new-at");
            expect(reread.credentials?.refreshToken).toBe("new-rt");
            const stored = reread.credentials?.expiresAt;
            if (stored) expect(Math.abs(stored.getTime() - expiresAt.getTime())).toBeLessThan(1000);
          } else {
            expect(reread.credentials).toBeNull();
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        { seed: SEED + 3, numRuns: CONFIG_CASES.roundTrips },
      );
    },
    TIMEOUT_MS,
  );

  test(
    `other tools' numbers JavaScript would round (beyond 2^53, exponents, long fractions) come back as written, after save and clear (${CONFIG_CASES.numbers} cases)`,
    async () => {
      const { path, store } = freshStore();
      const bigInteger = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String);
      const exponent = fc
        .tuple(fc.integer({ min: 1, max: 9 }), fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.integer({ min: 0, max: 999 }))
        .map(([digit, e, sign, power]) => `${digit}${e}${sign}${power}`);
      const fraction = fc.tuple(fc.nat(), fc.stringMatching(/^\d{17,30}$/)).map(([whole, digits]) => `${whole}.${digits}`);
      const number = fc.oneof(bigInteger, exponent, fraction);
      await fc.assert(
        fc.asyncProperty(fc.array(number, { minLength: 1, maxLength: 5 }), fc.boolean(), async (numbers, saveNotClear) => {
          const entries = numbers.map((text, i) => `"n${i}": ${text}`);
          writeFileSync(path, `{"auth_token": "old", "oauth": {"access_token": "old", "v": ${numbers[0]}}, ${entries.join(", ")}}`, { mode: 0o600 });
          await (saveNotClear ? store.save({ accessToken: "new-at" }) : store.clear());
          const written = readFileSync(path, "utf8");
          for (const [i, text] of numbers.entries()) expect(written).toContain(`"n${i}": ${text}`);
          if (saveNotClear) expect(written).toContain(`"v": ${numbers[0]}`);
        }),
        { seed: SEED + 4, numRuns: CONFIG_CASES.numbers },
      );
    },
    TIMEOUT_MS,
  );

  test(
    `a broken file never echoes its token in the error (${CONFIG_CASES.secrets} cases)`,
    async () => {
      const { path, store } = freshStore();
      await fc.assert(
        fc.asyncProperty(
          fc.stringMatching(/^[A-Za-z0-9_-]{24,40}$/),
          fc.constantFrom("auth_token", "refresh_token", "oauth"),
          fc.nat(),
          fc.constantFrom("unquote", "truncate", "flip", "control", "trailing"),
          fc.integer({ min: 0, max: 255 }),
          async (secret, field, at, mutation, byte) => {
            const quoted = field === "oauth" ? `{"access_token":"${secret}"}` : `"${secret}"`;
            let text = `{"${field}": ${quoted}, "settings": {"theme": "dark"}}`;
            if (mutation === "unquote") text = text.replaceAll(`"${secret}"`, secret);
            if (mutation === "truncate") text = text.slice(0, at % text.length);
            if (mutation === "flip") text = text.slice(0, at % text.length) + String.fromCharCode(byte) + text.slice((at % text.length) + 1);
            if (mutation === "control") text = text.replace(secret, `${secret.slice(0, 5)}\u001b[2J${secret.slice(5)}`);
            if (mutation === "trailing") text += ` ${secret}`;
            writeFileSync(path, text, { mode: 0o600 });
            const error = await store.read().then(
              () => undefined,
              (e: unknown) => e,
            );
            if (error === undefined) return;
            const message = expectTypedError(error).message;
            for (let i = 0; i + 8 <= secret.length; i++) expect(message).not.toContain(secret.slice(i, i + 8));
          },
        ),
        { seed: SEED + 2, numRuns: CONFIG_CASES.secrets },
      );
    },
    TIMEOUT_MS,
  );
});
