import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCEPT,
  EMAIL_TAKEN_DETAIL,
  batchPointer,
  pageQuery,
  type ApiErrorResponse,
  type BatchUpsertResponse,
  type CreateParticipantResponse,
  type ListCharacteristicsResponse,
  type ListParticipantsResponse,
} from '../../src/destinations/user-interviews/wire.ts';
import type { ParticipantSnapshot } from '../../src/emulator/emulator-state.ts';
import { createEmulatorApp, EmulatorOptionsError } from '../../src/emulator/create-emulator-app.ts';
import { startEmulatorFixture, type EmulatorFixture } from './emulator-fixture.ts';

let fx: EmulatorFixture;

// A new emulator for each test: ids are never reused, not even across `POST /_emulator/reset`, and
// the tests below name participants by the ids a fresh panel hands out (1, 2, …).
beforeEach(async () => {
  await fx?.close();
  fx = await startEmulatorFixture({
    apiKeys: ['demo-key', 'sandbox:sbx-key', 'production:prod-key'],
    characteristics: [
      { slug: 'plan', type: 'text' },
      { slug: 'ltv', type: 'number', name: 'Lifetime value' },
      { slug: 'signed_up', type: 'date' },
      { slug: 'beta', type: 'boolean' },
    ],
  });
});
afterAll(() => fx?.close());

const batch = (participants: unknown[]) => fx.api('PATCH', '/participants/batches', { participants });
const state = async () => ((await fx.control('GET', '/state')) as { participants: ParticipantSnapshot[] }).participants;

describe('auth and headers', () => {
  it('answers 401 with an errors body for a missing, wrong or other-environment key, and never echoes the key', async () => {
    for (const authorization of ['', 'Bearer nope-secret', 'Bearer prod-key', 'demo-key']) {
      const response = await fx.api('GET', '/characteristics', undefined, { authorization });
      expect(response.status).toBe(401);
      const body = (await response.json()) as ApiErrorResponse;
      expect(body.errors[0]?.status).toBe('401');
      expect(JSON.stringify(body)).not.toContain('nope-secret');
    }
    expect((await fx.api('GET', '/characteristics', undefined, { authorization: 'Bearer sbx-key' })).status).toBe(200);
  });

  it('requires the version Accept header (406) and the version Content-Type on bodies (415)', async () => {
    const noAccept = await fx.api('GET', '/participants', undefined, { accept: 'application/json' });
    expect(noAccept.status).toBe(406);
    expect(((await noAccept.json()) as ApiErrorResponse).errors[0]?.detail).toContain(ACCEPT);
    const listed = await fx.api('GET', '/participants', undefined, { accept: `application/json, ${ACCEPT}` });
    expect(listed.status).toBe(200);
    const plainJson = await fx.api('PATCH', '/participants/batches', { participants: [] }, { 'content-type': 'application/json' });
    expect(plainJson.status).toBe(415);
    expect(await state()).toEqual([]);
  });

  it('answers 404 with an errors body for unknown API routes', async () => {
    for (const [method, path] of [['GET', '/nothing'], ['PUT', '/participants'], ['DELETE', '/participants/batches']] as const) {
      const response = await fx.api(method, path);
      expect(response.status).toBe(404);
      expect(((await response.json()) as ApiErrorResponse).errors).toHaveLength(1);
    }
  });
});

