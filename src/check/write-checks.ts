/**
 * The write items of the contract (`check --write-test`; see shared docs: user-interviews-api,
 * "Batch upsert", "Create one participant", "Delete one participant"), exercised on test
 * participants of the check's own: created, updated, cleared, given a characteristic of each type,
 * sent next to an invalid row, renamed by id, deleted twice. Each step is read back from
 * `GET /participants`. Every participant that may be created is written down first
 * (./test-participants.ts) and removed at the end, whatever happened.
 */
import {
  ATTRIBUTE_NAMES,
  EMAIL_TAKEN_DETAIL,
  MAX_BATCH_SIZE,
  MAX_PAGE_SIZE,
  ROUTES,
  normalizeEmail,
  type CharacteristicType,
  type ParticipantField,
} from '../destinations/user-interviews/wire.ts';
import type { ContractProbe, ProbeResponse } from './contract-probe.ts';
import { shown, type Findings } from './check-report.ts';
import { findListed } from './participant-pages.ts';
import type { PagingForm } from './contract-observations.ts';
import { judgeErrorBody, type ListedCharacteristic } from './read-checks.ts';
import { renamedEmail, type TestParticipantLedger } from './test-participants.ts';

/** What the write test is given. */
export interface WriteTestOptions {
  /** The test participant's email (marked, or `--test-email`); it must not be a participant yet. */
  testEmail: string;
  ledger: TestParticipantLedger;
  characteristics: readonly ListedCharacteristic[];
  /** Once aborted, the test stops before its next step (and still cleans up). */
  signal?: AbortSignal;
}

/** A value of each characteristic type, as sent and as it must read back. */
const TYPE_VALUES: Record<CharacteristicType, string | number | boolean> = {
  text: 'panelsync check',
  number: 42.5,
  date: '2026-01-02',
  boolean: true,
};

/** Ends the write test early; its message says why. */
class StopWriteTest extends Error {}

/**
 * Runs the write test. Never throws for a failed step: it returns why it stopped (`null` when it
 * ran to the end), and the remaining items are left without a finding.
 */
export async function checkWrites(probe: ContractProbe, findings: Findings, options: WriteTestOptions): Promise<string | null> {
  const test = new WriteTest(probe, findings, options);
  try {
    await test.run();
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await removeTestParticipants(probe, options.ledger);
  }
}

/**
 * Deletes every participant the ledger lists (one without an id is found by upserting its email,
 * which answers its id), and forgets those deleted or already gone.
 * @returns how many were deleted (answered 2xx)
 */
export async function removeTestParticipants(probe: ContractProbe, ledger: TestParticipantLedger): Promise<number> {
  let removed = 0;
  for (const entry of ledger.list()) {
    let id = entry.id;
    if (id === undefined) {
      const found = await probe.send('cleanup', { method: 'PATCH', path: ROUTES.batchUpsert, body: { participants: [{ email: entry.email }] } });
      id = batchIds(found.body)[0];
      if (id === undefined) continue;
      ledger.add({ email: entry.email, id });
    }
    const res = await probe.send('cleanup', { method: 'DELETE', path: ROUTES.participant(id) });
    if (res.status >= 200 && res.status <= 299) removed += 1;
    if ((res.status >= 200 && res.status <= 299) || res.status === 404) {
      ledger.remove({ id });
      ledger.remove({ email: entry.email });
    }
  }
  return removed;
}

class WriteTest {
  private keys: 'snake_case' | 'camelCase' = 'snake_case';
  private readonly paging: PagingForm;
  private readonly pageSize: number;

  constructor(
    private readonly probe: ContractProbe,
    private readonly findings: Findings,
    private readonly options: WriteTestOptions,
  ) {
    this.paging = findings.observed.paging === 'page_per_page' ? 'page_per_page' : 'page_size_number';
    this.pageSize = findings.observed.max_page_size ?? MAX_PAGE_SIZE;
  }

