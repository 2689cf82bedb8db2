/**
 * Review 2: a --reset-cdc whose lock is broken (unlock --force) and taken by another run while it
 * reads the directory: resetCdc commits without the lock check (no lockOwner in its commitBatch).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { runProject as run, SYNC } from '../helpers/run-helpers.ts';
import { GET_PARTICIPANTS, peopleProjectPerTest } from '../engine/people-project.ts';

const start = peopleProjectPerTest();

describe('reset-cdc: the lock broken and taken over while the directory is read', () => {
  it('commits nothing once the lock is lost', async () => {
    const p = await start({ rows: 2 });
    await run(p);
    p.db.prepare(`UPDATE people SET first_name = 'Changed' WHERE id = 1`).run();
    await p.knobs({ latency_ms: 1_500 });
    const gets = (await p.stats())[GET_PARTICIPANTS] ?? 0;
    const resetting = run(p, { resetCdc: true });
    while (((await p.stats())[GET_PARTICIPANTS] ?? 0) === gets) await new Promise((r) => setTimeout(r, 20));
    const other = new SqliteStateStore(join(p.dir, 'state', 'state.db'));
    try {
      expect(other.breakLock(other.readLock(SYNC)!)).toBe(true); // panelsync unlock --force
      expect(other.acquireLock(SYNC, 'rtakeover').ok).toBe(true); // another run holds it now
      const { summary } = await resetting;
      // Nothing committed after the lock was lost: the snapshot still holds what was acknowledged.
      expect(p.snapshot().get('1')!.payload).not.toContain('Changed');
      expect(summary.status).toBe('failed');
    } finally {
      other.releaseLock(SYNC, 'rtakeover');
      other.close();
    }
  });
});
