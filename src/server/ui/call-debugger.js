/**
 * The live debugger of a run: its API calls (every attempt) as the call tree, split retries nested
 * under the batch call they split (src/state/call-tree.ts). Each call is a `<details>` whose
 * summary reads method, path, status and duration; opening it loads the call's request and
 * response (GET /api/v1/runs/{id}/calls/{seq}, CallDetail in src/state/run-history.ts).
 *
 * Calls are loaded page by page in `seq` order (GET /api/v1/runs/{id}/calls?after=SEQ&limit=N,
 * docs/http-api.md): a run in insert mode makes one call per row. Up to {@link CALLS_AUTO_LIMIT}
 * come by themselves (the first load, then new calls while the run is in progress); "Show more
 * calls" loads the next page. Each call comes with its place in the tree of the whole run
 * (`depth`, `parent_seq`, `request_seq`), which depends only on the calls before it, so the tree
 * of the pages loaded so far is exact; {@link treeOrder} lays it out depth first.
 *
 * Calls never change once recorded, so loading more only adds list items: open calls, focus and
 * scroll stay as they are. What came of each request is said on its last attempt, in the words of
 * `panelsync debug` (./call-outcome.js): "rejected as a whole: split in 2", "12 rows rejected (pk
 * …): …", "gave up after 3 attempts"; retries ("↻ attempt 2") sit one step in, under the attempt
 * they retried; a batch call names the rows it sent, 1-based ("upsert b10 row 88"). The rows named
 * are those of the run's rejected, invalid and unsent rows the page has loaded ({@link noteRows}).
 */
import { apiRequest, isViewer, segment } from './api-client.js';
import { attemptNote, batchRowsText, requestOutcome } from './call-outcome.js';
import { h, reconcileChildren, replaceChildren } from './dom.js';
import { absoluteTime, breakAfter, bytes, count, duration, httpStatusBadge, isRetriedStatus, urlPath } from './format.js';

/** Primary keys listed for one call before "and N more". */
const PKS_SHOWN = 50;
/** Calls fetched per request. */
const CALLS_PAGE = 250;
/** Calls loaded without asking: on the first load and while the run is in progress. */
const CALLS_AUTO_LIMIT = 1000;
/** Largest `limit` the API takes (MAX_LIST_LIMIT in src/server/create-app.ts). */
const MAX_API_LIMIT = 10000;

/**
 * @param {string} runId
 * @returns {{ el: HTMLElement, refresh(run: object): Promise<void>, reveal(seq: number): Promise<boolean>, noteRows(rows: object[]): void }}
 *   `refresh` takes the run (RunDetail) and loads the calls recorded since the last load, within
 *   {@link CALLS_AUTO_LIMIT}; `reveal` opens, scrolls to and focuses a call, loading the pages up
 *   to it first; false when the run has no such call (yet); `noteRows` takes row outcomes
 *   (OutcomeItem) as the page loads them, so that each call says which rows it rejected or left unsent
 */
