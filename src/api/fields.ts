/**
 * `pipeops api`'s fields, as `gh api` reads them: `-f key=value` a string, `-F key=value` typed
 * (true, false, null, integers, `@file`, `@-`), `key[]=v` an array, `key[sub]=v` a nested object.
 * They become the query string or a JSON body. Keys are named in errors; values never are (they
 * may be secrets).
 */
import { usageError } from "../errors.ts";

export type Scalar = string | number | boolean | null;
export type JsonValue = Scalar | JsonValue[] | { [key: string]: JsonValue };

export interface Field {
  /** As typed: "name", "tags[]", "settings[region]". */
  readonly key: string;
  /** "name" then "region" for settings[region]; "" for an array's next element. */
  readonly path: readonly string[];
  readonly value: Scalar;
}

const API_USAGE = "Run 'pipeops api --help' for usage";
const KEY = /^([^[\]=]+)((?:\[[^[\]=]*\])*)$/;

/** `key=value` split, and the key's path: "a[b][]" is ["a", "b", ""]. */
export function splitField(arg: string, flag: string): { key: string; path: string[]; raw: string } {
  const equals = arg.indexOf("=");
  const key = equals < 0 ? arg : arg.slice(0, equals);
  const match = KEY.exec(key);
  // Not repeated: without its '=' the text may be a value, and a value may be a secret.
  if (equals < 0) throw usageError(`${flag} takes key=value; a field has no '='`, API_USAGE);
  if (!match) throw usageError(`${flag} takes key=value, the key a name or name[sub]; a field's key is neither`, API_USAGE);
  const path = [match[1]!, ...[...match[2]!.matchAll(/\[([^\]]*)\]/g)].map((part) => part[1]!)];
  return { key, path, raw: arg.slice(equals + 1) };
}

/** -F's types: true, false and null as themselves, an integer as a number; anything else stays a string. */
export function typedValue(raw: string): Scalar {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (raw === "null") return null;
  if (/^-?(0|[1-9]\d*)$/.test(raw)) {
    const number = Number(raw);
    // Past 2^53 a number would change on the way: keep the digits as they were typed.
    if (Number.isSafeInteger(number)) return number;
  }
  return raw;
}

/** The JSON body the fields describe, in the order they were given. */
export function fieldsToBody(fields: readonly Field[]): Record<string, JsonValue> {
  const body: Record<string, JsonValue> = {};
  for (const field of fields) setIn(body, field, 0);
  return body;
}

function setIn(target: Record<string, JsonValue> | JsonValue[], field: Field, depth: number): void {
  const part = field.path[depth]!;
  const last = depth === field.path.length - 1;
  const next = field.path[depth + 1];
  if (Array.isArray(target)) {
    if (part !== "") throw conflict(field);
    if (last) {
      target.push(field.value);
      return;
    }
    // a[][b]=1 a[][c]=2: each [] starts a new element.
    const element: Record<string, JsonValue> | JsonValue[] = next === "" ? [] : {};
    target.push(element);
    setIn(element, field, depth + 1);
    return;
  }
  if (part === "") throw conflict(field);
  if (last) {
    if (Object.hasOwn(target, part)) throw conflict(field);
    target[part] = field.value;
    return;
  }
  const existing = Object.hasOwn(target, part) ? target[part] : undefined;
  const wanted = next === "" ? "array" : "object";
  if (existing === undefined) {
    const created: Record<string, JsonValue> | JsonValue[] = wanted === "array" ? [] : {};
    target[part] = created;
    setIn(created, field, depth + 1);
    return;
  }
  const kind = Array.isArray(existing) ? "array" : existing !== null && typeof existing === "object" ? "object" : "value";
  if (kind !== wanted) throw conflict(field);
  setIn(existing as Record<string, JsonValue> | JsonValue[], field, depth + 1);
}

function conflict(field: Field) {
  return usageError(`field '${field.key}' conflicts with another field of the same name`, API_USAGE);
}

/** The fields as query parameters: keys as typed (`tags[]=a`), values as text (null as empty). */
export function fieldsToQuery(fields: readonly Field[]): [string, string][] {
  return fields.map(({ key, value }) => [key, value === null ? "" : String(value)]);
}
