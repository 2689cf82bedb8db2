/**
 * Review 2: a plain run that finishes an unfinished `--reset-cdc` skips the destination and
 * identity checks (it runs with resetCdc: true, which replaces the snapshot on a change).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { runProject as run } from '../helpers/run-helpers.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/start-emulator.ts';
import { TEST_API_KEY } from '../helpers/chinook-project.ts';
import { peopleProjectPerTest } from '../engine/people-project.ts';
import { planSync } from '../../src/engine/plan-sync.ts';
import { SYNC } from '../helpers/run-helpers.ts';

const start = peopleProjectPerTest();
let other: RunningEmulator | undefined;
afterEach(async () => {
  await other?.close();
  other = undefined;
});

describe('an unfinished --reset-cdc, then the sync pointed at another destination', () => {
  it('the next plain run stops with DESTINATION_CHANGED (as plan says), it does not record the rows as in the new panel', async () => {
    const p = await start({ rows: 3, destination: { max_attempts: 1 } });
    await run(p);
    // A --reset-cdc that fails on its directory read.
    await p.knobs({ fail_next: [{ status: 500 }] });
    expect((await run(p, { resetCdc: true })).summary.status).toBe('failed');
    // The sync now points at another (empty) panel.
    other = await startEmulator({ apiKeys: [TEST_API_KEY] });
    const file = join(p.dir, 'panelsync.yml');
    const yml = parse(readFileSync(file, 'utf8'));
    yml.destinations.panel.base_url = other.apiUrl;
    writeFileSync(file, stringify(yml));
    const plan = await planSync({ project: await p.load(), sync: SYNC });
    expect(plan.refused?.code).toBe('DESTINATION_CHANGED');
    const { summary } = await run(p);
    if (summary.status !== 'failed') {
      // It went on: the snapshot claims 3 rows acknowledged by the new panel; does the new panel hold them?
      const res = await fetch(`${other.apiUrl}/participants`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}`, accept: 'application/vnd.user-interviews.v2' },
      });
      const held = ((await res.json()) as { data: unknown[] }).data.length;
      expect({ status: summary.status, snapshotRows: p.snapshot().size, newPanelParticipants: held }).toEqual({
        status: 'failed', snapshotRows: 3, newPanelParticipants: 0,
      });
    }
    expect(summary.error ?? '').toMatch(/destination/);
  });
});

describe('an unfinished --reset-cdc, then the model’s primary key changed', () => {
  it('the next plain run stops with IDENTITY_CHANGED, as plan says it will', async () => {
    const p = await start({ rows: 3, destination: { max_attempts: 1 } });
    await run(p);
    await p.knobs({ fail_next: [{ status: 500 }] });
    expect((await run(p, { resetCdc: true })).summary.status).toBe('failed');
    // The primary key becomes another column (values that overlap the old keys).
    p.writeModel(
      `SELECT 4 - id AS Num, id AS CustomerId, email AS Email, first_name AS FirstName, last_name AS LastName FROM people ORDER BY id`,
      'Num',
    );
    const plan = await planSync({ project: await p.load(), sync: SYNC });
    expect(plan.refused?.code).toBe('IDENTITY_CHANGED');
    const { summary } = await run(p);
    expect(summary.error ?? '').toMatch(/identity/);
  });
});