  async run(): Promise<void> {
    const { findings, options } = this;
    const email = options.testEmail;
    const id = await this.create(email);
    await this.createExisting(email);

    this.step();
    const update = await this.batch('batch.upsert_updates', [{ email, ...this.fields({ last_name: 'Check' }) }]);
    if (update.status === 200 && batchIds(update.body)[0] === id) findings.confirm('batch.upsert_updates', `200, the same id ${id}`);
    else findings.refute('batch.upsert_updates', `200, data[0].id ${id}`, `${update.status}: ${shown(update.body ?? update.text)}`);
    let back = await this.readBack(id);
    if (back.lastName !== 'Check') findings.skip('batch.keys_absent_kept', 'the update did not write last_name');
    else if (back.firstName === 'Panelsync') findings.confirm('batch.keys_absent_kept', 'first_name kept when only last_name was sent');
    else findings.refute('batch.keys_absent_kept', 'firstName "Panelsync" kept', `firstName ${shown(back.firstName)}`);

    await this.matchNormalized(email, id);
    const slugs = await this.characteristicValues(email, id);

    this.step();
    const cleared = Object.fromEntries(slugs.map((slug) => [slug, null]));
    await this.batch('batch.null_clears', [{ email, ...this.fields({ last_name: null }), ...(slugs.length > 0 ? { characteristics: cleared } : {}) }]);
    back = await this.readBack(id);
    const left = slugs.filter((slug) => characteristicOf(back, slug) != null);
    if (back.lastName === null && left.length === 0) findings.confirm('batch.null_clears', `lastName and ${slugs.length} characteristic(s) cleared`);
    else findings.refute('batch.null_clears', 'lastName null, characteristics cleared', `lastName ${shown(back.lastName)}, still set: ${left.join(', ') || 'none'}`);

    await this.invalidRowBatch(email, id);
    await this.batchLimit(email);
    const renamed = await this.renameById(id, email);

    this.step();
    const free = renamed ? email : renamedEmail(email);
    options.ledger.add({ email: free });
    const create = await this.batch('batch.upsert_creates', [{ email: free }]);
    const newId = batchIds(create.body)[0];
    if (newId !== undefined) options.ledger.add({ email: free, id: newId });
    const listed = newId !== undefined && newId !== id && (await findListed(this.probe, this.paging, newId, this.pageSize)) !== null;
    if (create.status === 200 && listed) findings.confirm('batch.upsert_creates', `200, new participant ${newId} listed`);
    else findings.refute('batch.upsert_creates', `200 with a new id, listed`, `${create.status}: ${shown(create.body ?? create.text)}${listed ? '' : ' (not listed)'}`);

    await this.deleteTwice(id);
  }

  /** Step 1: `POST /participants` creates the test participant; its `first_name` tells the request keys. */
  private async create(email: string): Promise<string> {
    const { findings, options } = this;
    this.step();
    options.ledger.add({ email });
    const res = await this.probe.send('participant.create', {
      method: 'POST',
      path: ROUTES.createParticipant,
      body: { participant: { email, first_name: 'Panelsync' } },
    });
    const id = dataId(res.body);
    if (id === undefined) {
      if (errorText(res).toLowerCase().includes(EMAIL_TAKEN_DETAIL)) {
        options.ledger.remove({ email }); // someone else's participant: never to be deleted
        throw new StopWriteTest(`${email} is already a participant: give --test-email an address that is not one`);
      }
      findings.refute('participant.create', '201 with data.id', `${res.status}: ${shown(res.body ?? res.text)}`);
      throw new StopWriteTest('POST /participants created no test participant');
    }
    options.ledger.add({ email, id });
    if (res.status === 201) findings.confirm('participant.create', `201, id ${id}`);
    else findings.refute('participant.create', '201 with data.id', `${res.status} with id ${id}`);

    let back = await this.readBack(id);
    if (back.firstName === 'Panelsync') {
      findings.confirm('participant.request_keys', 'first_name sent, firstName read back');
      findings.observed.request_keys = 'snake_case';
      return id;
    }
    await this.batch('participant.request_keys', [{ email, firstName: 'Panelsync' }]);
    back = await this.readBack(id);
    if (back.firstName === 'Panelsync') {
      this.keys = 'camelCase';
      findings.observed.request_keys = 'camelCase';
      findings.refute('participant.request_keys', 'first_name written', 'first_name was ignored; firstName (camelCase) was written');
    } else {
      findings.refute('participant.request_keys', 'first_name written, read back as firstName', `neither first_name nor firstName was written: ${shown(back)}`);
    }
    return id;
  }

  /** Step 2: a second `POST` of the same email is refused. */
  private async createExisting(email: string): Promise<void> {
    this.step();
    const res = await this.probe.send('participant.create_existing_refused', {
      method: 'POST',
      path: ROUTES.createParticipant,
      body: { participant: { email } },
    });
    const id = dataId(res.body);
    if (id !== undefined) this.options.ledger.add({ email, id });
    const details = errorDetails(res.body);
    if (res.status === 422 && details.some((d) => d.trim().toLowerCase() === EMAIL_TAKEN_DETAIL)) {
      this.findings.confirm('participant.create_existing_refused', `422 "${EMAIL_TAKEN_DETAIL}"`);
    } else {
      this.findings.refute('participant.create_existing_refused', `422 with an errors entry "${EMAIL_TAKEN_DETAIL}"`, `${res.status}: ${shown(res.body ?? res.text)}`);
    }
    if (res.status >= 400) judgeErrorBody(this.findings, res, 'POST of an existing email');
  }

