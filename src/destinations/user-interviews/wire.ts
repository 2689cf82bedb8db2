/**
 * Every body shape of the User Interviews participant API, and nothing else.
 *
 * This is the ONE place that knows the wire format: the client, the field validation and the
 * emulator all import from here, so that a correction to an [assumed] item of the contract is a
 * one-file change. Source of every fact: see shared docs, user-interviews-api.md; each item carries
 * its tag from there ([confirmed] or [assumed]).
 */
import { domainToASCII } from 'node:url';
import validator from 'validator';

/** Production base URL [confirmed]. Sandbox has no public URL: it needs `base_url` [assumed]. */
export const PRODUCTION_BASE_URL = 'https://www.userinterviews.com/api';

/** Sent as `Accept` on every request [confirmed]. */
export const ACCEPT = 'application/vnd.user-interviews.v2';
/** Sent as `Content-Type` on every request with a body [confirmed]. */
export const CONTENT_TYPE = 'application/vnd.user-interviews.v2+json';

/** At most this many participants in one `PATCH /participants/batches` [confirmed, connector vendors]. */
export const MAX_BATCH_SIZE = 100;
/** `page[size]` default and maximum for `GET /participants` [confirmed]. */
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 200;
/** Default participant fields are text of at most this many characters ({@link textLength}) [assumed]. */
export const MAX_TEXT_LENGTH = 255;
/**
 * A `text` characteristic's value is at most this many characters ({@link textLength}) [assumed:
 * the API documents no limit; 10,000 characters, about 40 KB of UTF-8 at most, keeps a batch of
 * {@link MAX_BATCH_SIZE} rows with a few such values within a few MB]. The client refuses a longer
 * value locally (the row is invalid) and the emulator answers it `422`.
 */
export const MAX_CHARACTERISTIC_TEXT_LENGTH = 10_000;

/**
 * At most this many bytes of JSON (UTF-8) for one participant's body in a request: its email and
 * every mapped field and characteristic [assumed: the API documents no body limit and answers a
 * body over its own with `413`; 64 KiB a participant keeps a batch of {@link MAX_BATCH_SIZE} within
 * 6.4 MiB]. A row over it is invalid (refused locally, before any call); a batch the API still
 * answers `413` is split like a `422`.
 */
export const MAX_PARTICIPANT_JSON_BYTES = 64 * 1024;

/**
 * The length of a text as the API's limits count it: in Unicode code points, so an emoji or any
 * other character outside the Basic Multilingual Plane counts 1 (JavaScript's `length` counts
 * UTF-16 units: 2 for them) [assumed]. The shared docs (user-interviews-api, "Default participant
 * fields") give the limit in "characters"; a server counts characters as code points (a
 * PostgreSQL `varchar(255)`, Ruby's `String#length`, Python's `len`), not UTF-16 units. Both
 * the local validation (fields.ts) and the emulator count with this function, so a text the
 * client lets through is never refused by the emulator for its length, nor the reverse.
 */
export function textLength(text: string): number {
  // Fast path: every UTF-16 unit is a code point unless the text holds a surrogate pair.
  if (!/[\uD800-\uDBFF]/.test(text)) return text.length;
  let count = 0;
  for (const _codePoint of text) count += 1;
  return count;
}

/** Routes, relative to the base URL (which ends in `/api`). */
export const ROUTES = {
  listParticipants: '/participants',
  batchUpsert: '/participants/batches',
  createParticipant: '/participants',
  /** `DELETE /participants/{id}` [assumed]. */
  participant: (id: string) => `/participants/${encodeURIComponent(id)}`,
  /** `GET /characteristics` [assumed path]. */
  characteristics: '/characteristics',
} as const;

/** Default participant fields, besides `email` which is the identity [confirmed, connector vendors]. */
export const PARTICIPANT_FIELDS = [
  'first_name',
  'last_name',
  'phone_number',
  'title',
  'company',
  'city',
  'state',
  'country',
] as const;
export type ParticipantField = (typeof PARTICIPANT_FIELDS)[number];

