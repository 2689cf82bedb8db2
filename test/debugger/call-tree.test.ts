/**
 * The call tree (src/state/call-tree.ts) and its text form (src/cli/format-call-tree.ts) on call
 * lists a run can produce but the emulator does not easily: batches interleaved by concurrency,
 * retries of a split retry, paged reads, runs of hundreds of calls.
 */
import { describe, expect, it } from 'vitest';
import { formatCallTree } from '../../src/cli/format-call-tree.ts';
import { batchCallTag, parseBatchCallTag } from '../../src/state/batch-call-tag.ts';
import { callTree } from '../../src/state/call-tree.ts';
import type { CallListItem, OutcomeItem } from '../../src/state/run-history.ts';

const BASE = 'https://www.userinterviews.com/api';
let nextSeq = 1;

/** A call as the store lists it; `batch` as [id, offset, count] for a batch call. */
function call(status: number | null, options: { batch?: [string, number, number]; attempt?: number; tag?: string; path?: string; method?: CallListItem['method'] } = {}): CallListItem {
  const [batch, offset, count] = options.batch ?? [null, null, null];
  return {
    seq: nextSeq++,
    method: options.method ?? (batch === null ? 'GET' : 'PATCH'),
    url: `${BASE}${options.path ?? (batch === null ? '/characteristics' : '/participants/batches')}`,
    status,
    duration_ms: 12,
    attempt: options.attempt ?? 1,
    started_at: '2026-01-01T00:00:00.000Z',
    tag: batch === null ? (options.tag ?? null) : batchCallTag('upsert', batch, offset!, count!),
    batch,
    row_offset: offset,
    row_count: count,
    error: status === null ? 'PATCH https://www.userinterviews.com/api/participants/batches timed out after 30000 ms' : null,
  };
}

describe('callTree', () => {
  it('nests each split retry under the call of its own batch, with batches interleaved', () => {
    nextSeq = 1;
    const calls = [
      call(200, { tag: 'characteristics' }), // 1
      call(422, { batch: ['b1', 0, 100] }), // 2
      call(422, { batch: ['b2', 0, 100] }), // 3
      call(200, { batch: ['b1', 0, 50] }), // 4
      call(200, { batch: ['b2', 0, 50] }), // 5
      call(422, { batch: ['b2', 50, 50] }), // 6
      call(422, { batch: ['b1', 50, 50] }), // 7
      call(200, { batch: ['b2', 50, 25] }), // 8
      call(null, { batch: ['b1', 50, 25] }), // 9: timed out
      call(200, { batch: ['b1', 50, 25], attempt: 2 }), // 10: its retry
      call(200, { batch: ['b1', 75, 25] }), // 11
      call(422, { batch: ['b2', 75, 25] }), // 12
    ];
    const tree = callTree([...calls].reverse());
    expect(tree.map((c) => [c.seq, c.depth, c.parent_seq, c.request_seq])).toEqual([
      [1, 0, null, 1],
      [2, 0, null, 2],
      [4, 1, 2, 4],
      [7, 1, 2, 7],
      [9, 2, 7, 9],
      [10, 2, 7, 9],
      [11, 2, 7, 11],
      [3, 0, null, 3],
      [5, 1, 3, 5],
      [6, 1, 3, 6],
      [8, 2, 6, 8],
      [12, 2, 6, 12],
    ]);
  });

  it('keeps the attempts of one request together, and tells paged reads apart', () => {
    nextSeq = 1;
    const page = (n: number, status: number | null, attempt = 1) => call(status, { tag: 'directory', path: `/participants?page[size]=200&page[number]=${n}`, attempt });
    const tree = callTree([page(1, 200), page(2, 503), page(2, 429, 2), page(2, 200, 3), page(3, 200)]);
    expect(tree.map((c) => [c.seq, c.attempt, c.depth, c.request_seq])).toEqual([
      [1, 1, 0, 1],
      [2, 1, 0, 2],
      [3, 2, 0, 2],
      [4, 3, 0, 2],
      [5, 1, 0, 5],
    ]);
  });
});