describe('PATCH /participants/batches', () => {
  it('creates unknown emails with increasing ids and returns data in request order', async () => {
    const response = await batch([
      { email: 'ann@example.com', first_name: 'Ann', characteristics: { plan: 'pro', ltv: 12.5 } },
      { email: 'bob@example.com', last_name: 'Bell', characteristics: { signed_up: '2024-02-29', beta: false } },
    ]);
    expect(response.status).toBe(200);
    const body = (await response.json()) as BatchUpsertResponse;
    expect(body.data.map((p) => [p.id, p.type, p.attributes.email])).toEqual([
      ['1', 'participant', 'ann@example.com'],
      ['2', 'participant', 'bob@example.com'],
    ]);
    expect(body.data[0]?.attributes).toMatchObject({ firstName: 'Ann', lastName: null, characteristics: { plan: 'pro', ltv: 12.5 } });
    expect(body.data[1]?.attributes.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const stored = await state();
    expect(stored.map((p) => p.id)).toEqual(['1', '2']);
    expect(stored[1]).toMatchObject({ email: 'bob@example.com', last_name: 'Bell', first_name: null, characteristics: { signed_up: '2024-02-29', beta: false } });
  });

  it('matches emails case-insensitively ignoring spaces; absent keys stay, null clears', async () => {
    await batch([{ email: 'ann@example.com', first_name: 'Ann', last_name: 'Lee', characteristics: { plan: 'pro', ltv: 3 } }]);
    const response = await batch([{ email: '  ANN@Example.com ', last_name: null, city: 'Oslo', characteristics: { plan: null, ltv: 4 } }]);
    expect(response.status).toBe(200);
    const [updated] = ((await response.json()) as BatchUpsertResponse).data;
    expect(updated?.id).toBe('1');
    const stored = await state();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ first_name: 'Ann', last_name: null, city: 'Oslo', characteristics: { ltv: 4 } });
    expect(stored[0]?.characteristics).not.toHaveProperty('plan');
  });

  it('treats two entries with the same email in one batch as sequential writes', async () => {
    const response = await batch([
      { email: 'ann@example.com', first_name: 'Ann' },
      { email: 'Ann@example.com', last_name: 'Lee' },
    ]);
    const { data } = (await response.json()) as BatchUpsertResponse;
    expect(data.map((p) => p.id)).toEqual(['1', '1']);
    expect(data[0]?.attributes.lastName).toBeNull();
    expect(data[1]?.attributes).toMatchObject({ firstName: 'Ann', lastName: 'Lee' });
    expect(await state()).toHaveLength(1);
  });

  it('rejects the whole batch with one pointer per offending participant and writes nothing', async () => {
    await batch([{ email: 'kept@example.com', first_name: 'Kept' }]);
    const response = await batch([
      { email: 'ok@example.com' },
      { email: 'not-an-email' },
      { first_name: 'No email' },
      { email: 'long@example.com', company: 'x'.repeat(256) },
      { email: 'unknown@example.com', favourite_color: 'blue' },
      { email: 'kept@example.com', first_name: 'Changed', phone_number: 5 },
      { email: 'ok2@example.com', company: 'y'.repeat(255), title: '𝒳'.repeat(255) },
    ]);
    expect(response.status).toBe(422);
    const { errors } = (await response.json()) as ApiErrorResponse;
    expect(errors.map((e) => e.source?.pointer)).toEqual([
      batchPointer(1, 'email'),
      batchPointer(2, 'email'),
      batchPointer(3, 'company'),
      batchPointer(4, 'favourite_color'),
      batchPointer(5, 'phone_number'),
    ]);
    expect(errors.every((e) => e.status === '422')).toBe(true);
    expect(errors[0]?.detail).toBe('email is not a valid email address');
    const stored = await state();
    expect(stored).toHaveLength(1);
    expect(stored[0]?.first_name).toBe('Kept');
  });

  it('types characteristics: unknown slugs and wrong types are rejected, null clears', async () => {
    const cases: [unknown, string | null][] = [
      [{ plan: 'pro' }, null],
      [{ plan: 3 }, 'plan'],
      [{ ltv: 3.5 }, null],
      [{ ltv: '3.5' }, 'ltv'],
      [{ ltv: null }, null],
      [{ signed_up: '2024-02-29' }, null],
      [{ signed_up: '2023-02-29' }, 'signed_up'],
      [{ signed_up: '2024-1-2' }, 'signed_up'],
      [{ signed_up: '2024-01-02T00:00:00Z' }, 'signed_up'],
      [{ beta: true }, null],
      [{ beta: 'true' }, 'beta'],
      [{ nope: 'x' }, 'nope'],
      [[], ''],
    ];
    for (const [characteristics, badSlug] of cases) {
      const response = await batch([{ email: 'ann@example.com', characteristics }]);
      if (badSlug === null) {
        expect(response.status, JSON.stringify(characteristics)).toBe(200);
      } else {
        expect(response.status, JSON.stringify(characteristics)).toBe(422);
        const [error] = ((await response.json()) as ApiErrorResponse).errors;
        expect(error?.source?.pointer).toBe(badSlug === '' ? batchPointer(0, 'characteristics') : batchPointer(0, `characteristics/${badSlug}`));
      }
    }
  });

  it('rejects emails matching the reject pattern as not deliverable, case-insensitively', async () => {
    await fx.control('PATCH', '/knobs', { reject_email_pattern: '@bounce\\.test$' });
    const response = await batch([{ email: 'fine@example.com' }, { email: 'Gone@BOUNCE.test' }]);
    expect(response.status).toBe(422);
    const { errors } = (await response.json()) as ApiErrorResponse;
    expect(errors).toEqual([
      { status: '422', title: 'Invalid participant', detail: 'email is not deliverable', source: { pointer: batchPointer(1, 'email') } },
    ]);
    expect(await state()).toEqual([]);
  });

  it('refuses more than max_batch participants', async () => {
    const participants = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `p${i}@example.com` }));
    expect((await batch(participants(101))).status).toBe(422);
    expect((await batch(participants(100))).status).toBe(200);
    await fx.control('PATCH', '/knobs', { max_batch: 3 });
    const response = await batch(participants(4));
    expect(response.status).toBe(422);
    expect(((await response.json()) as ApiErrorResponse).errors[0]?.detail).toContain('at most 3');
    expect(await state()).toHaveLength(100);
  });

  it('updates by id: changes the email, refuses unknown ids and emails taken by another participant', async () => {
    await batch([{ email: 'old@example.com', first_name: 'Old' }, { email: 'other@example.com' }]);
    const moved = await batch([{ id: '1', email: 'new@example.com', last_name: 'Moved' }]);
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as BatchUpsertResponse).data[0]).toMatchObject({ id: '1', attributes: { email: 'new@example.com', firstName: 'Old' } });
    // The old email is free again: writing it creates a new participant.
    const reused = await batch([{ email: 'OLD@example.com' }, { email: 'new@example.com', title: 'Dr' }]);
    expect(((await reused.json()) as BatchUpsertResponse).data.map((p) => p.id)).toEqual(['3', '1']);

    const refused = await batch([{ id: '999', email: 'x@example.com' }, { id: '1', email: 'Other@example.com' }, { id: 1, email: 'y@example.com' }]);
    expect(refused.status).toBe(422);
    const { errors } = (await refused.json()) as ApiErrorResponse;
    expect(errors.map((e) => [e.source?.pointer, e.detail])).toEqual([
      [batchPointer(0, 'id'), expect.stringContaining('does not exist')],
      [batchPointer(1, 'email'), EMAIL_TAKEN_DETAIL],
      [batchPointer(2, 'id'), expect.stringContaining('id must be')],
    ]);
    expect((await state()).map((p) => p.email)).toEqual(['new@example.com', 'other@example.com', 'OLD@example.com']);
  });

  it('swaps emails in one batch as sequential writes allow, and refuses a swap that collides', async () => {
    await batch([{ email: 'a@example.com' }, { email: 'b@example.com' }]);
    const collide = await batch([{ id: '1', email: 'b@example.com' }]);
    expect(collide.status).toBe(422);
    const swap = await batch([
      { id: '1', email: 'tmp@example.com' },
      { id: '2', email: 'a@example.com' },
      { id: '1', email: 'b@example.com' },
    ]);
    expect(swap.status).toBe(200);
    expect((await state()).map((p) => [p.id, p.email])).toEqual([
      ['1', 'b@example.com'],
      ['2', 'a@example.com'],
    ]);
  });

  it('answers 400 for a body that is not JSON and 422 for a body without participants', async () => {
    const notJson = await fetch(`${fx.emulator.apiUrl}/participants/batches`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer demo-key', accept: ACCEPT, 'content-type': 'application/vnd.user-interviews.v2+json' },
      body: '{"participants": [',
    });
    expect(notJson.status).toBe(400);
    expect((await fx.api('PATCH', '/participants/batches', { people: [] })).status).toBe(422);
  });
});

