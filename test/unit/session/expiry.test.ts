/** Durations as --min-remaining takes them, and a JWT's `exp` read without trusting the token. */
import { expect, test } from "bun:test";
import { jwtExpiry } from "../../../src/session/jwt.ts";
import { formatDuration, parseDuration } from "../../../src/time.ts";

const part = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const jwt = (payload: unknown) => `${part({ alg: "none" })}.${part(payload)}.c2ln`;

test("durations: a number and one of s, m, h, d; nothing else, nothing past a year", () => {
  expect(["90s", "45m", "2h", "1d", "1.5h", " 30m "].map(parseDuration)).toEqual([90, 2700, 7200, 86_400, 5400, 1800]);
  for (const bad of ["45", "m", "-5m", "0s", "0m", "1w", "2h30m", "1e3s", "366d", ""]) expect(parseDuration(bad)).toBeUndefined();
});

test("durations as people say them, two units at most", () => {
  expect([0, 59, 60, 754, 3600, 3900, 86_400, 90_061].map(formatDuration)).toEqual(["0s", "59s", "1m", "12m", "1h", "1h 5m", "1d", "1d 1h"]);
});

test("a JWT's exp, and undefined for whatever is not a JWT with a sane one", () => {
  expect(jwtExpiry(jwt({ sub: "u", exp: 1_800_000_000 }))).toEqual(new Date(1_800_000_000_000));
  for (const token of [
    "sat_abcdef",
    "pat_opaque.token",
    jwt({ sub: "no exp" }),
    jwt({ exp: "1800000000" }),
    jwt({ exp: 1.5 }),
    jwt({ exp: -1 }),
    jwt({ exp: 1e20 }),
    jwt([1, 2]),
    `${part({})}.${part("not json")}.sig`,
    `${part({})}.!!!.sig`,
    `${part({})}.${"A".repeat(9000)}.sig`,
    `${part({})}.${Buffer.from([0xff, 0xfe]).toString("base64url")}.sig`,
  ]) {
    expect(jwtExpiry(token)).toBeUndefined();
  }
});