  /** The test email in upper case with spaces around finds the same participant. */
  private async matchNormalized(email: string, id: string): Promise<void> {
    this.step();
    const variant = email.toUpperCase();
    this.options.ledger.add({ email: variant });
    const res = await this.batch('batch.email_match_normalized', [{ email: `  ${variant}  `, ...this.fields({ title: 'Check' }) }]);
    const got = batchIds(res.body)[0];
    if (got !== undefined && got !== id) this.options.ledger.add({ email: variant, id: got });
    else this.options.ledger.remove({ email: variant });
    if (res.status === 200 && got === id) this.findings.confirm('batch.email_match_normalized', `"  ${variant}  " updated participant ${id}`);
    else this.findings.refute('batch.email_match_normalized', `participant ${id} updated`, `${res.status}: ${shown(res.body ?? res.text)}`);
  }

  /** A value of each characteristic type, read back. Returns the slugs written. */
  private async characteristicValues(email: string, id: string): Promise<string[]> {
    this.step();
    const chosen = new Map<CharacteristicType, string>();
    for (const c of this.options.characteristics) if (!chosen.has(c.type)) chosen.set(c.type, c.slug);
    if (chosen.size === 0) {
      this.findings.skip('characteristics.value_types', 'the account defines no characteristic: add one of each type in User Interviews');
      return [];
    }
    const values = Object.fromEntries([...chosen].map(([type, slug]) => [slug, TYPE_VALUES[type]]));
    const res = await this.batch('characteristics.value_types', [{ email, characteristics: values }]);
    const back = await this.readBack(id);
    const wrong = [...chosen].filter(([type, slug]) => characteristicOf(back, slug) !== TYPE_VALUES[type]);
    const missing = (['text', 'number', 'date', 'boolean'] as const).filter((type) => !chosen.has(type));
    if (wrong.length > 0) {
      this.findings.refute(
        'characteristics.value_types',
        wrong.map(([type, slug]) => `${slug} (${type}) = ${JSON.stringify(TYPE_VALUES[type])}`).join(', '),
        `${res.status}; read back ${wrong.map(([, slug]) => `${slug} = ${shown(characteristicOf(back, slug) ?? null)}`).join(', ')}`,
      );
    } else if (missing.length > 0) {
      this.findings.skip('characteristics.value_types', `${[...chosen.keys()].join(', ')} stored as sent; the account defines no ${missing.join(', ')} characteristic`);
    } else {
      this.findings.confirm('characteristics.value_types', [...chosen].map(([type, slug]) => `${slug} (${type})`).join(', '));
    }
    return [...chosen.values()];
  }

  /** The test row next to an invalid one: refused whole, and which row the error names. */
  private async invalidRowBatch(email: string, id: string): Promise<void> {
    this.step();
    const res = await this.batch('batch.all_or_nothing', [{ email, city: 'Checkville' }, { email: 'not-an-email' }]);
    const written = (await this.readBack(id)).city === 'Checkville';
    this.findings.observed.batch_errors = written ? 'per_row' : 'all_or_nothing';
    if (res.status === 422 && !written) this.findings.confirm('batch.all_or_nothing', '422, nothing written');
    else {
      this.findings.refute('batch.all_or_nothing', '422, nothing written', `${res.status}${written ? ', the valid participant was written (city "Checkville")' : ''}: ${shown(res.body ?? res.text)}`);
    }
    const pointers = errorPointers(res.body);
    if (pointers.some((p) => p.startsWith('/participants/1/')) && !pointers.some((p) => /^\/participants\/0(\/|$)/.test(p))) {
      this.findings.confirm('batch.error_pointer', pointers.join(', '));
    } else {
      this.findings.refute('batch.error_pointer', 'an errors entry with source.pointer /participants/1/email', shown(res.body ?? res.text));
    }
    if (res.status >= 400) judgeErrorBody(this.findings, res, 'a batch with an invalid row');
  }

  /** A batch of 100 copies of the test row; when refused, the largest size accepted (halving). */
  private async batchLimit(email: string): Promise<void> {
    this.step();
    const send = (size: number) => this.batch('batch.max_size', Array.from({ length: size }, () => ({ email, ...this.fields({ company: 'Check' }) })));
    const full = await send(MAX_BATCH_SIZE);
    if (full.status === 200 && batchIds(full.body).length === MAX_BATCH_SIZE) {
      this.findings.confirm('batch.max_size', `${MAX_BATCH_SIZE} accepted`);
      this.findings.observed.max_batch = MAX_BATCH_SIZE;
      return;
    }
    let accepted = 0;
    let refused = MAX_BATCH_SIZE;
    while (refused - accepted > 1) {
      const size = Math.floor((accepted + refused) / 2);
      if ((await send(size)).status === 200) accepted = size;
      else refused = size;
    }
    this.findings.observed.max_batch = accepted;
    this.findings.refute('batch.max_size', `${MAX_BATCH_SIZE} accepted`, `${MAX_BATCH_SIZE} refused (${full.status}: ${errorText(full)}); the largest batch accepted: ${accepted}`);
  }

