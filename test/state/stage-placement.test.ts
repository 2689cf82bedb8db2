/**
 * Where a stage is written and diffed does not change its plan: in the calling thread (the whole
 * diff after the last row), by a stage worker from the first row, or by a worker taking over after
 * 1, 2 or 3 rows (it joins those, then each slice as it is written: the eager diff, unless writes
 * are in doubt or the plan is a full resync). Generated snapshots and models, with repeated keys
 * across slices, invalid rows, emails shared in the model and in the snapshot, an email differing
 * from its key, resend marks, writes in doubt, full resyncs and removed rows. Compared: the counts,
 * every planned row, the invalid rows and their reasons, and the mass-delete guard's count of
 * removed rows whose participant another key takes. Also when the rows come as model rows that the
 * worker maps itself. `STAGE_PLACEMENT_RUNS` runs more cases.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import type { Row } from '../../src/sources/source.ts';
import type { StagedRow } from '../../src/state/state-store.ts';
import { stagedRowsAsModel } from './fixtures/staged-rows-as-model.ts';

const LAYOUT = ['{"city":', '}'];
const PKS = ['1', '2', '3', '4', '5', '6', '7'];
const EMAILS = ['a@x.io', 'b@x.io', 'c@x.io', 'd@x.io'];
const CITIES = ['"Oslo"', '"Rome"'];

const snapshotRow = fc.record({
  pk: fc.constantFrom(...PKS),
  emailKey: fc.constantFrom(...EMAILS),
  values: fc.constantFrom(...CITIES),
  participantId: fc.option(fc.constantFrom('p1', 'p2', 'p3', 'p4', 'p5'), { nil: null, freq: 3 }),
  resend: fc.constantFrom(0, 0, 0, 1),
});

const stagedRow: fc.Arbitrary<StagedRow> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ pk: fc.constantFrom(...PKS), emailKey: fc.constantFrom(...EMAILS), upper: fc.boolean(), values: fc.constantFrom(...CITIES) }).map(
    ({ pk, emailKey, upper, values }): StagedRow => ({ ok: true, pk, email: upper ? emailKey.toUpperCase() : emailKey, emailKey, values }),
  ) },
  { weight: 1, arbitrary: fc.option(fc.constantFrom(...PKS), { nil: null }).map((pk): StagedRow => ({ ok: false, pk, reason: 'bad value' })) },
);

const scenario = fc.record({
  snapshot: fc.uniqueArray(snapshotRow, { selector: (row) => row.pk, maxLength: PKS.length }),
  rows: fc.array(stagedRow, { minLength: 1, maxLength: 14 }),
  sliceSizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 14, maxLength: 14 }),
  inDoubt: fc.uniqueArray(fc.constantFrom(...PKS), { maxLength: 2 }),
  fullResync: fc.boolean(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

let cases = 0;

/**
 * The plan of `s` with the stage worker taking over from `workerFrom` staged rows; `modelRows`:
 * rows handed over as model rows, mapped by the worker while fewer than `modelRows` slices wait
 * for it (0: by the calling thread), rather than staged rows.
 */
async function planOf(dir: string, s: Scenario, workerFrom: number, modelRows?: number) {
  const path = join(dir, `case${++cases}.db`);
  const store = new SqliteStateStore(path, { stageWorkerFromRows: workerFrom, stageWorkerMapsBelowBacklog: modelRows ?? 0 });
  const db = new Database(path);
  try {
    const layout = db.prepare('INSERT INTO payload_layouts (parts) VALUES (?) RETURNING id').pluck().get(JSON.stringify(LAYOUT));
    for (const n of s.snapshot) {
      db.prepare(
        `INSERT INTO snapshot (sync, pk, email, email_key, participant_id, payload_layout, payload_values, run_id, resend)
         VALUES ('s', ?, NULL, ?, ?, ?, ?, 'r0', ?)`,
      ).run(n.pk, n.emailKey, n.participantId, layout, n.values, n.resend);
    }
    for (const pk of s.inDoubt) {
      db.prepare(
        `INSERT INTO write_intents (sync, pk, kind, email, email_key, participant_id, payload, run_id, sent_at)
         VALUES ('s', ?, 'update', NULL, NULL, NULL, NULL, 'r0', '2026-01-01T00:00:00.000Z')`,
      ).run(pk);
    }
    const stage = store.openStage('s', 'run1', { fullResync: s.fullResync });
    try {
      for (let at = 0, k = 0; at < s.rows.length; at += s.sliceSizes[k++]!) {
        const slice = s.rows.slice(at, at + s.sliceSizes[k]!);
        if (modelRows === undefined) await stage.insert(slice, LAYOUT);
        else await stage.insertModelRows(slice as unknown as Row[], stagedRowsAsModel(LAYOUT));
      }
      const counts = await stage.diff();
      return {
        counts,
        plan: stage.page(['added', 'changed', 'removed'], 0, 1_000),
        invalid: stage.invalidRows(0, 1_000),
        heldRemoved: stage.heldRemovedCount(),
      };
    } finally {
      stage.drop();
    }
  } finally {
    db.close();
    store.close();
  }
}

it('plans the same in the calling thread and by a stage worker taking over at any row, mapping model rows or not', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'panelsync-stage-placement-'));
  try {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const here = await planOf(dir, s, Number.MAX_SAFE_INTEGER);
        expect(here.counts.queried).toBe(s.rows.length);
        for (const workerFrom of [0, 1, 2, 3]) expect(await planOf(dir, s, workerFrom)).toEqual(here);
        // Model rows mapped by the worker (every slice, or while it keeps up) or by this thread.
        for (const modelRows of [Infinity, 2, 0]) expect(await planOf(dir, s, s.sliceSizes[0]! - 1, modelRows)).toEqual(here);
      }),
      { seed: 20261207, numRuns: Number(process.env.STAGE_PLACEMENT_RUNS ?? 40) },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
