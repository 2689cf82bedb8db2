import { afterEach, describe, expect, it } from 'vitest';
import { UserInterviewsClient } from '../../../src/destinations/user-interviews/client.ts';
import { ACCEPT, CONTENT_TYPE, EMAIL_TAKEN_DETAIL, batchPointer, unknownParticipantDetail } from '../../../src/destinations/user-interviews/wire.ts';
import { startEmulator, type RunningEmulator } from '../../../src/emulator/start-emulator.ts';
import { HttpError } from '../../../src/http/errors.ts';
import { HttpClient, type ApiCall } from '../../../src/http/http-client.ts';
import { json, startLocalServer, type LocalServer } from '../../http/local-server.ts';

const KEY = 'ui_live_key_0123456789';

let server: LocalServer | undefined;
let emulator: RunningEmulator | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await emulator?.close();
  emulator = undefined;
});

function uiClient(baseUrl: string) {
  const calls: ApiCall[] = [];
  const http = new HttpClient({
    baseUrl,
    headers: UserInterviewsClient.headers(KEY),
    timeoutMs: 2_000,
    maxAttempts: 2,
    backoff: { baseMs: 1, maxMs: 2 },
    secrets: [KEY],
    onCall: (c) => calls.push(c),
  });
  return { ui: new UserInterviewsClient(http), calls };
}

function resource(id: string, email: string) {
  return { id, type: 'participant', attributes: { email, firstName: null, characteristics: {} } };
}

const ann = { email: 'ann@example.com', first_name: 'Ann', characteristics: { plan: 'pro' } };
const bob = { email: 'bob@example', last_name: null };
const cyd = { email: 'cyd@example.com' };

