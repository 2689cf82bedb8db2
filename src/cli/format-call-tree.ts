/**
 * A run's API calls as a text tree for `panelsync debug`: one line per call (every attempt), split
 * retries nested under the call whose batch they split, retries of the same request marked `↻`,
 * and on each request's last line what came of it (split, or the rows the API rejected there with
 * its own error).
 */
import { isRetryableStatus } from '../http/errors.ts';
import { attemptNote, batchRowsText, requestOutcome } from '../server/ui/call-outcome.js';
import { parseBatchCallTag } from '../state/batch-call-tag.ts';
import type { CallTreeItem, OutcomeItem } from '../state/run-history.ts';
import { formatDuration, plural } from './format-history.ts';
import { textTable } from './text-table.ts';

/** Above this many calls, runs of uneventful top-level calls are folded into one line. */
export const FOLD_ABOVE_CALLS = 60;

interface RequestNode {
  calls: CallTreeItem[];
  depth: number;
  children: number;
  /** Whether it is its parent's last child (always true at the top, where no connector is drawn). */
  last: boolean;
  /** What the lines under this request (its retries and children) start with. */
  indent: string;
}

/**
 * Formats `tree` (from `callTree`, depth first) as table lines: `#`, status, duration, and the
 * call in its place in the tree. `failing` (the run's rejected rows, with `call_seq`) names the
 * rows each call finally rejected. With more than {@link FOLD_ABOVE_CALLS} calls, of four or more
 * top-level requests in a row that succeeded at the first attempt, rejected no row and were not
 * split, the first is shown and the rest folded into one `⋯` line naming the first and last folded.
 *
 * `partial`: `tree` holds only the run's first calls, so a request may have later attempts or
 * parts that are not in it; what came of a request then says only what the calls shown say
 * (the parts shown of a split, no further attempt among the calls shown) instead of "split in N"
 * and "gave up".
 * @returns lines without trailing newlines, the header first; `[]` without calls
 */
export function formatCallTree(tree: readonly CallTreeItem[], failing: readonly OutcomeItem[], options: { partial?: boolean } = {}): string[] {
  if (tree.length === 0) return [];
  const partial = options.partial === true;
  const origin = commonOrigin(tree);
  const requests = toRequests(tree);
  const bySeq = new Map(tree.map((c) => [c.seq, c]));
  const rejectedAt = new Map<number, OutcomeItem[]>();
  for (const row of failing) {
    if ((row.result !== 'rejected' && row.result !== 'unsent') || row.call_seq === null) continue;
    rejectedAt.set(row.call_seq, [...(rejectedAt.get(row.call_seq) ?? []), row]);
  }

  const rows: string[][] = [];
  const plain = (r: RequestNode) =>
    r.depth === 0 && r.calls.length === 1 && r.children === 0 && isSuccess(r.calls[0]!.status) && !rejectedAt.has(r.calls[0]!.seq);
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    if (tree.length > FOLD_ABOVE_CALLS && plain(request)) {
      let end = i;
      while (end + 1 < requests.length && plain(requests[end + 1]!)) end++;
      if (end - i >= 3) {
        rows.push(...requestRows(request, origin, rejectedAt, bySeq, partial));
        const first = requests[i + 1]!.calls[0]!.seq;
        const lastSeq = requests[end]!.calls[0]!.seq;
        rows.push(['', '', '', `⋯ ${plural(end - i, 'more call')} (#${first}-#${lastSeq}) answered 2xx at the first attempt`]);
        i = end;
        continue;
      }
    }
    rows.push(...requestRows(request, origin, rejectedAt, bySeq, partial));
  }
  return textTable([{ header: '#', right: true }, { header: 'STATUS' }, { header: 'TIME', right: true }, { header: 'CALL' }], rows);
}

/** The origin (`http://host:port`) every call went to, or `null` when they differ. */
export function commonOrigin(calls: ReadonlyArray<{ url: string }>): string | null {
  const origins = new Set(calls.map((c) => originOf(c.url)));
  return origins.size === 1 ? [...origins][0]! : null;
}

