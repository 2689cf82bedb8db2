/**
 * A stage in a file of its own, diffed by a worker thread (what a large model gets): the same plan
 * as a diff in the calling thread, on the Chinook sync with duplicates, shared emails, changed and
 * removed rows; its file is gone once the run ends, and files of dead processes are removed.
 */
import Database from 'better-sqlite3';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { CHINOOK_SQLITE_MODEL, createChinookProject, generatedModel, NAME_MAPPINGS, type ChinookProject } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject as run } from '../helpers/run-helpers.ts';
import { planSync } from '../../src/engine/plan-sync.ts';

const stageFiles = () => readdirSync(tmpdir()).filter((name) => name.startsWith(`panelsync-stage-${process.pid}-`));

type StoreOptions = ConstructorParameters<typeof SqliteStateStore>[1];

/** The plan of the project's sync with a store opened with `options` (its duration zeroed: plans are compared). */
async function planWith(project: ChinookProject, options: StoreOptions, sampleSize = 100) {
  const store = new SqliteStateStore(join(project.dir, 'state.db'), options);
  try {
    return { ...(await planSync({ project: await project.load(), sync: 'customers-to-panel', store, sampleSize })), duration_ms: 0 };
  } finally {
    store.close();
  }
}

/** Runs the project's sync once with a store opened with `options`; every row of the model is added. */
async function syncAll(project: ChinookProject, added: number, options?: StoreOptions): Promise<void> {
  const store = new SqliteStateStore(join(project.dir, 'state.db'), options);
  try {
    expect((await run(project, { store })).summary).toMatchObject({ status: 'success', rows: { added } });
  } finally {
    store.close();
  }
}