/** Characteristic (custom field) types [confirmed, help center]. */
export const CHARACTERISTIC_TYPES = ['text', 'number', 'date', 'boolean'] as const;
export type CharacteristicType = (typeof CHARACTERISTIC_TYPES)[number];

/** A characteristic value as sent: `date` is `YYYY-MM-DD`; `null` clears it. */
export type CharacteristicValue = string | number | boolean | null;

/**
 * One participant as written by batch upsert or create. Keys present are written, keys absent are
 * left alone, `null` clears a field [assumed].
 */
export type ParticipantInput = { email?: string } & Partial<Record<ParticipantField, string | null>> & {
  characteristics?: Record<string, CharacteristicValue>;
  /**
   * When present, the participant with this id is the one written, and `email`, when given,
   * becomes its new email ("id plus email renames a participant"); an entry with an id and no
   * email leaves the participant's email as it is (keys absent are left alone). Without an id
   * the participant is found (or created) by `email`, which is then required [assumed: lets a
   * primary key whose email changed update the same participant instead of creating a second one,
   * and a clear leave an email changed in User Interviews alone].
   */
  id?: string;
};

/** `PATCH /participants/batches` request [confirmed path; body assumed]. */
export interface BatchUpsertRequest {
  participants: ParticipantInput[];
}

/** `POST /participants` request [confirmed path; body assumed]. */
export interface CreateParticipantRequest {
  participant: ParticipantInput;
}

/** A participant resource as returned, JSON:API style, camelCase attributes [assumed]. */
export interface ParticipantResource {
  id: string;
  type: 'participant';
  attributes: {
    email: string;
    firstName: string | null;
    lastName: string | null;
    phoneNumber: string | null;
    title: string | null;
    company: string | null;
    city: string | null;
    state: string | null;
    country: string | null;
    characteristics: Record<string, CharacteristicValue>;
    createdAt: string;
    updatedAt: string;
  };
}

/** Snake-case field name -> camelCase attribute name of {@link ParticipantResource}. */
export const ATTRIBUTE_NAMES: Record<ParticipantField, keyof ParticipantResource['attributes']> = {
  first_name: 'firstName',
  last_name: 'lastName',
  phone_number: 'phoneNumber',
  title: 'title',
  company: 'company',
  city: 'city',
  state: 'state',
  country: 'country',
};

/** `PATCH /participants/batches` 200: `data` in request order [assumed]. */
export interface BatchUpsertResponse {
  data: ParticipantResource[];
}

/** `POST /participants` 201 [assumed]. */
export interface CreateParticipantResponse {
  data: ParticipantResource;
}

/** `GET /participants?page[size]=N&page[number]=K` 200 [assumed shape]. */
export interface ListParticipantsResponse {
  data: ParticipantResource[];
  meta: { pagination: { currentPage: number; hasMore: boolean } };
}

/** `GET /characteristics` 200 [assumed path and shape]. */
export interface CharacteristicResource {
  id: string;
  type: 'characteristic';
  attributes: { name: string; slug: string; type: CharacteristicType };
}
export interface ListCharacteristicsResponse {
  data: CharacteristicResource[];
}

/**
 * One error entry. For a batch, `source.pointer` is `/participants/{index}/{field}` and names the
 * offending participant by its index in the request [assumed].
 */
export interface ApiErrorEntry {
  status: string;
  title: string;
  detail: string;
  source?: { pointer: string };
}
/** Body of every 4xx/5xx that has one (401, 404, 422, 429) [assumed]. */
export interface ApiErrorResponse {
  errors: ApiErrorEntry[];
}

/** Builds the JSON pointer of a participant's field in a batch request. */
export function batchPointer(index: number, field: string): string {
  return `/participants/${index}/${field}`;
}

/** Reads the participant index out of a batch error pointer; `null` when it names none. */
export function pointerIndex(pointer: string | undefined): number | null {
  const match = pointer ? /^\/participants\/(\d+)(?:\/|$)/.exec(pointer) : null;
  return match ? Number(match[1]) : null;
}

