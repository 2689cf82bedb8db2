/**
 * `batch:done` carries per-class counts: live progress (src/scheduler/run-progress.ts) counted
 * from the events matches the run summary, also when one batch holds added and changed rows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncEvents, type SyncEventMap } from '../../src/engine/events.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import { trackProgress } from '../../src/scheduler/run-progress.ts';
import { expectAddsUp, runProject as run, SYNC } from '../helpers/run-helpers.ts';
import { createPeopleProject, type PeopleProject } from './people-project.ts';

let project: PeopleProject | undefined;
afterEach(async () => {
  await project?.close();
  project = undefined;
});

describe('batch:done', () => {
  it('counts each row under its own change class, so live progress ends equal to the summary', async () => {
    const p = (project = await createPeopleProject({ rows: 10, sync: { mode: 'update', delete_behavior: 'clear' } }));
    // Participants 1..9 exist; person 10 does not (update mode skips it).
    await p.seed(Array.from({ length: 9 }, (_, i) => ({ email: `user${i + 1}@example.com` })));
    expectAddsUp((await run(p)).summary);
    // One batch of 10: pk 0 added (no participant: skipped) first, then 8 changed, then pk 10
    // (never synced: added, no participant: skipped); then pk 1 removed (cleared).
    p.db.exec(`UPDATE people SET last_name = 'X' WHERE id > 1;
      DELETE FROM people WHERE id = 1;
      INSERT INTO people VALUES (0, 'zero@example.com', 'F0', 'L0')`);
    const events = new SyncEvents();
    const progress = trackProgress(events);
    const batches: Array<SyncEventMap['batch:done']> = [];
    events.on('batch:done', (e) => batches.push(e));
    const summary = await runSync({ project: await p.load(), sync: SYNC, events });
    expect(summary).toMatchObject({
      status: 'success',
      rows: { added: 2, changed: 8, removed: 1 },
      succeeded: { added: 0, changed: 8, removed: 1 },
      skipped: { added: 2, changed: 0, removed: 0 },
    });
    expectAddsUp(summary);
    const seen = progress.progress();
    expect({ succeeded: seen.succeeded, rejected: seen.rejected, skipped: seen.skipped }).toEqual({
      succeeded: summary.succeeded,
      rejected: summary.rejected,
      skipped: summary.skipped,
    });
    expect(batches[0]).toMatchObject({
      rows: 10,
      succeeded: { added: 0, changed: 8, removed: 0 },
      skipped: { added: 2, changed: 0, removed: 0 },
    });
    for (const b of batches) {
      const total = (['succeeded', 'rejected', 'skipped'] as const).reduce((n, k) => n + b[k].added + b[k].changed + b[k].removed, 0);
      expect(total).toBe(b.rows);
    }
    progress.stop();
  });
});