export function callDebugger(runId) {
  /** seq -> { li, setNote(text, kind) } */
  const items = new Map();
  /** call_seq -> the rejected and unsent rows whose final answer that call carried. */
  const rowsByCall = new Map();
  const list = h('ol', { class: 'call-tree', 'aria-label': 'API calls' });
  const countLine = h('p', { class: 'call-count' });
  const onlyFailed = h('input', { type: 'checkbox', id: 'only-failed-calls' });
  const emptyFilter = h('p', { class: 'muted', hidden: true }, 'No call failed.');
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Show more calls');
  /** Calls loaded so far, in seq order (pages are contiguous from the first call). */
  const calls = [];
  let after = 0;
  /** Whether the last page said no call follows (more may come while the run is in progress). */
  let atEnd = false;
  /** Calls the run has (RunDetail.calls) as of the last refresh. */
  let total = 0;
  let running = false;
  let fetchedAfterEnd = false;
  /** The load in flight: pages are fetched one after the other, never two at once. */
  let loading = Promise.resolve();

  /**
   * Says on each call what came of it: on a request's last attempt its outcome, on an earlier one
   * why it was retried. `partial`: more calls may come (not loaded, or the run is in progress).
   */
  const annotate = (partial) => {
    const attempts = new Map();
    const parts = new Map();
    for (const call of calls) {
      attempts.set(call.request_seq, [...(attempts.get(call.request_seq) ?? []), call]);
      if (call.parent_seq !== null && call.seq === call.request_seq) parts.set(call.parent_seq, (parts.get(call.parent_seq) ?? 0) + 1);
    }
    for (const call of calls) {
      const request = attempts.get(call.request_seq);
      const last = request[request.length - 1];
      if (call !== last) {
        items.get(call.seq).setNote(attemptNote(call), 'retried');
        continue;
      }
      const note = requestOutcome(call, {
        attempts: request.length,
        parts: parts.get(call.request_seq) ?? 0,
        rows: rowsByCall.get(call.seq) ?? [],
        retryable: call.status === null || isRetriedStatus(call.status),
        partial,
      });
      items.get(call.seq).setNote(note, parts.has(call.request_seq) ? 'split' : isFailed(call) || (rowsByCall.get(call.seq) ?? []).length ? 'failed' : 'ok');
    }
  };

  const applyFilter = () => {
    let shown = 0;
    for (const call of calls) {
      const hide = onlyFailed.checked && !isFailed(call);
      items.get(call.seq).li.hidden = hide;
      if (!hide) shown++;
    }
    emptyFilter.hidden = !(onlyFailed.checked && shown === 0 && calls.length > 0);
  };
  onlyFailed.addEventListener('change', applyFilter);

  const render = () => {
    const all = Math.max(total, calls.length);
    const failed = calls.filter(isFailed).length;
    const partial = calls.length < all;
    countLine.textContent =
      all === 0
        ? running
          ? 'No API calls recorded so far.'
          : 'No API calls recorded.'
        : `${count(all)} call${all === 1 ? '' : 's'}${partial ? `, the first ${count(calls.length)} shown` : ''}` +
          `${failed ? `, ${count(failed)} failed${partial ? ' among them' : ''}` : ''}.`;
    for (const call of calls) if (!items.has(call.seq)) items.set(call.seq, callItem(runId, call));
    reconcileChildren(
      list,
      treeOrder(calls).map((c) => items.get(c.seq).li),
    );
    annotate(partial || running);
    applyFilter();
    more.hidden = !partial || (running && calls.length < CALLS_AUTO_LIMIT);
    const next = Math.min(CALLS_PAGE, all - calls.length);
    more.textContent = `Show ${count(next)} more call${next === 1 ? '' : 's'} (${count(all - calls.length)} not shown yet)`;
  };

  /** Fetches the next page of at most `limit` calls; false when none came. */
  const fetchPage = async (limit) => {
    const page = await apiRequest(`/runs/${segment(runId)}/calls?after=${after}&limit=${Math.min(limit, MAX_API_LIMIT)}`);
    calls.push(...page.calls);
    if (page.calls.length > 0) after = page.calls[page.calls.length - 1].seq;
    atEnd = page.next_after === null;
    return page.calls.length > 0;
  };
  /** Runs `load` after the load in flight, and renders once it is done. */
  const queue = (load) => {
    const next = loading.then(load).finally(render);
    loading = next.catch(() => undefined);
    return next;
  };

  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      await queue(() => fetchPage(CALLS_PAGE));
    } finally {
      more.disabled = false;
    }
  });

  const el = h(
    'div',
    { class: 'call-debugger' },
    h(
      'div',
      { class: 'debugger-toolbar' },
      countLine,
      h('label', { class: 'checkbox' }, onlyFailed, ' Only failed calls (no response, 4xx, 5xx)'),
    ),
    emptyFilter,
    list,
    more,
  );

  return {
    el,
    refresh(run) {
      total = run.calls;
      running = run.status === 'running';
      // While running, new calls come by themselves; once it ended, one more load for the last ones.
      if (fetchedAfterEnd) return queue(() => undefined);
      const ended = !running;
      return queue(async () => {
        while (calls.length < CALLS_AUTO_LIMIT) {
          const got = await fetchPage(Math.min(CALLS_PAGE, CALLS_AUTO_LIMIT - calls.length));
          if (!got || atEnd) break;
        }
        fetchedAfterEnd = ended;
      });
    },
    async reveal(seq) {
      if (!items.has(seq) && seq > after) {
        await queue(async () => {
          while (seq > after) {
            const got = await fetchPage(seq - after);
            if (!got || atEnd) break;
          }
        });
      }
      const item = items.get(seq)?.li;
      if (!item) return false;
      if (item.hidden) {
        onlyFailed.checked = false;
        applyFilter();
      }
      const details = item.querySelector('details');
      details.open = true;
      const summary = details.querySelector('summary');
      summary.scrollIntoView({ block: 'center' });
      summary.focus();
      return true;
    },
    noteRows(rows) {
      let added = false;
      for (const row of rows) {
        if ((row.result !== 'rejected' && row.result !== 'unsent') || row.call_seq === null) continue;
        rowsByCall.set(row.call_seq, [...(rowsByCall.get(row.call_seq) ?? []), row]);
        added = true;
      }
      if (added) queue(() => undefined);
    },
  };
}