/** `page[size]`/`page[number]` query of `GET /participants`. */
export function pageQuery(size: number, page: number): string {
  return `page%5Bsize%5D=${size}&page%5Bnumber%5D=${page}`;
}

/** The detail User Interviews gives when `POST /participants` meets an existing email [assumed]. */
export const EMAIL_TAKEN_DETAIL = 'email has already been taken';

/**
 * The detail User Interviews gives, at pointer `/participants/{index}/id` of a `422`, when a batch
 * entry's `id` names no participant (e.g. one deleted by hand since its id was stored) [assumed,
 * like the `id` key itself: see {@link ParticipantInput}]. `id` is the id as sent.
 */
export function unknownParticipantDetail(id: string): string {
  return `participant ${id} does not exist (it may have been deleted)`;
}

/**
 * Whether a `422` error entry says that the `id` of batch entry `index`, sent as `id`, names no
 * participant: pointer `/participants/{index}/id` and the detail of {@link unknownParticipantDetail}.
 */
export function isUnknownParticipantError(entry: ApiErrorEntry, index: number, id: string): boolean {
  return entry.source?.pointer === batchPointer(index, 'id') && entry.detail === unknownParticipantDetail(id);
}

/**
 * Normalizes an email for matching: participants are matched case-insensitively, ignoring
 * surrounding spaces [assumed], in one Unicode normal form (NFC: `é` typed as one code point or
 * as `e` + a combining accent is the same address), with the domain in its IDNA ASCII form
 * (`bücher.de` and `xn--bcher-kva.de` are one domain, UTS #46 via `node:url` `domainToASCII`).
 * An ASCII email's key is what it always was (trimmed, lower case). This is also the snapshot's
 * `email_key` (see src/state/migrations.ts, version 10, for keys recorded before NFC and IDNA).
 */
export function normalizeEmail(email: string): string {
  const lower = email.trim().toLowerCase();
  // ASCII text is its own NFC, and its domain needs no IDNA form (the usual address: no ICU call).
  if (ASCII.test(lower)) return lower;
  const text = lower.normalize('NFC');
  const at = text.lastIndexOf('@');
  const domain = text.slice(at + 1);
  if (at === -1 || ASCII.test(domain)) return text;
  const ascii = domainToASCII(domain);
  return ascii === '' ? text : `${text.slice(0, at + 1)}${ascii}`;
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * An everyday ASCII address: dot-separated atoms of letters, digits, `_`, `+` and `-` before the
 * `@`; two or more labels of letters, digits and inner hyphens after it, the last of 2 to 63
 * letters. Every address it matches (with at most {@link MAX_COMMON_EMAIL_LENGTH} characters and a
 * local part within {@link MAX_EMAIL_LOCAL_PART_LENGTH}) passes `emailProblem`'s full rules.
 */
const COMMON_EMAIL = /^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** validator's `isEmail` refuses longer addresses (RFC 5321's 254-character path limit). */
const MAX_COMMON_EMAIL_LENGTH = 254;

/** RFC 5321 section 4.5.3.1.1: a local part (before the `@`) is at most 64 octets [confirmed, RFC]. */
export const MAX_EMAIL_LOCAL_PART_LENGTH = 64;

/**
 * Characters never accepted in an email, anywhere: control characters (`\p{Cc}`: NUL, tab, line
 * feeds, C1 controls) and format characters (`\p{Cf}`: bidirectional overrides such as U+202E,
 * zero-width spaces and joiners U+200B-U+200D, U+2060, U+FEFF), plus the line and paragraph
 * separators. They make two addresses look alike, or an address look like another.
 */
const FORBIDDEN_EMAIL_CHARACTER = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/**
 * Why `email` (trimmed) is not an email address the API takes, or `null` when it is. The client's
 * local validation (fields.ts) and the emulator both judge with this function, so the two always
 * agree [assumed: the API's own rule is not public]. The rules: no control, bidi or zero-width
 * character (named by its code point), no whitespace, a local part of at most
 * {@link MAX_EMAIL_LOCAL_PART_LENGTH} characters, and an address that `validator`'s `isEmail`
 * accepts with a UTF-8 local part and a domain with a top-level domain (RFC 5321/5322 syntax: no
 * `..`, no leading or trailing dot in the local part or the domain, no IP-literal domain, no
 * display name). Internationalized domains (`bücher.de`) are accepted.
 */
