/**
 * The emulator's per-email write counts (`GET /_emulator/writes`), which the engine tests use to
 * prove that no acknowledged row is sent twice.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulatorFixture, type EmulatorFixture } from './emulator-fixture.ts';

let fx: EmulatorFixture;
beforeAll(async () => {
  fx = await startEmulatorFixture({ rejectEmailPattern: '^bad@' });
});
afterAll(() => fx.close());

const writes = async () => ((await fx.control('GET', '/writes')) as { by_email: Record<string, number> }).by_email;

it('counts every applied write per normalized email, nothing for a rejected batch, and resets', async () => {
  expect(await writes()).toEqual({});
  await fx.api('PATCH', '/participants/batches', { participants: [{ email: 'Ann@Example.com' }, { email: 'bob@example.com' }] });
  await fx.api('PATCH', '/participants/batches', { participants: [{ email: ' ann@example.com ', first_name: 'Ann' }] });
  expect((await fx.api('PATCH', '/participants/batches', { participants: [{ email: 'bob@example.com' }, { email: 'bad@example.com' }] })).status).toBe(422);
  expect((await fx.api('POST', '/participants', { participant: { email: 'cy@example.com' } })).status).toBe(201);
  expect((await fx.api('POST', '/participants', { participant: { email: 'CY@example.com' } })).status).toBe(422);
  expect(await writes()).toEqual({ 'ann@example.com': 2, 'bob@example.com': 1, 'cy@example.com': 1 });

  // An email change counts under the new email; a delete counts as a write.
  await fx.api('PATCH', '/participants/batches', { participants: [{ id: '2', email: 'robert@example.com' }] });
  expect((await fx.api('DELETE', '/participants/3')).status).toBe(204);
  expect(await writes()).toEqual({ 'ann@example.com': 2, 'bob@example.com': 1, 'robert@example.com': 1, 'cy@example.com': 2 });

  await fx.control('POST', '/reset');
  expect(await writes()).toEqual({});
});