/**
 * The calls loaded so far, depth first as src/state/call-tree.ts orders the whole run: each
 * request (a first attempt and its retries, by `request_seq`) followed by the requests that split
 * it (`parent_seq`), requests in the order of their first attempt. A call's parent and first
 * attempt come before it, so they are loaded whenever it is.
 * @param {object[]} calls CallTreeItem list in seq order
 * @returns {object[]} the same calls, depth first
 */
function treeOrder(calls) {
  const requests = new Map();
  const roots = [];
  for (const call of calls) {
    let request = requests.get(call.request_seq);
    if (!request) {
      request = { calls: [], children: [] };
      requests.set(call.request_seq, request);
      const parent = call.parent_seq === null ? undefined : requests.get(call.parent_seq);
      (parent ? parent.children : roots).push(request);
    }
    request.calls.push(call);
  }
  const out = [];
  const walk = (request) => {
    out.push(...request.calls);
    for (const child of request.children) walk(child);
  };
  for (const root of roots) walk(root);
  return out;
}

function isFailed(call) {
  return call.status === null || call.status >= 400;
}

/**
 * One call: its `<li>` with a `<details>` that loads the bodies when first opened, and `setNote`,
 * which says what came of it (`kind`: ok, failed, split or retried, for its colour).
 */
function callItem(runId, call) {
  const body = h('div', { class: 'call-body' }, h('p', { class: 'muted' }, 'Loading request and response…'));
  const note = h('span', { class: 'call-outcome', hidden: true });
  const details = h('details', { class: 'call' }, callSummary(call, note), body);
  let loaded = false;
  const load = async () => {
    loaded = true;
    try {
      const detail = await apiRequest(`/runs/${segment(runId)}/calls/${call.seq}`);
      replaceChildren(body, callDetail(detail));
    } catch (err) {
      loaded = false;
      replaceChildren(
        body,
        h('p', { class: 'form-error' }, `Could not load call #${call.seq}: ${err instanceof Error ? err.message : String(err)} `),
        h('button', { type: 'button', class: 'button small', on: { click: load } }, 'Try again'),
      );
    }
  };
  details.addEventListener('toggle', () => {
    if (details.open && !loaded) load();
  });
  const retry = call.attempt > 1;
  const li = h('li', { id: `call-${call.seq}`, class: `call-item depth-${Math.min(call.depth, 6)}${retry ? ' call-retry' : ''}`, dataset: { seq: call.seq } }, details);
  li.style.setProperty('--depth', String(call.depth));
  // A retry sits one step in, under the attempt it retried.
  li.style.setProperty('--indent', String(call.depth + (retry ? 1 : 0)));
  return {
    li,
    setNote(text, kind) {
      const shown = text === '' ? '' : `→ ${text}`;
      if (note.textContent !== shown) note.textContent = shown;
      note.hidden = text === '';
      note.className = `call-outcome outcome-${kind}`;
    },
  };
}

