/**
 * Migration 15 stores the snapshot's payloads as layout and values and its email only when it
 * differs from its key. A snapshot written before (canonical JSON payloads, every email) is
 * upgraded byte for byte: the same rows, emails, participants and payloads, and the next run finds
 * nothing changed.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePayload } from '../../src/state/payload-codec.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject as run, SYNC, writeCalls } from '../helpers/run-helpers.ts';

interface OldRow {
  sync: string;
  pk: string;
  email: string;
  email_key: string;
  participant_id: string | null;
  payload: string;
  run_id: string;
  resend: number;
}

/** The snapshot as the code before migration 15 read it. */
function readSnapshot(db: Database.Database): OldRow[] {
  const rows = db
    .prepare(
      `SELECT sync, pk, coalesce(email, email_key) AS email, email_key, participant_id, l.parts, payload_values, run_id, resend
       FROM snapshot JOIN payload_layouts AS l ON l.id = payload_layout ORDER BY sync, pk`,
    )
    .all() as Array<Omit<OldRow, 'payload'> & { parts: string; payload_values: string }>;
  return rows.map(({ parts, payload_values, ...row }) => ({ ...row, payload: decodePayload(JSON.parse(parts) as string[], payload_values) }));
}

/** Puts `rows` back in the snapshot table of schema version 14, as the code before migration 15 wrote it. */
function writeVersion14Snapshot(db: Database.Database, rows: readonly OldRow[]): void {
  db.exec(`
    DROP TABLE snapshot;
    DROP TABLE payload_layouts;
    DELETE FROM schema_migrations WHERE version = 15;
    CREATE TABLE snapshot (
      sync TEXT NOT NULL, pk TEXT NOT NULL, email TEXT NOT NULL, email_key TEXT NOT NULL, participant_id TEXT,
      payload TEXT NOT NULL, synced_at TEXT NOT NULL, run_id TEXT NOT NULL, resend INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (sync, pk)) WITHOUT ROWID;
    CREATE INDEX snapshot_by_email ON snapshot (sync, email_key);
    CREATE INDEX snapshot_by_participant ON snapshot (sync, participant_id);`);
  const insert = db.prepare(
    `INSERT INTO snapshot (sync, pk, email, email_key, participant_id, payload, synced_at, run_id, resend) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const r of rows) insert.run(r.sync, r.pk, r.email, r.email_key, r.participant_id, r.payload, '2026-12-01T00:00:00.000Z', r.run_id, r.resend);
}

describe('migration 15: the snapshot as layouts and values', () => {
  let project: ChinookProject;
  beforeEach(async () => {
    project = await createChinookProject();
  });
  afterEach(async () => {
    await project.close();
  });

  it('upgrades a snapshot byte for byte, and the next run finds nothing changed', async () => {
    const statePath = join(project.dir, 'state', 'state.db');
    const first = await run(project);
    expect(first.summary.rows.added).toBe(59);

    const db = new Database(statePath);
    const synced = readSnapshot(db);
    expect(synced).toHaveLength(59);
    // As older versions kept them: an email as sent that differs from its key, and a payload
    // JSON.stringify would not write (kept whole, then sent again once).
    const old = synced.map((r) => (r.pk === '5' ? { ...r, email: r.email.toUpperCase() } : r.pk === '7' ? { ...r, payload: ' {}' } : r));
    writeVersion14Snapshot(db, old);
    db.close();

    const store = new SqliteStateStore(statePath); // applies migration 15
    try {
      expect(readSnapshot(store.db)).toEqual(old);
      expect(store.snapshotEntry(SYNC, '5')?.email).toBe(old.find((r) => r.pk === '5')!.email);
      // One layout for the sync's rows, and one for the payload kept whole.
      expect(store.db.prepare('SELECT count(*) FROM payload_layouts').pluck().get()).toBe(2);
      expect(store.db.prepare(`SELECT count(*) FROM snapshot WHERE email IS NOT NULL`).pluck().get()).toBe(1);
      const { summary, calls } = await run(project, { store });
      expectAddsUp(summary);
      expect(summary.rows).toMatchObject({ changed: 1, unchanged: 58, removed: 0 });
      expect(writeCalls(calls)).toHaveLength(1);
    } finally {
      store.close();
    }
  });
});