  /** An entry with the test participant's id and a new email. Returns whether it was renamed. */
  private async renameById(id: string, email: string): Promise<boolean> {
    this.step();
    const target = renamedEmail(email);
    this.options.ledger.add({ email: target, id });
    const res = await this.batch('participant.rename_by_id', [{ id, email: target }]);
    const got = batchIds(res.body)[0];
    if (got !== undefined && got !== id) this.options.ledger.add({ email: target, id: got });
    const back = await this.readBack(id);
    const renamed = res.status === 200 && got === id && typeof back.email === 'string' && normalizeEmail(back.email) === normalizeEmail(target);
    this.findings.observed.rename_by_id = renamed;
    if (renamed) this.findings.confirm('participant.rename_by_id', `participant ${id} now ${target}`);
    else this.findings.refute('participant.rename_by_id', `200, participant ${id} with email ${target}`, `${res.status}: ${shown(res.body ?? res.text)}; email read back ${shown(back.email ?? null)}`);
    return renamed;
  }

  private async deleteTwice(id: string): Promise<void> {
    this.step();
    const first = await this.probe.send('participant.delete', { method: 'DELETE', path: ROUTES.participant(id) });
    if (first.status >= 200 && first.status <= 299) this.findings.observed.delete_status = first.status;
    const gone = (await findListed(this.probe, this.paging, id, this.pageSize)) === null;
    if (first.status === 204 && gone) this.findings.confirm('participant.delete', '204, no longer listed');
    else {
      const body = first.text === '' ? '' : ` with ${shown(first.body ?? first.text)}`;
      this.findings.refute('participant.delete', '204, then not listed', `${first.status}${body}${gone ? ', not listed' : ', still listed'}`);
    }
    const again = await this.probe.send('participant.delete_again_404', { method: 'DELETE', path: ROUTES.participant(id) });
    if (gone || again.status === 404) this.options.ledger.remove({ id });
    if (again.status === 404) this.findings.confirm('participant.delete_again_404', '404');
    else this.findings.refute('participant.delete_again_404', '404', `${again.status}: ${shown(again.body ?? again.text)}`);
  }

  /** `fields` with participant field keys in the request key form seen (camelCase once snake_case was ignored). */
  private fields(fields: Partial<Record<ParticipantField, string | null>>): Record<string, string | null> {
    if (this.keys === 'snake_case') return fields;
    return Object.fromEntries(Object.entries(fields).map(([key, value]) => [ATTRIBUTE_NAMES[key as ParticipantField], value]));
  }

  private batch(step: string, participants: unknown[]): Promise<ProbeResponse> {
    return this.probe.send(step, { method: 'PATCH', path: ROUTES.batchUpsert, body: { participants } });
  }

  /** The test participant's attributes as listed; stops the test when it is not listed. */
  private async readBack(id: string): Promise<Record<string, unknown>> {
    const attributes = await findListed(this.probe, this.paging, id, this.pageSize);
    if (attributes === null) throw new StopWriteTest(`test participant ${id} is not listed by GET /participants: the steps after need to read it back`);
    return attributes;
  }

  private step(): void {
    if (this.options.signal?.aborted) throw new StopWriteTest('interrupted');
  }
}

function characteristicOf(attributes: Record<string, unknown>, slug: string): unknown {
  return ((attributes.characteristics ?? {}) as Record<string, unknown>)[slug];
}

function dataId(body: unknown): string | undefined {
  const id = ((body as { data?: { id?: unknown } } | undefined)?.data ?? {}).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** The ids of a batch answer's `data`, in order (`undefined` for an entry without one). */
function batchIds(body: unknown): (string | undefined)[] {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) return [];
  return data.map((item) => {
    const id = (item as { id?: unknown } | null)?.id;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
  });
}

function errorEntries(body: unknown): Record<string, unknown>[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null) : [];
}

function errorDetails(body: unknown): string[] {
  return errorEntries(body).flatMap((e) => (typeof e.detail === 'string' ? [e.detail] : []));
}

function errorPointers(body: unknown): string[] {
  return errorEntries(body).flatMap((e) => {
    const pointer = (e.source as { pointer?: unknown } | undefined)?.pointer;
    return typeof pointer === 'string' ? [pointer] : [];
  });
}

/** Every detail or message of an error body, or its text. */
function errorText(res: ProbeResponse): string {
  const details = errorDetails(res.body);
  if (details.length > 0) return details.join('; ');
  return shown(res.body ?? res.text);
}
