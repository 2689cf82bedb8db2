import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiErrorResponse, ListCharacteristicsResponse } from '../../src/destinations/user-interviews/wire.ts';
import { DEFAULT_KNOBS, type EmulatorKnobs } from '../../src/emulator/emulator-knobs.ts';
import type { ParticipantSnapshot } from '../../src/emulator/emulator-state.ts';
import { startEmulatorFixture, type EmulatorFixture } from './emulator-fixture.ts';

let fx: EmulatorFixture;

beforeAll(async () => {
  fx = await startEmulatorFixture({ apiKeys: ['key-a', 'key-b'], characteristics: [{ slug: 'plan', type: 'text' }] });
});
afterAll(() => fx.close());
beforeEach(async () => {
  const { fail_next: _, ...defaults } = DEFAULT_KNOBS;
  await fx.control('PATCH', '/knobs', { ...defaults, fail_next: [] });
  await fx.control('POST', '/reset');
});

const asKey = (key: string) => ({ authorization: `Bearer ${key}` });
const write = (email: string, key = 'key-a') => fx.api('PATCH', '/participants/batches', { participants: [{ email }] }, asKey(key));
const list = (key = 'key-a') => fx.api('GET', '/characteristics', undefined, asKey(key));
const state = async () => ((await fx.control('GET', '/state')) as { participants: ParticipantSnapshot[] }).participants;