describe('UserInterviewsClient.batchUpsert', () => {
  it('sends the wire body with the v2 headers and maps a 200 to ids in request order', async () => {
    server = await startLocalServer(json(200, { data: [resource('11', ann.email), resource('12', 'bob@example'), resource('13', cyd.email)] }));
    const { ui, calls } = uiClient(server.baseUrl);
    const results = await ui.batchUpsert([ann, bob, cyd], { tag: 'batch-1' });
    expect(results).toEqual([
      { ok: true, id: '11' },
      { ok: true, id: '12' },
      { ok: true, id: '13' },
    ]);
    const [req] = server.requests;
    expect(req).toMatchObject({ method: 'PATCH', url: '/api/participants/batches' });
    expect(JSON.parse(req!.body)).toEqual({ participants: [ann, bob, cyd] });
    expect(req!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req!.headers.accept).toBe(ACCEPT);
    expect(req!.headers['content-type']).toBe(CONTENT_TYPE);
    expect(calls[0]!.tag).toBe('batch-1');
  });

  it('maps a 422 with pointers to own errors and batch errors', async () => {
    server = await startLocalServer(
      json(422, {
        errors: [
          { status: '422', title: 'Invalid participant', detail: 'email is not a valid email address', source: { pointer: batchPointer(1, 'email') } },
          { status: '422', title: 'Invalid participant', detail: 'is not a number', source: { pointer: '/participants/1/characteristics/ltv' } },
          { status: '422', title: 'Invalid participant', detail: 'is too long', source: { pointer: batchPointer(2, 'first_name') } },
        ],
      }),
    );
    const { ui } = uiClient(server.baseUrl);
    const results = await ui.batchUpsert([ann, bob, cyd]);
    expect(results).toEqual([
      { ok: false, own: false, code: 'REJECTED_WITH_BATCH', error: 'batch rejected: 2 other participant(s) invalid' },
      { ok: false, own: true, error: 'email: email is not a valid email address; characteristics.ltv: is not a number' },
      { ok: false, own: true, error: 'first_name: is too long' },
    ]);
    expect(server.requests).toHaveLength(1);
  });

  it('a 422 saying an id names no participant marks that row UNKNOWN_PARTICIPANT', async () => {
    server = await startLocalServer(
      json(422, {
        errors: [
          { status: '422', title: 'Invalid participant', detail: unknownParticipantDetail('41'), source: { pointer: batchPointer(0, 'id') } },
          { status: '422', title: 'Invalid participant', detail: 'id must be a participant id', source: { pointer: batchPointer(1, 'id') } },
        ],
      }),
    );
    const { ui } = uiClient(server.baseUrl);
    expect(await ui.batchUpsert([{ ...ann, id: '41' }, { ...cyd, id: 'x' }, bob])).toEqual([
      { ok: false, own: true, code: 'UNKNOWN_PARTICIPANT', error: `id: ${unknownParticipantDetail('41')}` },
      { ok: false, own: true, error: 'id: id must be a participant id' },
      { ok: false, own: false, code: 'REJECTED_WITH_BATCH', error: 'batch rejected: 2 other participant(s) invalid' },
    ]);
  });

  it('a 422 without usable pointers rejects every row as not its own', async () => {
    server = await startLocalServer(
      json(422, { errors: [{ status: '422', title: 'Invalid', detail: 'too many participants', source: { pointer: '/participants' } }] }),
    );
    const { ui } = uiClient(server.baseUrl);
    expect(await ui.batchUpsert([ann, cyd])).toEqual([
      { ok: false, own: false, code: 'REJECTED_WITH_BATCH', error: 'too many participants' },
      { ok: false, own: false, code: 'REJECTED_WITH_BATCH', error: 'too many participants' },
    ]);
  });

  it('other 4xx throw HTTP_REQUEST_REFUSED with the status, the detail and what to check: the request was refused as a whole', async () => {
    server = await startLocalServer(
      json(403, { errors: [{ status: '403', title: 'Forbidden', detail: 'plan does not allow the API' }] }),
      json(404),
      json(403, { errors: [{ status: '403', title: 'Forbidden', detail: `key ${KEY} lacks a scope` }] }),
    );
    const { ui } = uiClient(server.baseUrl);
    const forbidden = await ui.batchUpsert([ann, cyd]).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ code: 'HTTP_REQUEST_REFUSED', status: 403, retryable: false });
    expect((forbidden as Error).message).toMatch(/^PATCH \/participants\/batches was refused with HTTP 403: plan does not allow the API; check .*API key has permission/);
    const missing = await ui.batchUpsert([ann]).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'HTTP_REQUEST_REFUSED', status: 404 });
    expect((missing as Error).message).toMatch(/HTTP 404: no error detail; check .*base_url .*ending in \/api/);
    const echoed = await ui.batchUpsert([ann]).catch((e: unknown) => e);
    expect((echoed as Error).message).toContain('HTTP 403: key [REDACTED] lacks a scope');
    expect((echoed as Error).message).not.toContain(KEY);
    expect(server.requests).toHaveLength(3);
  });

  it('throws for a whole-batch failure (401) and a 200 that does not match the rows', async () => {
    server = await startLocalServer(json(401, { errors: [] }));
    const { ui } = uiClient(server.baseUrl);
    await expect(ui.batchUpsert([ann])).rejects.toMatchObject({ code: 'HTTP_UNAUTHORIZED' });
    server.script(json(200, { data: [resource('1', ann.email)] }));
    const error = await ui.batchUpsert([ann, cyd]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ code: 'HTTP_UNEXPECTED_RESPONSE' });
  });
});

