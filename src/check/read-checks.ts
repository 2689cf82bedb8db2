/**
 * The read-only items of the contract (see shared docs: user-interviews-api, "Connection",
 * "Characteristics", "List participants"): the key, the media types, the error body of a request
 * that cannot change anything (a wrong key), `GET /characteristics` and `GET /participants`
 * paging. Nothing here writes.
 */
import { randomBytes } from 'node:crypto';
import {
  ATTRIBUTE_NAMES,
  CHARACTERISTIC_TYPES,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  ROUTES,
  type CharacteristicType,
} from '../destinations/user-interviews/wire.ts';
import type { ContractProbe, ProbeResponse } from './contract-probe.ts';
import type { ErrorBodyForm } from './contract-observations.ts';
import { shown, type Findings } from './check-report.ts';
import { moreListed, pagePath, pageRows } from './participant-pages.ts';

/** A characteristic of the account, as listed. */
export interface ListedCharacteristic {
  slug: string;
  type: CharacteristicType;
}

/** What the write test needs from the reads. */
export interface ReadOutcome {
  /** False when the key was refused: nothing else can be checked. */
  keyAccepted: boolean;
  characteristics: ListedCharacteristic[];
}

const ERROR_ENTRY_KEYS = ['status', 'title', 'detail'] as const;

/**
 * The form of an error body: `errors_array` when it is `{"errors": [...]}` with at least one entry
 * of string `status`, `title` and `detail`; `error_object` for `{"error": {...}}`; else `other`.
 */
export function errorBodyForm(body: unknown): ErrorBodyForm {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const errors = record.errors;
  if (
    Array.isArray(errors) &&
    errors.length > 0 &&
    errors.every((e) => typeof e === 'object' && e !== null && ERROR_ENTRY_KEYS.every((k) => typeof (e as Record<string, unknown>)[k] === 'string'))
  ) {
    return 'errors_array';
  }
  return typeof record.error === 'object' && record.error !== null ? 'error_object' : 'other';
}

/** Judges `errors.body_shape` on one error response. */
export function judgeErrorBody(findings: Findings, res: ProbeResponse, what: string): void {
  const form = errorBodyForm(res.body);
  findings.observed.error_body ??= form;
  if (form === 'errors_array') findings.confirm('errors.body_shape', `${what}: ${shown(res.body)}`);
  else findings.refute('errors.body_shape', '{"errors": [{"status", "title", "detail"}]}', `${what} (${res.status}): ${shown(res.body ?? res.text)}`);
}

/**
 * Runs every read-only check, recording findings.
 * @throws HttpError when no response came at all (timeout, refused connection)
 */
export async function checkReads(probe: ContractProbe, findings: Findings): Promise<ReadOutcome> {
  const own = await probe.send('auth.bearer_key', { method: 'GET', path: ROUTES.characteristics });
  if (own.status === 401 || own.status === 403) {
    findings.refute('auth.bearer_key', `200 for the project's key`, `${own.status}: ${shown(own.body ?? own.text)}`);
    return { keyAccepted: false, characteristics: [] };
  }
  if (own.status === 200) findings.confirm('auth.bearer_key', '200');
  else findings.refute('auth.bearer_key', '200', `${own.status}: ${shown(own.body ?? own.text)}`);

  const contentType = own.headers['content-type'] ?? '(none)';
  if (own.body !== undefined && /json/i.test(contentType)) findings.confirm('media.accept_v2', `Content-Type: ${contentType}`);
  else findings.refute('media.accept_v2', 'a JSON body', `Content-Type: ${contentType}, body ${shown(own.text)}`);

  const characteristics = judgeCharacteristics(findings, own);

  const wrongKey = `panelsync-check-wrong-key-${randomBytes(6).toString('hex')}`;
  const refused = await probe.send('auth.wrong_key_401', { method: 'GET', path: ROUTES.characteristics, apiKey: wrongKey });
  if (refused.status === 401) findings.confirm('auth.wrong_key_401', '401');
  else findings.refute('auth.wrong_key_401', '401', `${refused.status}: ${shown(refused.body ?? refused.text)}`);
  if (refused.status >= 400) judgeErrorBody(findings, refused, 'a wrong key');

  await checkPaging(probe, findings);
  return { keyAccepted: true, characteristics };
}