describe('rate limit', () => {
  it('answers 429 with Retry-After in whole seconds once a key used its budget, per key, and recovers', async () => {
    await fx.control('PATCH', '/knobs', { rate_limit: 2 });
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);
    const limited = await list();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await limited.json()) as ApiErrorResponse).errors[0]?.status).toBe('429');
    expect((await list('key-b')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await list()).status).toBe(200);
  });

  it('sends rate-limit headers of the style rate_limit_headers asks for, on answers and on 429s', async () => {
    await fx.control('PATCH', '/knobs', { rate_limit: 2, rate_limit_headers: 'ratelimit' });
    const first = await list();
    expect(first.status).toBe(200);
    expect(Object.fromEntries([...first.headers].filter(([name]) => name.startsWith('ratelimit-')))).toEqual({
      'ratelimit-limit': '2',
      'ratelimit-remaining': '1',
      'ratelimit-reset': '1',
      'ratelimit-policy': '2;w=1',
    });
    await list();
    const limited = await list();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    await fx.control('PATCH', '/knobs', { rate_limit_headers: 'x-ratelimit' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const x = await list('key-b');
    expect(x.headers.get('x-ratelimit-limit')).toBe('2');
    expect(x.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(Number(x.headers.get('x-ratelimit-reset')) - Date.now() / 1000).toBeGreaterThan(0);
    expect(Number(x.headers.get('x-ratelimit-reset')) - Date.now() / 1000).toBeLessThanOrEqual(2);
    expect(x.headers.get('ratelimit-limit')).toBeNull();
    await fx.control('PATCH', '/knobs', { rate_limit_headers: 'none' });
    expect([...(await list('key-b')).headers.keys()].filter((name) => name.includes('ratelimit'))).toEqual([]);
  });
});

describe('deterministic faults', () => {
  it('consumes fail_next in order: 500, 429 with Retry-After, a dropped connection, then normal service', async () => {
    await fx.control('PATCH', '/knobs', { fail_next: [{ status: 500 }, { status: 429, retry_after: 3 }, { drop: true }] });
    const first = await write('a@example.com');
    expect(first.status).toBe(500);
    expect(((await first.json()) as ApiErrorResponse).errors[0]?.status).toBe('500');
    const second = await write('a@example.com');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('3');
    await expect(write('a@example.com')).rejects.toThrow(TypeError);
    expect(await state()).toEqual([]);
    expect((await write('a@example.com')).status).toBe(200);
    expect((await state()).map((p) => p.email)).toEqual(['a@example.com']);
  });

  it('apply_then_drop_next applies the write, then drops the connection (reads are not affected)', async () => {
    await fx.control('PATCH', '/knobs', { apply_then_drop_next: 1 });
    expect((await list()).status).toBe(200);
    await expect(write('applied@example.com')).rejects.toThrow(TypeError);
    expect((await state()).map((p) => p.email)).toEqual(['applied@example.com']);
    expect(((await fx.control('GET', '/knobs')) as EmulatorKnobs).apply_then_drop_next).toBe(0);
    expect((await write('next@example.com')).status).toBe(200);
  });

  it('a slow fault outlasts a client timeout but the write is still applied', async () => {
    await fx.control('PATCH', '/knobs', { fail_next: [{ slow_ms: 400 }] });
    const started = Date.now();
    await expect(
      fetch(`${fx.emulator.apiUrl}/participants/batches`, {
        method: 'PATCH',
        headers: { ...asKey('key-a'), accept: 'application/vnd.user-interviews.v2', 'content-type': 'application/vnd.user-interviews.v2+json' },
        body: JSON.stringify({ participants: [{ email: 'late@example.com' }] }),
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(350);
    expect(await state()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await state()).map((p) => p.email)).toEqual(['late@example.com']);
  });

  it('adds latency_ms to every API response', async () => {
    await fx.control('PATCH', '/knobs', { latency_ms: 150 });
    const started = Date.now();
    expect((await list('wrong-key')).status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('random faults', () => {
  it('fails about fault_rate of requests with the same sequence for the same seed', async () => {
    const run = async () => {
      await fx.control('PATCH', '/knobs', { fault_rate: 0.5, fault_kinds: ['500', '429'], seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i += 1) statuses.push((await list()).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first).toContain(200);
    expect(first).toContain(500);
    expect(first).toContain(429);
    const failed = first.filter((s) => s !== 200).length;
    expect(failed).toBeGreaterThan(8);
    expect(failed).toBeLessThan(32);
    await fx.control('PATCH', '/knobs', { seed: 7 });
    const other: number[] = [];
    for (let i = 0; i < 40; i += 1) other.push((await list()).status);
    expect(other).not.toEqual(first);
  });

  it('drops connections when drop is among the fault kinds', async () => {
    await fx.control('PATCH', '/knobs', { fault_rate: 1, fault_kinds: ['drop'] });
    await expect(list()).rejects.toThrow(TypeError);
  });

  it('refuses invalid knobs with a 400 naming the knob', async () => {
    const response = await fetch(`${fx.emulator.url}/_emulator/knobs`, { method: 'PATCH', body: JSON.stringify({ fault_rate: 1.5, nope: 1 }) });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain('knobs.fault_rate');
    expect(text).toContain('nope');
  });
});

describe('stats and reset', () => {
  it('counts every API request by route, whatever its status, with ids replaced and no query string', async () => {
    await write('a@example.com');
    await write('b@example.com');
    await fx.api('GET', '/participants?page%5Bsize%5D=10', undefined, asKey('key-a'));
    await fx.api('GET', '/participants', undefined, asKey('wrong'));
    await fx.api('DELETE', '/participants/1', undefined, asKey('key-a'));
    await fx.api('DELETE', '/participants/77', undefined, asKey('key-a'));
    await fx.api('GET', '/nowhere/12', undefined, asKey('key-a'));
    await fx.control('GET', '/state');
    expect(await fx.control('GET', '/stats')).toEqual({
      total: 7,
      by_route: {
        'PATCH /api/participants/batches': 2,
        'GET /api/participants': 2,
        'DELETE /api/participants/{id}': 2,
        'GET /api/nowhere/{id}': 1,
      },
      by_status: { '200': 3, '401': 1, '404': 3 },
    });
  });

  it('reset clears participants and counters but keeps characteristics, knobs and the id counter', async () => {
    await fx.control('POST', '/characteristics', { characteristics: [{ slug: 'seats', type: 'number' }] });
    await fx.control('PATCH', '/knobs', { max_batch: 7 });
    const before = await write('a@example.com');
    const oldId = Number(((await before.json()) as { data: { id: string }[] }).data[0]?.id);
    await fx.control('POST', '/reset');
    expect(await state()).toEqual([]);
    expect(await fx.control('GET', '/stats')).toEqual({ total: 0, by_route: {}, by_status: {} });
    expect(((await fx.control('GET', '/knobs')) as EmulatorKnobs).max_batch).toBe(7);
    const characteristics = (await (await list()).json()) as ListCharacteristicsResponse;
    expect(characteristics.data.map((c) => c.attributes.slug)).toEqual(['plan', 'seats']);
    // A real API never hands out an id twice: a client holding the old id must not find another person.
    const recreated = await write('b@example.com');
    expect(Number(((await recreated.json()) as { data: { id: string }[] }).data[0]?.id)).toBe(oldId + 1);
    expect((await fx.api('DELETE', `/participants/${oldId}`, undefined, asKey('key-a'))).status).toBe(404);
  });
});

describe('the README', () => {
  it('documents PATCH /_emulator/knobs with every knob and its default', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## The emulator'), readme.indexOf('## Development'));
    expect(section).toContain('PATCH /_emulator/knobs');
    const documented = Object.fromEntries([...section.matchAll(/^\| `(\w+)` \| `([^`]*)` \|/gm)].map((m) => [m[1], m[2]]));
    const knobs = (await fx.control('GET', '/knobs')) as EmulatorKnobs;
    expect(Object.keys(documented).sort()).toEqual(Object.keys(knobs).sort());
    for (const [knob, value] of Object.entries(DEFAULT_KNOBS)) expect(JSON.parse(documented[knob]!), knob).toEqual(value);
  });
});
