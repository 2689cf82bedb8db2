/**
 * Shared helpers that turn engine values into the {@link JsonValue} conventions of `source.ts`.
 * Each source calls these from its driver's type hooks, so every engine prints integers,
 * timestamps and bytes the same way.
 */
import type { JsonValue } from './source.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * An integer as a `number` when |n| <= 2^53 - 1, otherwise its exact decimal `string`.
 * Accepts a bigint or the engine's decimal text (`"9007199254740993"`).
 */
export function integerValue(value: bigint | string): number | string {
  const big = typeof value === 'bigint' ? value : BigInt(value);
  return big <= MAX_SAFE && big >= MIN_SAFE ? Number(big) : big.toString();
}

/**
 * A floating point number; `NaN` and `±Infinity` (which JSON cannot hold) become the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"`.
 */
export function floatValue(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

/**
 * Microseconds since 1970-01-01T00:00:00Z -> `"2026-01-02T03:04:05.123Z"` (milliseconds; finer
 * digits are truncated toward the past). Returns `null` when JavaScript cannot represent the
 * instant (beyond ±8.64e15 ms), so the caller can fall back to the engine's text.
 */
export function isoFromEpochMicros(micros: bigint): string | null {
  // Floor division, so -1 µs is 1969-12-31T23:59:59.999Z rather than 1970-01-01T00:00:00.000Z.
  let millis = micros / 1000n;
  if (micros < 0n && millis * 1000n !== micros) millis -= 1n;
  const date = new Date(Number(millis));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

const DATE_TIME_TEXT =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?( BC)?$/;

/**
 * A timestamp as an engine prints it (`"2026-01-02 03:04:05.123456"`, `"2026-01-02
 * 03:04:05+05:30"`, `"0044-03-15 12:00:00 BC"`) -> ISO 8601 in UTC with milliseconds. Text
 * without an offset is read as UTC. Text that is not a finite timestamp (`"infinity"`, MySQL's
 * `"0000-00-00 00:00:00"`) is returned unchanged.
 */
export function isoFromDateTimeText(text: string): string {
  const m = DATE_TIME_TEXT.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os, bc] = m;
  let year = Number(y);
  if (bc) year = 1 - year; // 1 BC is year 0 in ISO 8601
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return text;
  const millis = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  let epoch = Date.UTC(0, month - 1, day, Number(h), Number(mi), Number(s), millis);
  // Date.UTC maps years 0..99 to 1900..1999; set the year explicitly.
  const date = new Date(epoch);
  date.setUTCFullYear(year, month - 1, day);
  epoch = date.getTime();
  if (sign) {
    const offsetSeconds = Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0);
    epoch -= (sign === '+' ? 1 : -1) * offsetSeconds * 1000;
  }
  const result = new Date(epoch);
  return Number.isNaN(result.getTime()) ? text : result.toISOString();
}

/**
 * A JSON column's text -> its {@link JsonValue}. A number beyond a double's range (`1e999`) parses
 * to `Infinity`, which JSON cannot hold: it becomes the string `"Infinity"` (`"-Infinity"`), as a
 * non-finite float column's value does.
 * @throws SyntaxError when `text` is not JSON
 */
export function parseJsonText(text: string): JsonValue {
  return JSON.parse(text, finiteOrText) as JsonValue;
}

function finiteOrText(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** Bytes -> standard base64 (`"qg=="`). */
export function base64FromBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Last-resort normalization for values a driver produced itself (used after type hooks):
 * `bigint` -> {@link integerValue}, `Date` -> ISO string, bytes -> base64, non-finite numbers ->
 * strings; arrays and plain objects are normalized element by element.
 */
export function jsonValue(value: unknown): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return floatValue(value);
    case 'bigint':
      return integerValue(value);
    case 'undefined':
      return null;
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (value instanceof Uint8Array) return base64FromBytes(value);
      if (Array.isArray(value)) return value.map(jsonValue);
      const out: { [key: string]: JsonValue } = {};
      for (const [key, item] of Object.entries(value)) out[key] = jsonValue(item);
      return out;
    }
    default:
      return String(value);
  }
}
