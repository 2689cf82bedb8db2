/**
 * Participant fields and characteristics: where a mapping may write, and how a model value is cast
 * and validated locally so that a bad row is rejected before any API call and never poisons a
 * batch. Source of the rules: see shared docs, user-interviews-api ("Default participant fields",
 * "Characteristics"); the limits themselves live in wire.ts.
 */
import type { JsonValue } from '../../sources/source.ts';
import {
  emailProblem,
  MAX_CHARACTERISTIC_TEXT_LENGTH,
  MAX_TEXT_LENGTH,
  PARTICIPANT_FIELDS,
  type CharacteristicType,
  type CharacteristicValue,
  type ParticipantField,
  textLength,
} from './wire.ts';

/** Where a mapping writes: a default participant field or a characteristic slug. */
export type FieldTarget = { kind: 'field'; field: ParticipantField } | { kind: 'characteristic'; slug: string };

const CHARACTERISTIC_PREFIX = 'characteristics.';

/** A characteristic slug [assumed shape of the API's slugs, see shared docs: user-interviews-api]. */
const CHARACTERISTIC_SLUG = /^[a-z0-9_]+$/;

/**
 * Parses a mapping's `to`: `first_name` -> `{ target: { kind: 'field', field: 'first_name' } }`;
 * `characteristics.lifetime_value` -> `{ target: { kind: 'characteristic', slug: 'lifetime_value' } }`.
 * Anything else -> `{ error }`, a message saying what to write instead (`email` is refused: the
 * sync's `match` sets it).
 */
export function parseFieldTarget(to: string): { target: FieldTarget } | { error: string } {
  if (to.startsWith(CHARACTERISTIC_PREFIX)) {
    const slug = to.slice(CHARACTERISTIC_PREFIX.length);
    if (CHARACTERISTIC_SLUG.test(slug)) return { target: { kind: 'characteristic', slug } };
    return {
      error: `characteristic slug "${slug}" is not valid: use lower-case letters, digits and "_" (${CHARACTERISTIC_SLUG.source}), as the characteristic's slug in User Interviews`,
    };
  }
  if ((PARTICIPANT_FIELDS as readonly string[]).includes(to)) {
    return { target: { kind: 'field', field: to as ParticipantField } };
  }
  if (to === 'email') {
    return { error: "email is not a mapping target: the sync's `match` sets it (the model column holding the email)" };
  }
  const guess = PARTICIPANT_FIELDS.find((field) => field.startsWith(to) || to.startsWith(field));
  return {
    error:
      `unknown participant field "${to}" (known: ${PARTICIPANT_FIELDS.join(', ')}, or characteristics.<slug>)` +
      (guess === undefined ? '' : `; did you mean "${guess}"?`),
  };
}

/** The target as one string (`first_name`, `characteristics.slug`), to find two mappings that write the same thing. */
export function fieldTargetKey(target: FieldTarget): string {
  return target.kind === 'field' ? target.field : `${CHARACTERISTIC_PREFIX}${target.slug}`;
}

/** The outcome of casting one value: the value to send, or why the row cannot be sent. */
export type CastResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Validates a model's match value as an email. Returns the trimmed email in Unicode NFC (case
 * kept, as the user wrote it; see {@link nfc}) or the reason it is invalid: null, blank, not
 * text, longer than {@link MAX_TEXT_LENGTH}, or refused by `emailProblem` (wire.ts: control, bidi
 * and zero-width characters, `..`, trailing dots, a local part over 64 characters...).
 */
export function castEmail(value: JsonValue): CastResult<string> {
  if (value === null) return { ok: false, reason: 'email is null' };
  if (typeof value !== 'string') return { ok: false, reason: `email is not text (${describe(value)})` };
  const email = nfc(value.trim());
  if (email === '') return { ok: false, reason: 'email is blank' };
  if (textLength(email) > MAX_TEXT_LENGTH) return { ok: false, reason: `email is longer than ${MAX_TEXT_LENGTH} characters` };
  const problem = emailProblem(email);
  if (problem !== null) return { ok: false, reason: `email ${JSON.stringify(email)} ${problem}` };
  return { ok: true, value: email };
}