describe('UserInterviewsClient single-participant endpoints', () => {
  it('createParticipant: 201 -> id; email taken -> ALREADY_EXISTS; other 422 -> own error', async () => {
    server = await startLocalServer(
      json(201, { data: resource('77', ann.email) }),
      json(422, { errors: [{ status: '422', title: 'Invalid participant', detail: EMAIL_TAKEN_DETAIL, source: { pointer: '/participant/email' } }] }),
      json(422, { errors: [{ status: '422', title: 'Invalid participant', detail: 'is too long', source: { pointer: '/participant/title' } }] }),
    );
    const { ui } = uiClient(server.baseUrl);
    expect(await ui.createParticipant(ann)).toEqual({ ok: true, id: '77' });
    expect(await ui.createParticipant(ann)).toEqual({
      ok: false,
      own: true,
      code: 'ALREADY_EXISTS',
      error: `already exists: ${EMAIL_TAKEN_DETAIL}`,
      earlierAttemptMayHaveApplied: false,
    });
    expect(await ui.createParticipant(cyd)).toEqual({ ok: false, own: true, error: 'title: is too long' });
    expect(server.requests[0]).toMatchObject({ method: 'POST', url: '/api/participants' });
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ participant: ann });
  });

  it('deleteParticipant: 204 and 404 are both ok, 403 is refused', async () => {
    server = await startLocalServer(json(204), json(404, { errors: [{ status: '404', title: 'Not found', detail: 'not found' }] }), json(403));
    const { ui } = uiClient(server.baseUrl);
    expect(await ui.deleteParticipant('8812')).toEqual({ ok: true, id: '8812' });
    expect(await ui.deleteParticipant('a/b')).toEqual({ ok: true, id: 'a/b' });
    await expect(ui.deleteParticipant('9')).rejects.toMatchObject({ code: 'HTTP_REQUEST_REFUSED', status: 403 });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'DELETE /api/participants/8812',
      'DELETE /api/participants/a%2Fb',
      'DELETE /api/participants/9',
    ]);
    expect(server.requests[0]!.headers['content-type']).toBeUndefined();
  });

  it('400, 409 and 422 on a create or a delete are that row\'s rejection with the API\'s error (secrets redacted); 403 and 404 on a create are refused', async () => {
    server = await startLocalServer(
      json(409, { errors: [{ status: '409', title: 'Conflict', detail: 'participant has an upcoming session' }] }),
      json(400, { errors: [{ status: '400', title: 'Bad request', detail: `malformed id for key ${KEY}` }] }),
      json(422),
      json(409, { errors: [{ status: '409', title: 'Conflict', detail: EMAIL_TAKEN_DETAIL, source: { pointer: '/participant/email' } }] }),
      json(400, { errors: [{ status: '400', title: 'Bad request', detail: 'is not a string', source: { pointer: '/participant/first_name' } }] }),
      json(403, { errors: [{ status: '403', title: 'Forbidden', detail: 'plan does not allow the API' }] }),
      json(404),
    );
    const { ui } = uiClient(server.baseUrl);
    expect(await ui.deleteParticipant('1')).toEqual({ ok: false, own: true, error: 'participant has an upcoming session' });
    expect(await ui.deleteParticipant('2')).toEqual({ ok: false, own: true, error: 'malformed id for key [REDACTED]' });
    expect(await ui.deleteParticipant('3')).toEqual({ ok: false, own: true, error: 'HTTP 422: rejected without details' });
    expect(await ui.createParticipant(ann)).toMatchObject({ ok: false, own: true, code: 'ALREADY_EXISTS' });
    expect(await ui.createParticipant(cyd)).toEqual({ ok: false, own: true, error: 'first_name: is not a string' });
    await expect(ui.createParticipant(cyd)).rejects.toMatchObject({ code: 'HTTP_REQUEST_REFUSED', status: 403 });
    await expect(ui.createParticipant(cyd)).rejects.toMatchObject({ code: 'HTTP_REQUEST_REFUSED', status: 404 });
  });

  it('listCharacteristics maps attributes', async () => {
    server = await startLocalServer(
      json(200, {
        data: [
          { id: '31', type: 'characteristic', attributes: { name: 'Lifetime value', slug: 'lifetime_value', type: 'number' } },
          { id: '32', type: 'characteristic', attributes: { name: 'Plan', slug: 'plan', type: 'text' } },
        ],
      }),
      json(200, { data: [{ id: '33', type: 'characteristic', attributes: { name: 'X', slug: 'x', type: 'geo' } }] }),
    );
    const { ui } = uiClient(server.baseUrl);
    expect(await ui.listCharacteristics()).toEqual([
      { slug: 'lifetime_value', name: 'Lifetime value', type: 'number' },
      { slug: 'plan', name: 'Plan', type: 'text' },
    ]);
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/api/characteristics' });
    await expect(ui.listCharacteristics()).rejects.toMatchObject({ code: 'HTTP_UNEXPECTED_RESPONSE' });
  });
});