function judgeCharacteristics(findings: Findings, res: ProbeResponse): ListedCharacteristic[] {
  const data = (res.body as { data?: unknown } | undefined)?.data;
  if (res.status !== 200 || !Array.isArray(data)) {
    findings.refute('characteristics.list_shape', '200 with a data array', `${res.status}: ${shown(res.body ?? res.text)}`);
    findings.skip('characteristics.types', 'GET /characteristics gave no data array');
    return [];
  }
  const bad = data.find((item) => {
    const r = item as Record<string, unknown> | null;
    const a = r?.attributes as Record<string, unknown> | undefined;
    return typeof r?.id !== 'string' || r.type !== 'characteristic' || typeof a?.slug !== 'string' || typeof a?.name !== 'string' || typeof a?.type !== 'string';
  });
  if (bad !== undefined) {
    findings.refute('characteristics.list_shape', '{"id": string, "type": "characteristic", "attributes": {"name", "slug", "type"}}', shown(bad));
    findings.skip('characteristics.types', 'the characteristics are not shaped as assumed');
    return [];
  }
  findings.confirm('characteristics.list_shape', `${data.length} characteristic(s)`);
  const listed = data.map((item) => (item as { attributes: { slug: string; type: string } }).attributes);
  if (listed.length === 0) {
    findings.skip('characteristics.types', 'the account defines no characteristic: add one of each type in User Interviews');
    return [];
  }
  const known = new Set<string>(CHARACTERISTIC_TYPES);
  const unknown = listed.filter((c) => !known.has(c.type));
  const types = [...new Set(listed.map((c) => c.type))].join(', ');
  if (unknown.length > 0) {
    findings.refute('characteristics.types', `types among ${CHARACTERISTIC_TYPES.join(', ')}`, unknown.map((c) => `${c.slug}: ${c.type}`).join(', '));
  } else {
    findings.confirm('characteristics.types', `types seen: ${types}`);
  }
  return listed.filter((c) => known.has(c.type)).map((c) => ({ slug: c.slug, type: c.type as CharacteristicType }));
}

async function checkPaging(probe: ContractProbe, findings: Findings): Promise<void> {
  const first = await probe.send('participants.default_page_size', { method: 'GET', path: ROUTES.listParticipants });
  const largest = await probe.send('participants.max_page_size', { method: 'GET', path: pagePath('page_size_number', MAX_PAGE_SIZE, 1) });
  const firstRows = pageRows(first.body);
  const largestRows = pageRows(largest.body);
  judgePageShape(findings, first);
  judgeIds(findings, [firstRows, largestRows]);
  if (first.status !== 200 || firstRows === null || largest.status !== 200 || largestRows === null) {
    const res = first.status !== 200 || firstRows === null ? first : largest;
    for (const id of ['participants.default_page_size', 'participants.max_page_size', 'participants.paging'] as const) {
      findings.refute(id, '200 with a data array', `${res.status}: ${shown(res.body ?? res.text)}`);
    }
    return;
  }

  const n0 = firstRows.length;
  const n200 = largestRows.length;
  const moreThanFirst = moreListed(first.body, n0) || n200 > n0;
  if (n0 === DEFAULT_PAGE_SIZE && moreThanFirst) findings.confirm('participants.default_page_size', `${n0} participants, more listed`);
  else if (n0 > DEFAULT_PAGE_SIZE || (n0 < DEFAULT_PAGE_SIZE && moreThanFirst)) {
    findings.refute('participants.default_page_size', `${DEFAULT_PAGE_SIZE} participants`, `${n0} participants while more are listed`);
  } else {
    findings.skip('participants.default_page_size', `the account lists ${n0} participant(s): the default page size shows with more than ${DEFAULT_PAGE_SIZE}`);
  }
  if (moreThanFirst) findings.observed.default_page_size = n0;

  const moreThanLargest = moreListed(largest.body, n200);
  if (n200 === MAX_PAGE_SIZE) findings.confirm('participants.max_page_size', `${n200} participants`);
  else if (moreThanLargest || n200 > MAX_PAGE_SIZE) {
    findings.refute('participants.max_page_size', `${MAX_PAGE_SIZE} participants`, `${n200} participants while more are listed`);
    findings.observed.max_page_size = n200;
  } else {
    findings.skip('participants.max_page_size', `the account lists ${n200} participant(s): a full page of ${MAX_PAGE_SIZE} shows with more`);
  }

  if (Math.max(n0, n200) < 2) {
    findings.skip('participants.paging', 'the account lists fewer than 2 participants: paging shows with 2 or more');
    return;
  }
  const [one, two] = await pagePair(probe, 'page_size_number');
  if (one.length === 1 && two.length === 1 && one[0] !== two[0]) {
    findings.confirm('participants.paging', `page[size]=1: page 1 id ${one[0]}, page 2 id ${two[0]}`);
    findings.observed.paging = 'page_size_number';
    return;
  }
  const [altOne, altTwo] = await pagePair(probe, 'page_per_page');
  const alternative = altOne.length === 1 && altTwo.length === 1 && altOne[0] !== altTwo[0];
  findings.observed.paging = alternative ? 'page_per_page' : 'other';
  findings.refute(
    'participants.paging',
    'page[size]=1&page[number]=2: one participant, not the one of page 1',
    `page 1 ids [${one.join(', ')}], page 2 ids [${two.join(', ')}]` +
      (alternative ? `; per_page=1&page=2 pages as expected (ids ${altOne[0]}, ${altTwo[0]})` : '; per_page=1&page=2 does not page either'),
  );
}

