/**
 * `RunHistory.listCallTree`: a run's call tree read a page at a time. Every call of every page has
 * the place (`depth`, `parent_seq`, `request_seq`) it has in the tree of the whole run, for every
 * page size, on call lists a run produces: batches interleaved by concurrency, a split retry that
 * timed out and was retried, paged directory reads with a retry, retries of an untagged call.
 * On a real state database file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiCall } from '../../src/http/http-client.ts';
import { batchCallTag } from '../../src/state/batch-call-tag.ts';
import { callTree } from '../../src/state/call-tree.ts';
import type { CallTreeItem } from '../../src/state/run-history.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';

const BASE = 'https://www.userinterviews.com/api';
const RUN = 'rpages1';

/** A call as the HTTP client records it; `batch` as [id, offset, count] for a batch call. */
function call(status: number | null, options: { batch?: [string, number, number]; attempt?: number; tag?: string; path?: string } = {}): ApiCall {
  const batch = options.batch;
  return {
    method: batch === undefined ? 'GET' : 'PATCH',
    url: `${BASE}${options.path ?? (batch === undefined ? '/characteristics' : '/participants/batches')}`,
    status,
    duration_ms: 12,
    attempt: options.attempt ?? 1,
    started_at: '2026-01-01T00:00:00.000Z',
    request_body: null,
    response_body: null,
    error: status === null ? 'timed out after 30000 ms' : null,
    ...(batch === undefined ? (options.tag === undefined ? {} : { tag: options.tag }) : { tag: batchCallTag('upsert', ...batch) }),
  };
}

/** Calls of a run with two batches in flight at once, split retries, retries and paged reads. */
const CALLS: ApiCall[] = [
  call(500, { tag: 'characteristics' }), // 1
  call(200, { tag: 'characteristics', attempt: 2 }), // 2: retry of an untagged-batch call
  call(200, { tag: 'directory', path: '/participants?page=1' }), // 3
  call(null, { tag: 'directory', path: '/participants?page=2' }), // 4
  call(200, { tag: 'directory', path: '/participants?page=2', attempt: 2 }), // 5
  call(422, { batch: ['b1', 0, 100] }), // 6
  call(422, { batch: ['b2', 0, 100] }), // 7
  call(200, { batch: ['b1', 0, 50] }), // 8
  call(200, { batch: ['b2', 0, 50] }), // 9
  call(422, { batch: ['b2', 50, 50] }), // 10
  call(422, { batch: ['b1', 50, 50] }), // 11
  call(200, { batch: ['b2', 50, 25] }), // 12
  call(null, { batch: ['b1', 50, 25] }), // 13: timed out
  call(500, { batch: ['b1', 50, 25], attempt: 2 }), // 14
  call(200, { batch: ['b1', 50, 25], attempt: 3 }), // 15
  call(200, { batch: ['b1', 75, 25] }), // 16
  call(422, { batch: ['b2', 75, 25] }), // 17
  call(422, { batch: ['b2', 75, 12] }), // 18
  call(200, { batch: ['b2', 87, 13] }), // 19
  call(200, { batch: ['b2', 75, 6] }), // 20
  call(422, { batch: ['b2', 81, 6] }), // 21
  call(500, { path: '/participants/batches' }), // 22: untagged
  call(500, { path: '/participants/batches', attempt: 2 }), // 23
  call(200, { path: '/participants/batches', attempt: 3 }), // 24
  call(200, { batch: ['b3', 0, 40] }), // 25
];

let dir: string;
let store: SqliteStateStore;
let history: SqliteRunHistory;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'panelsync-call-pages-'));
  store = new SqliteStateStore(join(dir, 'state.db'));
  store.startRun({ id: RUN, sync: 'customers-to-panel', trigger: 'manual', startedAt: '2026-01-01T00:00:00.000Z' });
  CALLS.forEach((c, i) => store.recordCall(RUN, i + 1, c));
  history = new SqliteRunHistory(store.db);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every page of `limit` calls, laid end to end, with the `next_after` of each. */
function allPages(limit: number): { calls: CallTreeItem[]; nextAfters: Array<number | null> } {
  const calls: CallTreeItem[] = [];
  const nextAfters: Array<number | null> = [];
  for (let after: number | null = 0; after !== null; ) {
    const page = history.listCallTree(RUN, { afterSeq: after, limit });
    expect(page.calls.length).toBeLessThanOrEqual(limit);
    calls.push(...page.calls);
    nextAfters.push(page.next_after);
    after = page.next_after;
  }
  return { calls, nextAfters };
}

describe('listCallTree', () => {
  it('places every call of every page as the tree of the whole run does, whatever the page size', () => {
    const whole = callTree(history.listCalls(RUN)).sort((a, b) => a.seq - b.seq);
    expect(whole).toHaveLength(CALLS.length);
    // The run is what it says: retries and split retries at several depths.
    expect(whole.find((c) => c.seq === 15)).toMatchObject({ depth: 2, parent_seq: 11, request_seq: 13 });
    expect(whole.find((c) => c.seq === 21)).toMatchObject({ depth: 4, parent_seq: 18 });
    expect(whole.find((c) => c.seq === 5)).toMatchObject({ depth: 0, request_seq: 4 });
    expect(whole.find((c) => c.seq === 24)).toMatchObject({ depth: 0, request_seq: 22 });
    for (let limit = 1; limit <= CALLS.length + 1; limit++) {
      const { calls } = allPages(limit);
      expect(calls, `limit ${limit}`).toEqual(whole);
    }
  });

  it('says where the next page starts, and null on the last page', () => {
    expect(allPages(10).nextAfters).toEqual([10, 20, null]);
    expect(allPages(25).nextAfters).toEqual([null]);
    expect(history.listCallTree(RUN, { afterSeq: 25, limit: 10 })).toEqual({ calls: [], next_after: null });
    expect(history.listCallTree(RUN).calls).toHaveLength(CALLS.length);
    expect(history.listCallTree('rnone', { limit: 5 })).toEqual({ calls: [], next_after: null });
  });
});
