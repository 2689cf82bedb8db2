/**
 * The call tree of a run: which call split which. Derived from the batch linkage each call
 * carries (./batch-call-tag.ts), so that the debugger shows split retries nested under the
 * call whose batch they split.
 */
import type { CallListItem, CallTreeItem } from './run-history.ts';

interface Request {
  calls: CallListItem[];
  children: Request[];
  parent: Request | null;
}

/**
 * Orders a run's calls as a tree, depth first.
 *
 * A request is a first attempt (`attempt` 1) with the later attempts of the same tag (or, without
 * a tag, the same method and URL) that follow it; its attempts are listed one after another at
 * the same depth. A request that sent rows `[o, o + n)` of a batch is nested under the request of
 * the same batch, sent before it, with the smallest slice that holds it and more rows (the call it
 * split). Top-level requests and the children of a request keep the order of their first attempt.
 *
 * @param calls the run's calls, any order
 * @returns every call once, depth first, with `depth`, `parent_seq` and `request_seq`
 */
export function callTree(calls: readonly CallListItem[]): CallTreeItem[] {
  const roots: Request[] = [];
  const lastByKey = new Map<string, Request>();
  const byBatch = new Map<string, Request[]>();

  for (const call of [...calls].sort((a, b) => a.seq - b.seq)) {
    const key = call.tag ?? `${call.method} ${call.url}`;
    const open = lastByKey.get(key);
    if (call.attempt > 1 && open && open.calls[open.calls.length - 1]!.attempt === call.attempt - 1) {
      open.calls.push(call);
      continue;
    }
    const request: Request = { calls: [call], children: [], parent: null };
    lastByKey.set(key, request);
    if (call.batch !== null && call.row_offset !== null && call.row_count !== null) {
      const siblings = byBatch.get(call.batch) ?? [];
      request.parent = smallestHolder(siblings, call.row_offset, call.row_count);
      siblings.push(request);
      byBatch.set(call.batch, siblings);
    }
    (request.parent?.children ?? roots).push(request);
  }

  const out: CallTreeItem[] = [];
  const walk = (request: Request, depth: number) => {
    const parentSeq = request.parent ? request.parent.calls[0]!.seq : null;
    const requestSeq = request.calls[0]!.seq;
    for (const call of request.calls) out.push({ ...call, depth, parent_seq: parentSeq, request_seq: requestSeq });
    for (const child of request.children) walk(child, depth + 1);
  };
  for (const root of roots) walk(root, 0);
  return out;
}

function smallestHolder(candidates: readonly Request[], offset: number, count: number): Request | null {
  let best: Request | null = null;
  for (const candidate of candidates) {
    const c = candidate.calls[0]!;
    const o = c.row_offset!;
    const n = c.row_count!;
    if (o <= offset && offset + count <= o + n && n > count && (best === null || n <= best.calls[0]!.row_count!)) best = candidate;
  }
  return best;
}
