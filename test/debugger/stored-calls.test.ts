/**
 * What the SQLite state store keeps of a call and of a run's details: bodies cut past 64 KiB
 * (MAX_STORED_BODY_BYTES) with their full size, and pruning that never touches a running run.
 * On a real state database file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiCall } from '../../src/http/http-client.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { MAX_STORED_BODY_BYTES } from '../../src/state/state-store.ts';
import { truncateBody, wasTruncated } from '../../src/state/truncate-body.ts';

function apiCall(requestBody: string | null, responseBody: string | null): ApiCall {
  return {
    method: 'PATCH',
    url: 'https://www.userinterviews.com/api/participants/batches',
    status: 200,
    duration_ms: 41.6,
    attempt: 1,
    started_at: '2026-01-01T00:00:00.000Z',
    request_body: requestBody,
    response_body: responseBody,
    error: null,
    tag: 'upsert:b1:0+2',
  };
}

describe('truncateBody', () => {
  it('keeps a body of at most 64 KiB whole, and cuts a longer one there with a marker', () => {
    expect(MAX_STORED_BODY_BYTES).toBe(65_536);
    const fits = 'a'.repeat(MAX_STORED_BODY_BYTES);
    expect(truncateBody(fits, MAX_STORED_BODY_BYTES)).toEqual({ text: fits, bytes: 65_536 });
    const long = truncateBody('a'.repeat(70_000), MAX_STORED_BODY_BYTES);
    expect(long.bytes).toBe(70_000);
    expect(long.text).toBe(`${'a'.repeat(65_536)}…[truncated: 4464 bytes not stored]`);
    expect(wasTruncated(long.text, long.bytes)).toBe(true);
  });

  it('never cuts inside a UTF-8 character', () => {
    // "€" is 3 bytes: 65,536 is not a multiple of 3, so the cut backs off to 65,535.
    const cut = truncateBody('€'.repeat(30_000), MAX_STORED_BODY_BYTES);
    expect(cut.bytes).toBe(90_000);
    expect(cut.text).toBe(`${'€'.repeat(21_845)}…[truncated: 24465 bytes not stored]`);
  });

  it('does not take a whole body that ends like the marker for a cut one', () => {
    const body = 'note …[truncated: 3 bytes not stored]';
    expect(wasTruncated(body, Buffer.byteLength(body))).toBe(false);
    expect(wasTruncated('{"ok":true}', 11)).toBe(false);
  });
});

describe('SqliteStateStore and SqliteRunHistory', () => {
  let dir: string;
  let store: SqliteStateStore;
  let history: SqliteRunHistory;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'panelsync-store-'));
    store = new SqliteStateStore(join(dir, 'state.db'));
    history = new SqliteRunHistory(store.db);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a call with bodies cut past 64 KiB, their full sizes, and its batch linkage', () => {
    store.startRun({ id: 'r1', sync: 's', trigger: 'manual', startedAt: '2026-01-01T00:00:00.000Z' });
    const big = JSON.stringify({ errors: [{ detail: 'x'.repeat(100_000) }] });
    store.recordCall('r1', 1, apiCall('{"participants":[]}', big));
    store.recordOutcomes('r1', 's', [
      { pk: 'A', class: 'added', result: 'succeeded', error: null, participantId: '9', batch: { id: 'b1', index: 0 } },
      { pk: 'B', class: 'added', result: 'succeeded', error: null, participantId: '10', batch: { id: 'b1', index: 1 } },
    ]);
    const call = history.getCall('r1', 1)!;
    expect(call).toMatchObject({
      seq: 1, duration_ms: 42, batch: 'b1', row_offset: 0, row_count: 2, pks: ['A', 'B'],
      request_body: '{"participants":[]}', request_bytes: 19, request_truncated: false,
      response_bytes: Buffer.byteLength(big), response_truncated: true,
    });
    expect(call.response_body!.startsWith(big.slice(0, MAX_STORED_BODY_BYTES))).toBe(true);
    expect(call.response_body!.endsWith(`…[truncated: ${Buffer.byteLength(big) - MAX_STORED_BODY_BYTES} bytes not stored]`)).toBe(true);
    expect(history.getCall('r1', 2)).toBeNull();
    expect(history.listOutcomes('r1').map((o) => [o.pk, o.call_seq])).toEqual([['A', 1], ['B', 1]]);
  });

  it('prunes the details of finished runs that started before the cut-off, never of a running one', async () => {
    const old = '2026-01-01T00:00:00.000Z';
    for (const id of ['done', 'running', 'recent']) {
      store.startRun({ id, sync: 's', trigger: 'manual', startedAt: id === 'recent' ? '2026-03-01T00:00:00.000Z' : old });
      store.recordCall(id, 1, apiCall(null, '{}'));
      store.recordOutcomes(id, 's', [{ pk: id, class: 'added', result: 'rejected', error: 'no', participantId: null }]);
    }
    store.finishRun('done', { status: 'warning', finishedAt: old, summary: { status: 'warning' }, error: null });
    store.finishRun('recent', { status: 'success', finishedAt: old, summary: { status: 'success' }, error: null });

    expect(await store.pruneHistory('2026-02-01T00:00:00.000Z')).toMatchObject({ runs: 1, calls: 1, outcomes: 1, removedSyncs: [] });
    expect(history.getRun('done')).toMatchObject({ status: 'warning', summary: { status: 'warning' }, calls: 0, outcomes: { rejected: 0 } });
    expect(history.getRun('done')!.details_pruned_at).not.toBeNull();
    expect(history.getRun('running')).toMatchObject({ details_pruned_at: null, calls: 1, outcomes: { rejected: 1 } });
    expect(history.getRun('recent')).toMatchObject({ details_pruned_at: null, calls: 1 });
    // Pruning again finds nothing left to do.
    expect(await store.pruneHistory('2026-02-01T00:00:00.000Z')).toMatchObject({ runs: 0, calls: 0, outcomes: 0 });
  });
});