/** The ids of pages 1 and 2 of one participant each, in paging `form` (only the first 5 ids of a page). */
async function pagePair(probe: ContractProbe, form: 'page_size_number' | 'page_per_page'): Promise<[string[], string[]]> {
  const ids: string[][] = [];
  for (const page of [1, 2]) {
    const res = await probe.send('participants.paging', { method: 'GET', path: pagePath(form, 1, page) });
    ids.push((pageRows(res.body) ?? []).slice(0, 5).map((row) => String(row.id)));
  }
  return [ids[0]!, ids[1]!];
}

const ATTRIBUTES = ['email', ...Object.values(ATTRIBUTE_NAMES), 'characteristics'];

function judgePageShape(findings: Findings, res: ProbeResponse): void {
  const rows = pageRows(res.body);
  const pagination = ((res.body as { meta?: { pagination?: Record<string, unknown> } } | undefined)?.meta?.pagination ?? null);
  const expected = 'data [{"id", "type": "participant", "attributes": {"email", "firstName", …}}], meta.pagination {"currentPage", "hasMore"}';
  if (res.status !== 200 || rows === null) return findings.refute('participants.page_shape', expected, `${res.status}: ${shown(res.body ?? res.text)}`);
  if (pagination === null || typeof pagination.currentPage !== 'number' || typeof pagination.hasMore !== 'boolean') {
    return findings.refute('participants.page_shape', expected, `meta ${shown((res.body as { meta?: unknown }).meta ?? null)}`);
  }
  if (rows.length === 0) return findings.skip('participants.page_shape', 'the account lists no participant: a participant\'s shape shows with one');
  const bad = rows.find((row) => row.type !== 'participant' || row.attributes === null || ATTRIBUTES.some((name) => !(name in row.attributes!)));
  if (bad) {
    const missing = bad.attributes === null ? ['attributes'] : ATTRIBUTES.filter((name) => !(name in bad.attributes!));
    return findings.refute('participants.page_shape', expected, `a participant of type ${shown(bad.type)} without ${missing.join(', ') || 'nothing'}: ${shown(bad)}`);
  }
  findings.confirm('participants.page_shape', `${rows.length} participant(s) shaped as assumed`);
}

function judgeIds(findings: Findings, pages: (ReturnType<typeof pageRows>)[]): void {
  let count = 0;
  for (const rows of pages) {
    if (rows === null) continue;
    const inPage = new Set<string>();
    for (const row of rows) {
      count += 1;
      if (typeof row.id !== 'string' || row.id === '') return findings.refute('participants.ids', 'a non-empty string id', `id ${shown(row.id)}`);
      if (inPage.has(row.id)) return findings.refute('participants.ids', 'each id once in a page', `id ${row.id} twice in one page`);
      inPage.add(row.id);
    }
  }
  if (count === 0) findings.skip('participants.ids', 'the account lists no participant');
  else findings.confirm('participants.ids', `${count} ids read, all non-empty strings`);
}