describe('stage files and the diff worker', () => {
  let project: ChinookProject;
  beforeEach(async () => {
    project = await createChinookProject();
  });
  afterEach(async () => {
    await project.close();
  });

  it('plans and runs the same in a worker thread as in the calling thread', async () => {
    const statePath = join(project.dir, 'state.db');
    const inWorker = { stageWorkerFromRows: 0 };
    const here = { stageWorkerFromRows: Number.MAX_SAFE_INTEGER };
    await syncAll(project, 59, inWorker);
    // A changed row, a removed row, a duplicated primary key and an email shared by two keys.
    project.db.prepare(`UPDATE Customer SET City = 'Porto' WHERE CustomerId = 10`).run();
    project.writeModel(`
      SELECT * FROM (${CHINOOK_SQLITE_MODEL}) WHERE CustomerId <> 59
      UNION ALL SELECT 3, 'Dup', 'Key', NULL, NULL, NULL, NULL, NULL, 'dup@example.com', '1.00', NULL
      UNION ALL SELECT 1000, 'Shared', 'Email', NULL, NULL, NULL, NULL, NULL, 'leonekohler@surfeu.de', '1.00', NULL`);
    // In this thread; by a worker from the first row; by a worker taking over after 2 rows (it
    // joins those, then each slice as it comes).
    const takesOver = { stageWorkerFromRows: 2 };
    const plans = [await planWith(project, inWorker), await planWith(project, here), await planWith(project, takesOver)];
    expect(plans[0]).toEqual(plans[1]);
    expect(plans[2]).toEqual(plans[1]);
    expect(plans[0]!.rows).toMatchObject({ changed: expect.any(Number), removed: 1, invalid: 4 });
    // A write still in doubt: the worker diffs once the last row is written (the run settles first).
    const state = new Database(statePath);
    try {
      state
        .prepare(`INSERT INTO write_intents (sync, pk, kind, email, email_key, participant_id, payload, run_id, sent_at)
                  VALUES ('customers-to-panel', '7', 'update', NULL, NULL, NULL, NULL, 'r0', '2026-01-01T00:00:00.000Z')`)
        .run();
    } finally {
      state.close();
    }
    const inDoubt = [await planWith(project, inWorker), await planWith(project, here), await planWith(project, takesOver)];
    expect(inDoubt[0]).toEqual(inDoubt[1]);
    expect(inDoubt[2]).toEqual(inDoubt[1]);
    expect(inDoubt[1]!.rows.changed).toBe(plans[1]!.rows.changed + 1);
    const cleared = new Database(statePath);
    cleared.prepare('DELETE FROM write_intents').run();
    cleared.close();
    const store = new SqliteStateStore(statePath, inWorker);
    try {
      const { summary } = await run(project, { store });
      expectAddsUp(summary);
      expect(summary.rows.removed).toBe(1);
      expect(stageFiles()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('maps model rows in the worker exactly as in the calling thread: templates, invalid rows, emails to normalize, text JSON escapes', async () => {
    // 4,500 rows: 5 slices, the worker taking over after the first. Every 97th email is not an
    // email, every 89th needs trimming and lower-casing, names hold quotes, backslashes, control
    // characters, decomposed accents and astral characters, some last names are NULL.
    project.writeModel(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500)
      SELECT i AS CustomerId,
             CASE WHEN i % 97 = 0 THEN 'not an email ' || i WHEN i % 89 = 0 THEN '  User' || i || '@Example.COM ' ELSE 'user' || i || '@example.com' END AS Email,
             CASE i % 5 WHEN 0 THEN 'Ren' || char(101, 769) WHEN 1 THEN 'Quote"' || i WHEN 2 THEN 'Back\\slash' || char(9) ELSE 'Star ' || char(128171) END AS FirstName,
             CASE WHEN i % 7 = 0 THEN NULL ELSE 'Last' || i END AS LastName
      FROM n`);
    project.writeSync({
      mappings: [
        { from: 'FirstName', to: 'first_name' },
        { template: '{{ row.LastName | upcase }} ({{ row.CustomerId }})', to: 'last_name' },
      ],
    });
    const here = await planWith(project, { stageWorkerFromRows: Number.MAX_SAFE_INTEGER }, 10_000);
    expect(here.rows).toMatchObject({ queried: 4500, invalid: 46, added: 4454 });
    expect(here.sample).toHaveLength(4454);
    // The worker maps every slice after the first; never (this thread maps); or as it keeps up.
    for (const stageWorkerMapsBelowBacklog of [Infinity, 0, 2]) {
      expect(await planWith(project, { stageWorkerFromRows: 1, stageWorkerMapsBelowBacklog }, 10_000)).toEqual(here);
    }
    expect(stageFiles()).toEqual([]);
  });

  it('plans the same when a worker got ready and the stage stayed too small for it to take over, or it took over once ready', async () => {
    project.writeModel(generatedModel(7000));
    project.writeSync({ mappings: NAME_MAPPINGS });
    await syncAll(project, 7000);
    // 70 changed rows and one removed: the diff must join every row, however the stage was written.
    project.writeModel(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6999)
      SELECT i AS CustomerId, 'user' || i || '@example.com' AS Email, 'First' || i AS FirstName,
             CASE WHEN i % 100 = 0 THEN 'Changed' || i ELSE 'Last' || i END AS LastName FROM n`);
    const planFrom = (stageWorkerFromRows: number) => planWith(project, { stageWorkerFromRows });
    const here = await planFrom(Number.MAX_SAFE_INTEGER);
    expect(here.rows).toMatchObject({ queried: 6999, unchanged: 6930, changed: 69, removed: 1, added: 0 });
    // A worker starts at 5,000 rows and reads the snapshot's facts to join eagerly, but the stage
    // never reaches 20,000 rows: it is stopped and this thread diffs every row.
    expect(await planFrom(20_000)).toEqual(here);
    // It takes over at 6,000 rows, once ready: it joins those, then each slice as it comes.
    expect(await planFrom(6_000)).toEqual(here);
    // Started 45,000 rows ahead (at 1,000), as with the default take-over: handed the stage once
    // it is ready, whenever that is, or at the diff.
    project.writeModel(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
      SELECT i AS CustomerId, 'user' || i || '@example.com' AS Email, 'First' || i AS FirstName,
             CASE WHEN i % 100 = 0 THEN 'Changed' || i ELSE 'Last' || i END AS LastName FROM n`);
    const large = await planFrom(Number.MAX_SAFE_INTEGER);
    expect(large.rows).toMatchObject({ queried: 60000, unchanged: 6930, changed: 70, added: 53000, removed: 0 });
    expect(await planFrom(46_000)).toEqual(large);
    expect(stageFiles()).toEqual([]);
  });

  it('fails the plan with the error of a mapping module the worker cannot load, and removes the stage file', async () => {
    const store = new SqliteStateStore(join(project.dir, 'state.db'), { stageWorkerFromRows: 0, stageWorkerMapsBelowBacklog: Infinity });
    try {
      const stage = store.openStage('customers-to-panel', 'run1', { fullResync: false });
      const mapping = {
        layout: ['{"city":', '}'],
        map: () => [{ ok: true as const, pk: '1', email: 'a@example.com', emailKey: 'a@example.com', values: '"Oslo"' }],
        worker: { module: new URL('./no-such-mapping-module.ts', import.meta.url).href, options: null, columns: ['pk'] },
      };
      // The worker starts with the first slice and loads the module to get ready: the plan waits for it.
      const attempt = (async () => {
        await stage.insertModelRows([{ pk: '1' }], mapping);
        await stage.insertModelRows([{ pk: '2' }], mapping);
        await stage.diff();
      })();
      await expect(attempt).rejects.toThrow(/no-such-mapping-module/);
      stage.drop();
      expect(stageFiles()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('marks invalid every row sharing an email, also unchanged rows whose snapshot rows share it', async () => {
    const statePath = join(project.dir, 'state.db');
    await syncAll(project, 59);
    // Keys 5 and 6 now share an email in the model, and their snapshot rows already say so (as
    // if recorded so by hand): neither row changed, neither is planned, both are invalid.
    project.db.prepare(`UPDATE Customer SET Email = 'twins@example.com' WHERE CustomerId IN (5, 6)`).run();
    const state = new Database(statePath);
    state.prepare(`UPDATE snapshot SET email = NULL, email_key = 'twins@example.com' WHERE pk IN ('5', '6')`).run();
    state.close();
    for (const stageWorkerFromRows of [0, 2, Number.MAX_SAFE_INTEGER]) {
      const plan = await planWith(project, { stageWorkerFromRows });
      expect(plan.rows).toMatchObject({ queried: 59, invalid: 2, unchanged: 57, added: 0, changed: 0, removed: 0 });
      expect(plan.invalid_rows.map((row) => row.reason)).toEqual([
        expect.stringMatching(/^email 'twins@example.com' is shared by 2 rows of the model: it is also the email of primary key 6;/),
        expect.stringMatching(/^email 'twins@example.com' is shared by 2 rows of the model: it is also the email of primary key 5;/),
      ]);
    }
  });

  it('stops the stage worker and removes its file when the model fails after the worker took the stage over', async () => {
    // 5,000 rows, then SQLite's integer overflow: the worker holds the first rows when the source fails.
    project.writeModel(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
      SELECT i AS CustomerId, 'user' || i || '@example.com' AS Email, 'First' || i AS FirstName, 'Last' || i AS LastName,
             CASE WHEN i > 5000 THEN abs(-9223372036854775807 - 1) END AS Boom FROM n`);
    project.writeSync({ mappings: NAME_MAPPINGS });
    const store = new SqliteStateStore(join(project.dir, 'state.db'), { stageWorkerFromRows: 0 });
    try {
      const { summary } = await run(project, { store });
      expect(summary.status).toBe('failed');
      expect(summary.error).toMatch(/integer overflow/);
      expect(stageFiles()).toEqual([]);
      expect(store.snapshotSize('customers-to-panel')).toBe(0);
      // The store is usable after: the model fixed, the next run syncs every row through a worker.
      project.writeModel(generatedModel(6000));
      const again = await run(project, { store });
      expect(again.summary).toMatchObject({ status: 'success', rows: { added: 6000 } });
      expect(stageFiles()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('gives eleven large stages at once (serve) a file each only while attachment slots last: every diff attaches its file again', async () => {
    const store = new SqliteStateStore(join(project.dir, 'state.db'), { stageWorkerFromRows: 0 });
    const layout = ['{"city":', '}'];
    try {
      // Each stage's first slice hands it to a worker, which detaches its file from the connection.
      const stages = [];
      for (let i = 0; i < 11; i++) {
        const stage = store.openStage(`sync${i}`, `run${i}`);
        await stage.insert([{ ok: true, pk: '1', email: 'a@example.com', emailKey: 'a@example.com', values: '"Oslo"' }], layout);
        stages.push(stage);
      }
      expect(stageFiles()).toHaveLength(10); // the eleventh lives in the temp schema
      const counts = await Promise.all(stages.map((stage) => stage.diff()));
      expect(counts.map((c) => c.added)).toEqual(Array(11).fill(1));
      expect(stages.map((stage) => stage.page(['added'], 0, 5).map((row) => row.payload))).toEqual(Array(11).fill(['{"city":"Oslo"}']));
      for (const stage of stages) stage.drop();
      expect(stageFiles()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('holds no read of the state database between slices: its log is checkpointed while a large model is read', async () => {
    const statePath = join(project.dir, 'state.db');
    const store = new SqliteStateStore(statePath, { stageWorkerFromRows: 0 });
    const other = new Database(statePath);
    const layout = ['{"city":', '}'];
    try {
      const stage = store.openStage('customers-to-panel', 'r1');
      await stage.insert([{ ok: true, pk: '1', email: 'a@example.com', emailKey: 'a@example.com', values: '"Oslo"' }], layout);
      await stage.insert([{ ok: true, pk: '2', email: 'b@example.com', emailKey: 'b@example.com', values: '"Oslo"' }], layout);
      // Another sync's run commits while this model is still being read (serve; or a run beside
      // `plan`), once the worker has started (it has, in a second: else this test proves less).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      other.exec('CREATE TABLE filler (x TEXT)');
      for (let i = 0; i < 200; i++) other.prepare('INSERT INTO filler VALUES (?)').run('x'.repeat(1000));
      // The worker may still be writing a slice; between slices it holds no read that a checkpoint waits for.
      let checkpoint = { log: -1, checkpointed: -2 };
      for (let attempt = 0; attempt < 50 && checkpoint.checkpointed !== checkpoint.log; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        checkpoint = (other.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>)[0]!;
      }
      expect(checkpoint.checkpointed).toBe(checkpoint.log);
      expect(await stage.diff()).toMatchObject({ added: 2 });
      stage.drop();
    } finally {
      other.close();
      store.close();
    }
  });

  it('removes the stage files of processes that died', () => {
    // pid 2^22 + 1 is above Linux's pid_max default: no such process.
    const stale = join(tmpdir(), 'panelsync-stage-4194305-0123456789ab.db');
    writeFileSync(stale, '');
    writeFileSync(`${stale}-journal`, ''); // the rollback journal of a process killed mid-write
    const store = new SqliteStateStore(join(project.dir, 'state.db'));
    try {
      store.openStage('customers-to-panel', 'r1').drop();
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(`${stale}-journal`)).toBe(false);
    } finally {
      store.close();
    }
  });
});