function toRequests(tree: readonly CallTreeItem[]): RequestNode[] {
  const requests: RequestNode[] = [];
  for (const call of tree) {
    const open = requests.at(-1);
    if (open && open.calls[0]!.request_seq === call.request_seq) open.calls.push(call);
    else requests.push({ calls: [call], depth: call.depth, children: 0, last: true, indent: '' });
  }
  const bySeq = new Map(requests.map((r) => [r.calls[0]!.request_seq, r]));
  const lastChild = new Map<number, RequestNode>();
  for (const r of requests) {
    const parentSeq = r.calls[0]!.parent_seq;
    if (parentSeq === null) continue;
    const parent = bySeq.get(parentSeq);
    if (parent) parent.children++;
    lastChild.set(parentSeq, r);
  }
  for (const r of requests) {
    const parentSeq = r.calls[0]!.parent_seq;
    const parent = parentSeq === null ? undefined : bySeq.get(parentSeq);
    r.last = parentSeq === null || lastChild.get(parentSeq) === r;
    // Depth first: a parent comes before its children, so its indent is known here.
    r.indent = r.depth === 0 ? '' : `${parent?.indent ?? ''}${r.last ? '   ' : '│  '}`;
  }
  return requests;
}

function requestRows(
  request: RequestNode,
  origin: string | null,
  rejectedAt: Map<number, OutcomeItem[]>,
  bySeq: Map<number, CallTreeItem>,
  partial: boolean,
): string[][] {
  const connector = request.depth === 0 ? '' : request.last ? '└─ ' : '├─ ';
  const parentIndent = request.depth === 0 ? '' : request.indent.slice(0, -3);
  const first = request.calls[0]!;
  const parent = first.parent_seq === null ? undefined : bySeq.get(first.parent_seq);
  // A split retry goes to the endpoint of the call it split: its rows say enough.
  const sameEndpoint = parent !== undefined && parent.method === first.method && parent.url === first.url;
  const description = sameEndpoint ? (batchRows(first.tag) ?? describeCall(first, origin)) : describeCall(first, origin);
  return request.calls.map((call, i) => {
    const isLast = i === request.calls.length - 1;
    const label = i === 0 ? `${parentIndent}${connector}${description}` : `${request.indent}↻ attempt ${call.attempt}`;
    const outcome = isLast ? finalNote(call, request, rejectedAt.get(call.seq) ?? [], partial) : attemptNote(call);
    return [String(call.seq), call.status === null ? '-' : String(call.status), formatDuration(call.duration_ms), outcome ? `${label} → ${outcome}` : label];
  });
}

/** `PATCH /api/participants/batches  upsert b1 rows 1-50`: the URL without `origin` (when given), and the rows sent. */
function describeCall(call: CallTreeItem, origin: string | null): string {
  const where = origin === null ? call.url : call.url.slice(origin.length) || '/';
  const rows = batchRows(call.tag);
  return rows === null ? `${call.method} ${where}` : `${call.method} ${where}  ${rows}`;
}

/**
 * The rows a batch call sent, from its tag: `upsert b1 rows 1-50`, `delete b7 row 1` (positions
 * 1-based within the batch; the web UI says the same, src/server/ui/call-outcome.js); `null` for a
 * call that sent no rows of a batch.
 */
export function batchRows(tag: string | null): string | null {
  return batchRowsText(parseBatchCallTag(tag));
}

/**
 * What came of a request, on its last attempt's line (src/server/ui/call-outcome.js, which the web
 * UI's debugger shares): split, the rows the API rejected there, or, when the last attempt failed
 * in a way that is retried (no response, or `isRetryableStatus`), that the client gave up.
 * `partial`: later calls of the run are not shown (see {@link formatCallTree}).
 */
function finalNote(call: CallTreeItem, request: RequestNode, rejected: readonly OutcomeItem[], partial: boolean): string {
  return requestOutcome(call, {
    attempts: request.calls.length,
    parts: request.children,
    rows: rejected,
    retryable: call.status === null || isRetryableStatus(call.status),
    partial,
  });
}

function isSuccess(status: number | null): boolean {
  return status !== null && status >= 200 && status <= 299;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