describe('UserInterviewsClient.participants', () => {
  it('pages through every participant', async () => {
    const all = Array.from({ length: 5 }, (_, i) => resource(String(100 + i), `p${i}@example.com`));
    server = await startLocalServer((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      const size = Number(url.searchParams.get('page[size]'));
      const page = Number(url.searchParams.get('page[number]'));
      const data = all.slice((page - 1) * size, page * size);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data, meta: { pagination: { currentPage: page, hasMore: page * size < all.length } } }));
    });
    const { ui } = uiClient(server.baseUrl);
    const seen = [];
    for await (const p of ui.participants(2)) seen.push(p);
    expect(seen).toEqual(all.map((r) => ({ id: r.id, email: r.attributes.email })));
    expect(server.requests.map((r) => r.url)).toEqual([
      '/api/participants?page%5Bsize%5D=2&page%5Bnumber%5D=1',
      '/api/participants?page%5Bsize%5D=2&page%5Bnumber%5D=2',
      '/api/participants?page%5Bsize%5D=2&page%5Bnumber%5D=3',
    ]);
    expect(server.requests[0]!.headers.accept).toBe(ACCEPT);
  });

  it('listParticipantsPage validates the page size', async () => {
    const { ui } = uiClient('http://127.0.0.1:9/api');
    await expect(ui.listParticipantsPage(1, 201)).rejects.toThrow(RangeError);
    await expect(ui.listParticipantsPage(0)).rejects.toThrow(RangeError);
  });
});

describe('UserInterviewsClient against the emulator', () => {
  const dee = { email: 'dee@example.com', first_name: 'Dee' };

  async function emulatorClient() {
    emulator = await startEmulator({ port: 0, apiKeys: [KEY] });
    return uiClient(emulator.apiUrl);
  }

  async function setKnobs(knobs: Record<string, unknown>) {
    const res = await fetch(`${emulator!.url}/_emulator/knobs`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(knobs),
    });
    expect(res.status).toBe(200);
  }

  for (const { earlier, knobs, statuses, applied } of [
    { earlier: 'a 429', knobs: { fail_next: [{ status: 429, retry_after: 0 }] }, statuses: [429, 422], applied: false },
    { earlier: 'a 503', knobs: { fail_next: [{ status: 503 }] }, statuses: [503, 422], applied: true },
    { earlier: 'a dropped connection', knobs: { fail_next: [{ drop: true }] }, statuses: [null, 422], applied: true },
    { earlier: 'a create applied, then its connection dropped', knobs: { apply_then_drop_next: 1 }, statuses: [null, 422], applied: true },
  ]) {
    it(`createParticipant: ALREADY_EXISTS after ${earlier} says whether an earlier attempt may have been applied: ${applied}`, async () => {
      const { ui, calls } = await emulatorClient();
      // Unless the first attempt is the one applied, the email is taken beforehand (by someone else).
      if (!('apply_then_drop_next' in knobs)) expect(await ui.createParticipant(dee)).toMatchObject({ ok: true });
      await setKnobs(knobs);
      const before = calls.length;
      expect(await ui.createParticipant(dee)).toEqual({
        ok: false,
        own: true,
        code: 'ALREADY_EXISTS',
        error: `already exists: ${EMAIL_TAKEN_DETAIL}`,
        earlierAttemptMayHaveApplied: applied,
      });
      expect(calls.slice(before).map((c) => c.status)).toEqual(statuses);
    });
  }

  it('batchUpsert: an id the emulator does not know is UNKNOWN_PARTICIPANT, and nothing of the batch is written', async () => {
    const { ui } = await emulatorClient();
    const [created] = await ui.batchUpsert([dee]);
    expect(created).toMatchObject({ ok: true });
    const id = (created as { id: string }).id;
    expect(await ui.deleteParticipant(id)).toEqual({ ok: true, id });
    expect(await ui.batchUpsert([{ ...dee, id }, cyd])).toEqual([
      { ok: false, own: true, code: 'UNKNOWN_PARTICIPANT', error: `id: participant ${id} does not exist (it may have been deleted)` },
      { ok: false, own: false, code: 'REJECTED_WITH_BATCH', error: 'batch rejected: 1 other participant(s) invalid' },
    ]);
    const all = [];
    for await (const p of ui.participants()) all.push(p);
    expect(all).toEqual([]);
  });
});
