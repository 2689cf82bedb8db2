/**
 * The server's audit log never makes a request wait for a busy state database: an entry recorded
 * while another connection holds the write lock returns at once and is written, in order, once
 * the lock is released.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../../src/state/sqlite-audit-log.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { waitFor } from '../server/server-fixture.ts';
import { WriteLockHolder } from '../server/write-lock-holder.ts';

describe('the audit log on a busy state database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'panelsync-audit-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defers entries while the database is busy and writes them in order once it is free', async () => {
    const path = join(dir, 'state.db');
    const store = new SqliteStateStore(path);
    const holder = await WriteLockHolder.open(path, 1_200);
    try {
      const audit = new SqliteAuditLog(store.db, { deferWhenBusy: true, secrets: ['s3cret-value-123'] });
      holder.take();
      const started = Date.now();
      audit.record({ token_kind: 'operator', action: 'trigger', sync: 'a', target: null, run_id: 'r1', result: 'started', detail: null });
      audit.record({ token_kind: 'viewer', action: 'trigger', sync: 'a', target: null, run_id: null, result: 'denied', detail: 'token s3cret-value-123' });
      expect(Date.now() - started).toBeLessThan(2_000); // not busy_timeout (5 s)
      expect(audit.list()).toEqual([]);
      await holder.released;
      const entries = await waitFor(() => audit.list().length === 2 && audit.list(), 10_000, 'the deferred entries');
      expect(entries.map((e) => [e.token_kind, e.result, e.detail])).toEqual([
        ['viewer', 'denied', 'token [REDACTED]'],
        ['operator', 'started', null],
      ]);
      expect(entries[0]!.at >= entries[1]!.at).toBe(true);
      expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5_000); // the connection's own wait is back
    } finally {
      await holder.close();
      store.close();
    }
  });
});