export function emailProblem(email: string): string | null {
  return isEverydayEmail(email) ? null : emailProblemByFullRules(email);
}

/**
 * True for the everyday ASCII address ({@link COMMON_EMAIL}, at most 254 characters, a local part
 * within {@link MAX_EMAIL_LOCAL_PART_LENGTH}), which {@link emailProblemByFullRules} always
 * accepts (checked by test/destinations/user-interviews/email-fast-path.test.ts): the fast path of
 * {@link emailProblem}, taken by nearly every row of a model.
 */
export function isEverydayEmail(email: string): boolean {
  return email.length <= MAX_COMMON_EMAIL_LENGTH && COMMON_EMAIL.test(email) && email.indexOf('@') <= MAX_EMAIL_LOCAL_PART_LENGTH;
}

/** {@link emailProblem} without its fast path. */
export function emailProblemByFullRules(email: string): string | null {
  const forbidden = FORBIDDEN_EMAIL_CHARACTER.exec(email);
  if (forbidden) {
    const code = forbidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `contains the invisible or control character U+${code}: remove it from the address`;
  }
  // A lone surrogate is no character (text decoded badly); validator's byte count would throw on it.
  const surrogate = /\p{Cs}/u.exec(email);
  if (surrogate) {
    const code = surrogate[0].charCodeAt(0).toString(16).toUpperCase();
    return `contains U+${code}, half of a UTF-16 surrogate pair and no character: fix the text's encoding in the model`;
  }
  if (/\s/.test(email)) return 'contains a space: an address has none';
  const localLength = textLength(email.slice(0, Math.max(0, email.lastIndexOf('@'))));
  if (localLength > MAX_EMAIL_LOCAL_PART_LENGTH) {
    return `has a local part (before the @) of ${localLength} characters: at most ${MAX_EMAIL_LOCAL_PART_LENGTH} are allowed (RFC 5321)`;
  }
  if (!validator.isEmail(email, { allow_utf8_local_part: true, require_tld: true, allow_ip_domain: false, allow_display_name: false })) {
    return 'is not a valid email address';
  }
  return null;
}

/**
 * Where an item of the contract comes from (see shared docs: user-interviews-api): stated by a
 * public source, or our best reading.
 */
export const CONTRACT_SOURCES = ['confirmed', 'assumed'] as const;
export type ContractSource = (typeof CONTRACT_SOURCES)[number];

/**
 * One item of the contract above that `panelsync check` confirms or refutes against a real
 * account: a stable `id` (reports and fixtures name it; never renamed), a one-line `statement`,
 * its `source` tag, and whether checking it needs writes (`--write-test`) or only reads.
 */
export interface ContractAssumption {
  id: string;
  statement: string;
  source: ContractSource;
  needs: 'read' | 'write';
}

/**
 * Every item of the contract `panelsync check` can test, in the order it reports them. Each
 * statement restates a constant or shape of this module; the ids are public (JSON reports, the
 * README), so they are extended, never renamed.
 */