/** The rows a call sent, 1-based ("upsert b10 row 88"); `null` for a call that sent none. */
function callRows(call) {
  if (call.batch === null || call.row_offset === null || call.row_count === null) return null;
  const operation = (call.tag ?? '').split(':', 1)[0] || 'send';
  return batchRowsText({ operation, batch: call.batch, offset: call.row_offset, count: call.row_count });
}

function callSummary(call, note) {
  const rows = callRows(call);
  return h(
    'summary',
    null,
    h('span', { class: 'call-seq' }, `#${call.seq}`),
    call.attempt > 1 ? h('span', { class: 'call-attempt' }, `↻ attempt ${call.attempt}`) : null,
    h('span', { class: 'call-method' }, call.method),
    h('span', { class: 'call-path' }, breakAfter(urlPath(call.url), '/?&')),
    h('span', { class: 'call-status' }, httpStatusBadge(call.status)),
    h('span', { class: 'call-duration' }, duration(call.duration_ms)),
    rows ? h('span', { class: 'call-notes' }, rows) : null,
    note,
  );
}

/** The bodies of an opened call (CallDetail). */
function callDetail(detail) {
  return [
    h(
      'dl',
      { class: 'facts compact' },
      h('div', { class: 'fact-wide' }, h('dt', null, 'URL'), h('dd', { class: 'mono url' }, `${detail.method} `, breakAfter(detail.url, '/?&'))),
      h('div', null, h('dt', null, 'Started'), h('dd', null, absoluteTime(detail.started_at))),
      h('div', null, h('dt', null, 'Duration'), h('dd', null, duration(detail.duration_ms))),
      callRows(detail)
        ? h('div', null, h('dt', null, 'Rows sent'), h('dd', null, callRows(detail)))
        : detail.tag
          ? h('div', null, h('dt', null, 'Purpose'), h('dd', null, detail.tag))
          : null,
      detail.attempt > 1 ? h('div', null, h('dt', null, 'Attempt'), h('dd', null, String(detail.attempt))) : null,
      detail.error ? h('div', { class: 'fact-wide' }, h('dt', null, 'Error'), h('dd', { class: 'reason' }, detail.error)) : null,
    ),
    detail.pks.length
      ? h(
          'p',
          { class: 'call-pks' },
          h('strong', null, `Primary keys sent (${count(detail.pks.length)}): `),
          detail.pks.slice(0, PKS_SHOWN).join(', '),
          detail.pks.length > PKS_SHOWN ? ` and ${count(detail.pks.length - PKS_SHOWN)} more` : '',
        )
      : null,
    isViewer()
      ? h('p', { class: 'muted viewer-note' }, 'Request and response bodies are not shown to the viewer token.')
      : h(
          'div',
          { class: 'call-messages' },
          bodyBlock('Request body', detail.request_body, detail.request_bytes, detail.request_truncated),
          bodyBlock(
            `Response body${detail.status === null ? '' : ` (${detail.status})`}`,
            detail.response_body,
            detail.response_bytes,
            detail.response_truncated,
          ),
        ),
  ];
}

function bodyBlock(title, text, size, truncated) {
  return h(
    'section',
    { class: 'body-block' },
    h('h4', null, title, size !== null ? h('span', { class: 'muted' }, ` · ${bytes(size)}${truncated ? ', cut at 64 KiB' : ''}`) : null),
    text === null || text === '' ? h('p', { class: 'muted' }, 'No body.') : h('pre', { class: 'body', tabindex: '0' }, prettyJson(text)),
  );
}

/** `text` re-indented when it is JSON, else as it is (e.g. cut bodies). */
function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