describe('formatCallTree', () => {
  it('draws split retries as a tree, retries with ↻, and names the rows each call rejected', () => {
    nextSeq = 1;
    const calls = [
      call(500, { batch: ['b1', 0, 4] }), // 1
      call(422, { batch: ['b1', 0, 4], attempt: 2 }), // 2
      call(200, { batch: ['b1', 0, 2] }), // 3
      call(null, { batch: ['b1', 2, 2] }), // 4
      call(422, { batch: ['b1', 2, 2], attempt: 2 }), // 5
      call(422, { batch: ['b1', 2, 1] }), // 6
      call(200, { batch: ['b1', 3, 1] }), // 7
    ];
    const rejected: OutcomeItem = {
      id: 3, run_id: 'r1', sync: 's', pk: 'C-3', class: 'added', result: 'rejected', error: 'email: email is not deliverable',
      participant_id: null, at: '2026-01-01T00:00:00.000Z', batch: 'b1', batch_index: 2, call_seq: 6,
    };
    expect(formatCallTree(callTree(calls), [rejected])).toEqual([
      '  #  STATUS   TIME  CALL',
      '  1  500     12 ms  PATCH /api/participants/batches  upsert b1 rows 1-4 → retried',
      '  2  422     12 ms  ↻ attempt 2 → rejected as a whole: split in 2',
      '  3  200     12 ms  ├─ upsert b1 rows 1-2',
      '  4  -       12 ms  └─ upsert b1 rows 3-4 → PATCH https://www.userinterviews.com/api/participants/batches timed out after 30000 ms; retried',
      '  5  422     12 ms     ↻ attempt 2 → rejected as a whole: split in 2',
      '  6  422     12 ms     ├─ upsert b1 row 3 → pk C-3 rejected: email: email is not deliverable',
      '  7  200     12 ms     └─ upsert b1 row 4',
    ]);
  });

  it('claims nothing beyond the calls shown when they are only the first of the run', () => {
    nextSeq = 1;
    // The run's first 3 calls: a batch split, its first part, and a part that timed out.
    const calls = [call(422, { batch: ['b1', 0, 4] }), call(200, { batch: ['b1', 0, 2] }), call(null, { batch: ['b1', 2, 2] })];
    const lines = formatCallTree(callTree(calls), [], { partial: true }).map((line) => line.replace(/ +12 ms {2}/, ' T '));
    expect(lines).toEqual([
      '  #  STATUS   TIME  CALL',
      '  1  422 T PATCH /api/participants/batches  upsert b1 rows 1-4 → rejected as a whole: split (2 parts shown)',
      '  2  200 T ├─ upsert b1 rows 1-2',
      '  3  - T └─ upsert b1 rows 3-4 → PATCH https://www.userinterviews.com/api/participants/batches timed out after 30000 ms; no further attempt among the calls shown',
    ]);
    expect(formatCallTree(callTree(calls), []).at(-1)).toMatch(/timed out after 30000 ms; gave up after 1 attempt$/);
  });

  it('folds long runs of uneventful calls in a big run, keeping every call that had trouble', () => {
    nextSeq = 1;
    const calls = [call(200, { tag: 'characteristics' })];
    for (let b = 1; b <= 80; b++) calls.push(call(b === 40 ? 503 : 200, { batch: [`b${b}`, 0, 100] }));
    calls.push(call(200, { batch: ['b40', 0, 100], attempt: 2 }));
    const lines = formatCallTree(callTree(calls), []);
    expect(lines.map((line) => line.replace(/ +12 ms {2}/, ' T '))).toEqual([
      '   #  STATUS   TIME  CALL',
      '   1  200 T GET /api/characteristics',
      '                     ⋯ 39 more calls (#2-#40) answered 2xx at the first attempt',
      '  41  503 T PATCH /api/participants/batches  upsert b40 rows 1-100 → retried',
      '  82  200 T ↻ attempt 2',
      '  42  200 T PATCH /api/participants/batches  upsert b41 rows 1-100',
      '                     ⋯ 39 more calls (#43-#81) answered 2xx at the first attempt',
    ]);
  });
});

describe('batchCallTag', () => {
  it('round-trips, and refuses what would not parse', () => {
    expect(parseBatchCallTag(batchCallTag('clear', 'b12', 50, 25))).toEqual({ operation: 'clear', batch: 'b12', offset: 50, count: 25 });
    expect(parseBatchCallTag('directory')).toBeNull();
    expect(parseBatchCallTag(null)).toBeNull();
    expect(() => batchCallTag('up:sert', 'b1', 0, 1)).toThrow(RangeError);
    expect(() => batchCallTag('upsert', 'b1', -1, 1)).toThrow(/offset >= 0 and count >= 1/);
    expect(() => batchCallTag('upsert', 'b1', 0, 0)).toThrow(RangeError);
    expect(() => batchCallTag('upsert', 'b1', 0.5, 1)).toThrow(RangeError);
  });
});