export const CONTRACT_ASSUMPTIONS = [
  { id: 'auth.bearer_key', source: 'confirmed', needs: 'read', statement: 'A request with "Authorization: Bearer <api key>" is accepted.' },
  { id: 'auth.wrong_key_401', source: 'assumed', needs: 'read', statement: 'A wrong API key is refused with 401.' },
  { id: 'media.accept_v2', source: 'confirmed', needs: 'read', statement: `Requests sent with "Accept: ${ACCEPT}" are answered with JSON.` },
  { id: 'errors.body_shape', source: 'assumed', needs: 'read', statement: 'An error body is {"errors": [{"status", "title", "detail"}]}.' },
  { id: 'characteristics.list_shape', source: 'assumed', needs: 'read', statement: 'GET /characteristics answers {"data": [{"id", "type": "characteristic", "attributes": {"name", "slug", "type"}}]}.' },
  { id: 'characteristics.types', source: 'confirmed', needs: 'read', statement: `Every characteristic type is one of ${CHARACTERISTIC_TYPES.join(', ')}.` },
  { id: 'participants.page_shape', source: 'assumed', needs: 'read', statement: 'GET /participants answers {"data": [{"id", "type": "participant", "attributes": {"email", "firstName", …}}], "meta": {"pagination": {"currentPage", "hasMore"}}}.' },
  { id: 'participants.ids', source: 'assumed', needs: 'read', statement: 'Participant ids are non-empty strings, none listed twice in a page.' },
  { id: 'participants.default_page_size', source: 'confirmed', needs: 'read', statement: `Without page[size], a page holds ${DEFAULT_PAGE_SIZE} participants.` },
  { id: 'participants.max_page_size', source: 'confirmed', needs: 'read', statement: `page[size]=${MAX_PAGE_SIZE} gives pages of ${MAX_PAGE_SIZE} participants.` },
  { id: 'participants.paging', source: 'confirmed', needs: 'read', statement: 'page[number]=K (from 1) gives the K-th page of page[size] participants.' },
  { id: 'rate_limit.retry_after', source: 'assumed', needs: 'read', statement: 'A rate limit is announced by 429 with Retry-After (seconds).' },
  { id: 'participant.create', source: 'assumed', needs: 'write', statement: 'POST /participants with an unused email answers 201 with the new participant\'s id.' },
  { id: 'participant.create_existing_refused', source: 'assumed', needs: 'write', statement: `POST /participants with an email already taken answers 422 with an errors entry "${EMAIL_TAKEN_DETAIL}".` },
  { id: 'participant.request_keys', source: 'assumed', needs: 'write', statement: 'Request bodies take snake_case keys (first_name); responses give camelCase attributes (firstName).' },
  { id: 'batch.upsert_updates', source: 'assumed', needs: 'write', statement: 'PATCH /participants/batches with a known email updates that participant (200, data with its id).' },
  { id: 'batch.email_match_normalized', source: 'assumed', needs: 'write', statement: 'Emails are matched case-insensitively, ignoring surrounding spaces.' },
  { id: 'batch.keys_absent_kept', source: 'assumed', needs: 'write', statement: 'Keys absent from a batch entry are left as they are.' },
  { id: 'characteristics.value_types', source: 'confirmed', needs: 'write', statement: 'A characteristic value of each type (text, number, date YYYY-MM-DD, boolean) is stored as sent.' },
  { id: 'batch.null_clears', source: 'assumed', needs: 'write', statement: 'null clears a field and a characteristic.' },
  { id: 'batch.all_or_nothing', source: 'confirmed', needs: 'write', statement: 'A batch with one invalid participant is refused whole with 422; nothing of it is written.' },
  { id: 'batch.error_pointer', source: 'assumed', needs: 'write', statement: 'A 422 names each offending participant by source.pointer /participants/{index}/{field}.' },
  { id: 'batch.max_size', source: 'confirmed', needs: 'write', statement: `A batch of ${MAX_BATCH_SIZE} participants is accepted.` },
  { id: 'participant.rename_by_id', source: 'assumed', needs: 'write', statement: 'A batch entry with "id" and a new "email" changes that participant\'s email; the id stays.' },
  { id: 'batch.upsert_creates', source: 'assumed', needs: 'write', statement: 'PATCH /participants/batches with an unknown email creates a participant.' },
  { id: 'participant.delete', source: 'assumed', needs: 'write', statement: 'DELETE /participants/{id} answers 204.' },
  { id: 'participant.delete_again_404', source: 'assumed', needs: 'write', statement: 'DELETE of a participant already deleted answers 404.' },
] as const satisfies readonly ContractAssumption[];

/** The id of an item of {@link CONTRACT_ASSUMPTIONS}. */
export type AssumptionId = (typeof CONTRACT_ASSUMPTIONS)[number]['id'];