/**
 * `text` in Unicode Normalization Form C. Every text value is mapped in this one form, so that a
 * model returning the same name composed (`é`, U+00E9) in one run and decomposed (`e` + U+0301)
 * in the next compares equal and is not sent again.
 */
export function nfc(text: string): string {
  // Fast path: ASCII is its own NFC.
  return /^[\x00-\x7f]*$/.test(text) ? text : text.normalize('NFC');
}

/**
 * Casts a value for a default participant field (text of at most {@link MAX_TEXT_LENGTH}
 * characters, counted by {@link textLength}: code points), in Unicode NFC ({@link nfc}). Numbers
 * and booleans become their text; `null` stays `null` (clears the field); objects and arrays are refused.
 */
export function castFieldValue(field: ParticipantField, value: JsonValue): CastResult<string | null> {
  if (value === null) return { ok: true, value: null };
  let text: string;
  if (typeof value === 'string') text = nfc(value);
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else return { ok: false, reason: `${field}: expected text, got ${describe(value)}` };
  const length = textLength(text);
  if (length > MAX_TEXT_LENGTH) {
    return { ok: false, reason: `${field}: longer than ${MAX_TEXT_LENGTH} characters (${length})` };
  }
  return { ok: true, value: text };
}

/** A decimal number as text: sign, whole digits, fraction digits, exponent (each part optional but one digit). */
const DECIMAL = /^([+-])?(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/**
 * Casts a value to a characteristic's type (see shared docs: user-interviews-api, types confirmed
 * by the help center): `number` takes numbers, and decimal strings whose value a JSON number holds
 * exactly (a bigint or a decimal with more digits than a double keeps is refused, never rounded:
 * see {@link castNumber}); `date` takes `YYYY-MM-DD` and ISO timestamps (their UTC date);
 * `boolean` takes true/false, 0/1 and their text forms; `text` takes text (in NFC, at most
 * MAX_CHARACTERISTIC_TEXT_LENGTH characters), numbers and booleans. `null` always stays `null` (clears the characteristic).
 */
export function castCharacteristic(slug: string, type: CharacteristicType, value: JsonValue): CastResult<CharacteristicValue> {
  if (value === null) return { ok: true, value: null };
  switch (type) {
    case 'text': {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return notA(slug, value, 'text');
      const text = typeof value === 'string' ? nfc(value) : String(value);
      const length = textLength(text);
      if (length > MAX_CHARACTERISTIC_TEXT_LENGTH) {
        return { ok: false, reason: `characteristics.${slug}: longer than ${MAX_CHARACTERISTIC_TEXT_LENGTH} characters (${length}); shorten it in the model's SQL` };
      }
      return { ok: true, value: text };
    }
    case 'number':
      return castNumber(slug, value);
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 1 || value === 0) return { ok: true, value: value === 1 };
      if (typeof value === 'string') {
        const text = value.trim().toLowerCase();
        if (text === 'true' || text === '1') return { ok: true, value: true };
        if (text === 'false' || text === '0') return { ok: true, value: false };
      }
      return notA(slug, value, 'a boolean (true/false, 1/0)');
    case 'date': {
      if (typeof value !== 'string') return notA(slug, value, 'a date (YYYY-MM-DD)');
      const text = value.trim();
      if (DATE.test(text)) return isRealDate(text) ? { ok: true, value: text } : notA(slug, value, 'a real date');
      if (TIMESTAMP.test(text)) {
        // A timestamp without an offset is read as UTC, like the sources do.
        const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
        const time = Date.parse(hasZone ? text : `${text.replace(' ', 'T')}Z`);
        if (!Number.isNaN(time)) return { ok: true, value: new Date(time).toISOString().slice(0, 10) };
      }
      return notA(slug, value, 'a date (YYYY-MM-DD) or an ISO timestamp');
    }
  }
}

