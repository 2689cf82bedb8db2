/**
 * What a new user reads in a run's summary (issue 11, "Getting started"): rows in sync, the first
 * sync of an empty snapshot, a model that was never read, the same invalid rows run after run,
 * rows sharing an email, and payloads too large for the API (413 and the local limit).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { alertPolicy } from '../../src/alerts/alert-policy.ts';
import { evaluateTriggers } from '../../src/alerts/evaluate-triggers.ts';
import { runCounts } from '../../src/cli/format-history.ts';
import { formatSummary } from '../../src/cli/format-summary.ts';
import { MAX_PARTICIPANT_JSON_BYTES } from '../../src/destinations/user-interviews/wire.ts';
import type { RunListItem } from '../../src/state/run-history.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { createChinookProject, generatedModel, NAME_MAPPINGS, type ChinookProject } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject as run, SYNC, writeCalls } from '../helpers/run-helpers.ts';
import { closedPort } from '../alerts/alert-project.ts';

let project: ChinookProject | undefined;
afterEach(async () => {
  await project?.close();
  project = undefined;
});

describe('the summary of a healthy sync', () => {
  it('says how many rows are in sync, and that a first sync of an empty snapshot sends every row as added', async () => {
    project = await createChinookProject();
    const first = await run(project);
    expect(first.summary).toMatchObject({ status: 'success', first_sync: true, model_read: true, in_sync: 59 });
    const firstText = formatSummary(first.summary);
    expect(firstText).toContain('59 rows in sync');
    expect(firstText).toContain('the snapshot was empty: every row is sent as added; rows removed from the model before now cannot be deleted');

    // Nothing changed: 0 succeeded, but every row is in sync, and this is no first sync.
    const second = await run(project);
    expect(second.summary).toMatchObject({ status: 'success', first_sync: false, in_sync: 59, succeeded: { added: 0, changed: 0, removed: 0 } });
    const secondText = formatSummary(second.summary);
    expect(secondText).toContain('59 rows in sync (59 unchanged + 0 written by this run)');
    expect(secondText).not.toContain('snapshot was empty');

    // The state database deleted: the snapshot is empty again, and the summary says so.
    const store = new SqliteStateStore((await project.load()).statePath);
    store.replaceSnapshot(SYNC);
    store.close();
    const third = await run(project);
    expect(third.summary.first_sync).toBe(true);
  });

  it('says the model was not read when the run failed before reading it, not "queried 0"', async () => {
    project = await createChinookProject();
    project.writeModel('SELECT CustomerId, Email FROM NoSuchTable');
    const { summary } = await run(project);
    expect(summary.status).toBe('failed');
    expect(summary.model_read).toBe(false);
    const text = formatSummary(summary);
    expect(text).toContain('the model was not read');
    expect(text).not.toContain('queried 0');
    expect(text).not.toContain('rows in sync');
    // `panelsync runs` shows no counts for it either.
    expect(runCounts({ summary } as RunListItem)).toMatchObject({ queried: '-', invalid: '-' });
  });
});

describe('the same invalid rows run after run', () => {
  it('warn once: a run whose only problems are the invalid rows of the previous run is success, and the default alert stays ok', async () => {
    project = await createChinookProject();
    project.db.prepare("UPDATE Customer SET Email = ' ' WHERE CustomerId = 5").run();
    const first = await run(project);
    expect(first.summary).toMatchObject({ status: 'warning', rows: { invalid: 1 }, known_invalid: 0, in_sync: 58 });
    const policy = alertPolicy(await project.load(), SYNC);
    const rejectedRows = (s: typeof first.summary) => evaluateTriggers(s, policy, () => 0).find((t) => t.trigger === 'rejected_rows')!;
    expect(rejectedRows(first.summary).state).toBe('warning');

    const second = await run(project);
    expectAddsUp(second.summary);
    expect(second.summary).toMatchObject({ status: 'success', rows: { invalid: 1 }, known_invalid: 1, in_sync: 58 });
    expect(rejectedRows(second.summary).state).toBe('ok');
    expect(rejectedRows(second.summary).reason).toContain('1 more invalid row was already invalid in the previous run');
    expect(formatSummary(second.summary)).toContain('1 of the 1 invalid row was already invalid, for the same reason, in the previous run (no new problem)');

    // A new invalid row is a new problem: warning again, and the alert counts only it.
    project.db.prepare("UPDATE Customer SET Email = ' ' WHERE CustomerId = 6").run();
    const third = await run(project);
    expect(third.summary).toMatchObject({ status: 'warning', rows: { invalid: 2 }, known_invalid: 1 });
    expect(rejectedRows(third.summary).reason).toMatch(/^1 of 59 rows/);
  });

  it('rows sharing an email are both invalid, each naming the other primary key', async () => {
    project = await createChinookProject();
    const email = project.db.prepare('SELECT Email FROM Customer WHERE CustomerId = 1').pluck().get() as string;
    project.db.prepare('UPDATE Customer SET Email = ? WHERE CustomerId IN (7, 9)').run(email.toUpperCase());
    const { summary, invalid } = await run(project);
    expect(summary.rows.invalid).toBe(3);
    const reason = (pk: string) => invalid.find((r) => r.pk === pk)!.reason;
    expect(reason('1')).toContain('is also the email of primary keys 7, 9');
    expect(reason('7')).toContain('is also the email of primary keys 1, 9');
    expect(reason('9')).toContain('is also the email of primary keys 1, 7');
    expect(reason('1')).toContain('every row sharing an email is invalid');
  });
});

describe('a mistyped port', () => {
  it('fails the run at once with "connection refused at host:port: check base_url", after one retry', async () => {
    const port = await closedPort();
    project = await createChinookProject({ destination: { base_url: `http://127.0.0.1:${port}/api`, max_attempts: 5 } });
    const { summary, calls } = await run(project);
    expect(summary.status).toBe('failed');
    expect(summary.error).toContain(`connection refused at 127.0.0.1:${port}`);
    expect(summary.error).toContain('destinations.panel.base_url');
    expect(summary.error).not.toMatch(/overloaded|max_attempts/);
    expect(calls).toHaveLength(2);
  });
});

describe('payloads too large for the API', () => {
  it('splits a batch the API answers 413, like a 422', async () => {
    // The first request reads the characteristics; the second, the batch of 59, meets a 413.
    project = await createChinookProject({ emulator: { knobs: { fail_next: [{ slow_ms: 0 }, { status: 413 }] } } });
    const { summary, calls } = await run(project);
    expect(summary).toMatchObject({ status: 'success', succeeded: { added: 59 } });
    expect(writeCalls(calls).map((c) => c.status)).toEqual([413, 200, 200]);
    expect((await project.participants()).length).toBe(59);
  });

  it('rejects the one row a 413 still refuses on its own, and sends the others', async () => {
    project = await createChinookProject({
      sql: generatedModel(2),
      sync: { mappings: NAME_MAPPINGS },
      // No characteristic is mapped, so no read of them: the batch of 2 meets a 413, then its first half.
      emulator: { knobs: { fail_next: [{ status: 413 }, { status: 413 }] } },
    });
    const { summary, rejected } = await run(project);
    expect(summary).toMatchObject({ status: 'warning', succeeded: { added: 1 }, rejected: { added: 1 } });
    expect(rejected).toEqual([{ pk: '1', error: expect.stringContaining('HTTP 413: this participant is too large') }]);
  });

  it(`refuses locally, before any call, a participant over ${MAX_PARTICIPANT_JSON_BYTES} bytes of JSON`, async () => {
    project = await createChinookProject({
      sync: {
        mappings: [
          { from: 'FirstName', to: 'first_name' },
          { template: '{{ row.City }}', to: 'characteristics.location' },
          { from: 'Company', to: 'characteristics.source' },
        ],
      },
    });
    // 9,000 emoji are 9,000 characters (within a text characteristic's limit) but 36,000 bytes each.
    const big = '😀'.repeat(9_000);
    project.db.prepare('UPDATE Customer SET City = ?, Company = ? WHERE CustomerId = 3').run(big, big);
    const { summary, invalid, calls } = await run(project);
    expect(summary).toMatchObject({ status: 'warning', rows: { invalid: 1 }, succeeded: { added: 58 } });
    expect(invalid).toEqual([{ pk: '3', reason: expect.stringMatching(/over the limit of 65536 bytes \(64 KiB\) per participant \(largest: characteristics\.(location|source) \d+ bytes/) }]);
    expect(writeCalls(calls)).toHaveLength(1);
  });
});