describe('other participant routes', () => {
  it('pages GET /participants by id ascending, default 25, at most 200', async () => {
    for (let start = 0; start < 260; start += 100) {
      await batch(Array.from({ length: Math.min(100, 260 - start) }, (_, i) => ({ email: `p${start + i}@example.com` })));
    }
    expect((await fx.api('DELETE', '/participants/2')).status).toBe(204);
    const first = (await (await fx.api('GET', '/participants')).json()) as ListParticipantsResponse;
    expect(first.data).toHaveLength(25);
    expect(first.data.slice(0, 3).map((p) => p.id)).toEqual(['1', '3', '4']);
    expect(first.meta.pagination).toEqual({ currentPage: 1, hasMore: true });
    const last = (await (await fx.api('GET', `/participants?${pageQuery(200, 2)}`)).json()) as ListParticipantsResponse;
    expect(last.data.map((p) => p.id)).toEqual(Array.from({ length: 59 }, (_, i) => String(202 + i)));
    expect(last.meta.pagination).toEqual({ currentPage: 2, hasMore: false });
    const beyond = (await (await fx.api('GET', `/participants?${pageQuery(200, 3)}`)).json()) as ListParticipantsResponse;
    expect(beyond.data).toEqual([]);
    for (const query of [pageQuery(201, 1), pageQuery(0, 1), pageQuery(10, 0), 'page[size]=abc']) {
      expect((await fx.api('GET', `/participants?${query}`)).status, query).toBe(422);
    }
  });

  it('POST /participants creates (201) and refuses an existing email with EMAIL_TAKEN_DETAIL', async () => {
    const created = await fx.api('POST', '/participants', { participant: { email: 'ann@example.com', first_name: 'Ann', characteristics: { beta: true } } });
    expect(created.status).toBe(201);
    expect(((await created.json()) as CreateParticipantResponse).data).toMatchObject({ id: '1', attributes: { firstName: 'Ann', characteristics: { beta: true } } });
    const taken = await fx.api('POST', '/participants', { participant: { email: ' ANN@example.com', first_name: 'Other' } });
    expect(taken.status).toBe(422);
    expect(((await taken.json()) as ApiErrorResponse).errors[0]).toMatchObject({ detail: EMAIL_TAKEN_DETAIL, source: { pointer: '/participant/email' } });
    const withId = await fx.api('POST', '/participants', { participant: { id: '1', email: 'z@example.com' } });
    expect(withId.status).toBe(422);
    const stored = await state();
    expect(stored).toHaveLength(1);
    expect(stored[0]?.first_name).toBe('Ann');
  });

  it('DELETE /participants/{id} answers 204, then 404; the email can be created again', async () => {
    await batch([{ email: 'ann@example.com' }]);
    expect((await fx.api('DELETE', '/participants/1')).status).toBe(204);
    const again = await fx.api('DELETE', '/participants/1');
    expect(again.status).toBe(404);
    expect(((await again.json()) as ApiErrorResponse).errors[0]?.status).toBe('404');
    expect((await fx.api('DELETE', '/participants/abc')).status).toBe(404);
    const recreated = (await (await batch([{ email: 'ann@example.com' }])).json()) as BatchUpsertResponse;
    expect(recreated.data[0]?.id).toBe('2');
  });

  it('lists and redefines characteristics', async () => {
    const listed = (await (await fx.api('GET', '/characteristics')).json()) as ListCharacteristicsResponse;
    expect(listed.data.map((c) => [c.id, c.attributes.slug, c.attributes.type])).toEqual([
      ['1', 'plan', 'text'],
      ['2', 'ltv', 'number'],
      ['3', 'signed_up', 'date'],
      ['4', 'beta', 'boolean'],
    ]);
    expect(listed.data[1]?.attributes.name).toBe('Lifetime value');
    await fx.control('POST', '/characteristics', { characteristics: [{ slug: 'seats', type: 'number' }] });
    expect((await batch([{ email: 'ann@example.com', characteristics: { seats: 5 } }])).status).toBe(200);
    const bad = await fetch(`${fx.emulator.url}/_emulator/characteristics`, {
      method: 'POST',
      body: JSON.stringify({ characteristics: [{ slug: 'x', type: 'money' }] }),
    });
    expect(bad.status).toBe(400);
  });
});

describe('createEmulatorApp without a socket', () => {
  it('serves app.request and refuses invalid options', async () => {
    const app = createEmulatorApp({ apiKeys: ['k1'] });
    const response = await app.request('/api/characteristics', { headers: { authorization: 'Bearer k1', accept: ACCEPT } });
    expect(response.status).toBe(200);
    expect(() => createEmulatorApp({ faultRate: 2 })).toThrow(EmulatorOptionsError);
    expect(() => createEmulatorApp({ rejectEmailPattern: '(' })).toThrow(/reject_email_pattern/);
    expect(() => createEmulatorApp({ apiKeys: ['sandbox:'] })).toThrow(/empty/);
  });
});
