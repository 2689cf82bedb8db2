/**
 * The emulator's server-side validation of one participant of a write request: the stateless part
 * (shape, email syntax, text lengths, characteristic types, the reject-email rule). Whether an id
 * exists or an email is already taken depends on the state and is judged by the state.
 * Source of every rule: see shared docs: user-interviews-api ("Default participant fields",
 * "Characteristics", "Batch upsert").
 */
import {
  emailProblem,
  MAX_CHARACTERISTIC_TEXT_LENGTH,
  MAX_TEXT_LENGTH,
  PARTICIPANT_FIELDS,
  type ApiErrorEntry,
  type CharacteristicType,
  type CharacteristicValue,
  type ParticipantInput,
  textLength,
} from '../destinations/user-interviews/wire.ts';

/** A characteristic as the emulator knows it. */
export interface CharacteristicDefinition {
  id: string;
  slug: string;
  name: string;
  type: CharacteristicType;
}

/** What validation needs to know besides the participant itself. */
export interface ParticipantValidationContext {
  characteristics: ReadonlyMap<string, CharacteristicDefinition>;
  /** The reject-email knob, compiled; `null`: no email is refused for deliverability. */
  rejectEmail: RegExp | null;
  /** Whether `id` is accepted (batch upsert) or an unknown key (create). */
  allowId: boolean;
  /** JSON pointer of a field of this participant; with no field, of the participant itself. */
  pointer: (field?: string) => string;
}

/** The title of every participant validation error. */
export const INVALID_PARTICIPANT_TITLE = 'Invalid participant';

/** The detail given for emails that the reject-email knob refuses (they look valid to a client). */
export const UNDELIVERABLE_EMAIL_DETAIL = 'email is not deliverable';

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Builds a 422 error entry for a participant. */
export function participantError(pointer: string, detail: string): ApiErrorEntry {
  return { status: '422', title: INVALID_PARTICIPANT_TITLE, detail, source: { pointer } };
}

/**
 * Validates one participant of a write request. Returns the participant (typed) or the FIRST
 * problem found, as one error entry: the API gives one entry per offending participant.
 * Text length is {@link textLength} (code points), at most {@link MAX_TEXT_LENGTH} for default fields
 * and {@link MAX_CHARACTERISTIC_TEXT_LENGTH} for text characteristics; emails are judged by
 * `emailProblem` (wire.ts), as the client judges them.
 */
export function validateParticipant(
  raw: unknown,
  context: ParticipantValidationContext,
): { ok: true; participant: ParticipantInput } | { ok: false; error: ApiErrorEntry } {
  const fail = (field: string | undefined, detail: string) =>
    ({ ok: false, error: participantError(context.pointer(field), detail) }) as const;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail(undefined, 'participant must be a JSON object with at least an "email"');
  }
  const record = raw as Record<string, unknown>;
  const known = context.allowId ? KNOWN_KEYS_WITH_ID : KNOWN_KEYS;
  for (const key of Object.keys(record)) {
    if (!known.has(key)) {
      return fail(escapePointerToken(key), `unknown attribute "${key}" (known: ${[...known].join(', ')})`);
    }
  }

  // An entry that names its participant by id may leave the email out (it is left as it is).
  const email = record.email;
  const byId = context.allowId && record.id !== undefined;
  if (email === undefined || email === null) {
    if (!byId) return fail('email', 'email is required');
  } else {
    if (typeof email !== 'string') return fail('email', 'email must be a string');
    const trimmed = email.trim();
    const problem = emailProblem(trimmed);
    if (problem !== null) return fail('email', `email ${problem}`);
    if (context.rejectEmail?.test(trimmed)) return fail('email', UNDELIVERABLE_EMAIL_DETAIL);
  }

  if (context.allowId && record.id !== undefined) {
    if (typeof record.id !== 'string' || !/^\d+$/.test(record.id)) {
      return fail('id', 'id must be a participant id, a string of digits such as "42"');
    }
  }

  for (const field of PARTICIPANT_FIELDS) {
    const value = record[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return fail(field, `${field} must be a string or null`);
    if (textLength(value) > MAX_TEXT_LENGTH) {
      return fail(field, `${field} is too long (maximum is ${MAX_TEXT_LENGTH} characters)`);
    }
  }

  const characteristics = record.characteristics;
  if (characteristics !== undefined) {
    if (typeof characteristics !== 'object' || characteristics === null || Array.isArray(characteristics)) {
      return fail('characteristics', 'characteristics must be an object of slug: value');
    }
    for (const [slug, value] of Object.entries(characteristics as Record<string, unknown>)) {
      const definition = context.characteristics.get(slug);
      const field = definition ? `characteristics/${slug}` : `characteristics/${escapePointerToken(slug)}`;
      if (!definition) {
        const knownSlugs = [...context.characteristics.keys()].join(', ') || 'none defined';
        return fail(field, `unknown characteristic "${slug}" (known: ${knownSlugs})`);
      }
      const problem = characteristicValueProblem(definition.type, value);
      if (problem) return fail(field, `characteristic "${slug}" ${problem}`);
    }
  }
  return { ok: true, participant: record as ParticipantInput };
}

/**
 * Why `value` is not a valid value of a characteristic of `type`, or `null` when it is.
 * `null` is always valid (it clears the characteristic).
 */
export function characteristicValueProblem(type: CharacteristicType, value: unknown): string | null {
  if (value === null) return null;
  switch (type) {
    case 'text':
      if (typeof value !== 'string') return 'must be text (a JSON string)';
      return textLength(value) > MAX_CHARACTERISTIC_TEXT_LENGTH ? `is too long (maximum is ${MAX_CHARACTERISTIC_TEXT_LENGTH} characters)` : null;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number (a finite JSON number)';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be a boolean (true or false)';
    case 'date':
      return typeof value === 'string' && isCalendarDate(value) ? null : 'must be a date written YYYY-MM-DD';
  }
}

/** The stored form of a characteristic value (a value already validated). */
export type StoredCharacteristicValue = Exclude<CharacteristicValue, null>;

const KNOWN_KEYS = new Set<string>(['email', ...PARTICIPANT_FIELDS, 'characteristics']);
const KNOWN_KEYS_WITH_ID = new Set<string>(['id', ...KNOWN_KEYS]);

function isCalendarDate(value: string): boolean {
  const match = DATE_PATTERN.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, keeps years 0..99 as written
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}