function notA(slug: string, value: JsonValue, what: string): CastResult<CharacteristicValue> {
  return { ok: false, reason: `characteristics.${slug}: ${describe(value)} is not ${what}` };
}

/**
 * A plain decimal of at most 15 digits: every such decimal survives the trip through a double
 * (IEEE 754 keeps any 15 significant decimal digits: DBL_DIG), so it needs no round-trip check.
 */
const SHORT_DECIMAL = /^-?\d{1,15}(?:\.\d{1,14})?$/;

/**
 * A `number` characteristic's value: a finite JSON number, or a decimal string (`"39.62"`,
 * `"-1.5e3"`, an engine's bigint or numeric text) whose exact value a JSON number holds.
 *
 * JSON numbers are IEEE 754 doubles on both sides (the API parses them as such [assumed]): they
 * keep 15 to 17 significant digits, and integers exactly only up to 2^53 (9007199254740992).
 * A decimal is accepted when the shortest decimal text of the double nearest to it
 * (`String(Number(text))`) has the same value, i.e. it round-trips: `"39.62"`, `"12.50"` and
 * `"0.1"` do; `"9007199254740993"` (it would become ...992) and `"0.10000000000000000001"` do not.
 * Such a value is refused with a reason naming the characteristic, never rounded: a rounded value
 * would be sent, and would compare equal to the next rounded one, so a change would go unseen.
 */
function castNumber(slug: string, value: JsonValue): CastResult<CharacteristicValue> {
  const where = `characteristics.${slug}`;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { ok: true, value } : { ok: false, reason: `${where}: ${describe(value)} is not a finite number` };
  }
  const text = typeof value === 'string' ? value.trim() : '';
  if (SHORT_DECIMAL.test(text) && text.length <= 16) return { ok: true, value: Number(text) };
  const decimal = parseDecimal(text);
  if (decimal === null) return { ok: false, reason: `${where}: ${describe(value)} is not a number` };
  const number = Number(text);
  if (!Number.isFinite(number)) {
    return { ok: false, reason: `${where}: ${describe(value)} is beyond the range of a JSON number (about ±1.8e308)` };
  }
  if (!sameDecimal(decimal, parseDecimal(String(number))!)) {
    return {
      ok: false,
      reason:
        `${where}: ${describe(value)} cannot be sent as a JSON number without changing it (it would become ${String(number)}): ` +
        `JSON numbers keep 15 to 17 significant digits, and integers exactly only up to 2^53 = 9007199254740992. ` +
        `Round it in the model's SQL, or write it to a text characteristic`,
    };
  }
  return { ok: true, value: number };
}

/** A decimal's exact value: `digits` × 10^`exponent`, `digits` without leading or trailing zeros ("" for zero). */
interface Decimal {
  negative: boolean;
  digits: string;
  exponent: number;
}

/** Parses `[+-]digits[.digits][e[+-]digits]`; `null` for anything else. */
function parseDecimal(text: string): Decimal | null {
  const match = DECIMAL.exec(text);
  if (!match) return null;
  const [, sign, whole = '', fractionAfterWhole, fractionAlone, exponent = '0'] = match;
  const fraction = fractionAfterWhole ?? fractionAlone ?? '';
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  let shift = Number(exponent) - fraction.length;
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  shift += trailing;
  return { negative: sign === '-' && digits !== '', digits, exponent: digits === '' ? 0 : shift };
}

function sameDecimal(a: Decimal, b: Decimal): boolean {
  return a.negative === b.negative && a.digits === b.digits && a.exponent === b.exponent;
}

/** `YYYY-MM-DD` names a day of the proleptic Gregorian calendar (month 1-12, day within the month). */
function isRealDate(text: string): boolean {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month - 1]!);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function describe(value: JsonValue): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
