/**
 * The live debugger of a run: every API call (every attempt) as the call tree, split retries
 * nested under the batch call they split (src/state/call-tree.ts). Each call is a `<details>`
 * whose summary reads method, path, status and duration; opening it loads the call's request and
 * response (GET /api/v1/runs/{id}/calls/{seq}, CallDetail in src/state/run-history.ts).
 *
 * Calls never change once recorded, so a poll only adds list items: open calls, focus and scroll
 * stay as they are.
 */
import { apiRequest, segment } from './api-client.js';
import { h, reconcileChildren } from './dom.js';
import { absoluteTime, bytes, count, duration, httpStatusBadge, urlPath } from './format.js';

/** Primary keys listed for one call before "and N more". */
const PKS_SHOWN = 50;

/**
 * @param {string} runId
 * @returns {{ el: HTMLElement, update(calls: object[]): void, reveal(seq: number): boolean }}
 *   `update` takes the run's CallTreeItem list (depth first); `reveal` opens, scrolls to and
 *   focuses a call, false when it is not listed (yet)
 */
export function callDebugger(runId) {
  const items = new Map();
  const list = h('ol', { class: 'call-tree', 'aria-label': 'API calls' });
  const countLine = h('p', { class: 'call-count' });
  const onlyFailed = h('input', { type: 'checkbox', id: 'only-failed-calls' });
  const emptyFilter = h('p', { class: 'muted', hidden: true }, 'No call failed.');
  let calls = [];

  const applyFilter = () => {
    let shown = 0;
    for (const call of calls) {
      const hide = onlyFailed.checked && !isFailed(call);
      items.get(call.seq).hidden = hide;
      if (!hide) shown++;
    }
    emptyFilter.hidden = !(onlyFailed.checked && shown === 0 && calls.length > 0);
  };
  onlyFailed.addEventListener('change', applyFilter);

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
  );

  return {
    el,
    update(next) {
      calls = next;
      const failed = calls.filter(isFailed).length;
      countLine.textContent =
        calls.length === 0
          ? 'No API calls recorded.'
          : `${count(calls.length)} call${calls.length === 1 ? '' : 's'}${failed ? `, ${count(failed)} failed` : ''}.`;
      for (const call of calls) if (!items.has(call.seq)) items.set(call.seq, callItem(runId, call));
      reconcileChildren(
        list,
        calls.map((c) => items.get(c.seq)),
      );
      applyFilter();
    },
    reveal(seq) {
      const item = items.get(seq);
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
  };
}

function isFailed(call) {
  return call.status === null || call.status >= 400;
}

/** One call: its `<li>` with a `<details>` that loads the bodies when first opened. */
function callItem(runId, call) {
  const body = h('div', { class: 'call-body' }, h('p', { class: 'muted' }, 'Loading request and response…'));
  const details = h('details', { class: 'call' }, callSummary(call), body);
  let loaded = false;
  const load = async () => {
    loaded = true;
    try {
      const detail = await apiRequest(`/runs/${segment(runId)}/calls/${call.seq}`);
      body.replaceChildren(...callDetail(detail));
    } catch (err) {
      loaded = false;
      body.replaceChildren(
        h('p', { class: 'form-error' }, `Could not load call #${call.seq}: ${err instanceof Error ? err.message : String(err)} `),
        h('button', { type: 'button', class: 'button small', on: { click: load } }, 'Try again'),
      );
    }
  };
  details.addEventListener('toggle', () => {
    if (details.open && !loaded) load();
  });
  const li = h('li', { id: `call-${call.seq}`, class: `call-item depth-${Math.min(call.depth, 6)}`, dataset: { seq: call.seq } }, details);
  li.style.setProperty('--depth', String(call.depth));
  return li;
}

function callSummary(call) {
  const notes = [];
  if (call.attempt > 1) notes.push(`attempt ${call.attempt}`);
  if (call.parent_seq !== null && call.attempt === 1) notes.push(`split of #${call.parent_seq}`);
  if (call.row_count !== null) {
    const first = call.row_offset ?? 0;
    notes.push(`${call.row_count === 1 ? 'row' : 'rows'} ${first + 1}${call.row_count > 1 ? `–${first + call.row_count}` : ''}${call.batch ? ` of batch ${call.batch}` : ''}`);
  }
  return h(
    'summary',
    null,
    h('span', { class: 'call-seq' }, `#${call.seq}`),
    h('span', { class: 'call-method' }, call.method),
    h('span', { class: 'call-path' }, urlPath(call.url)),
    h('span', { class: 'call-status' }, httpStatusBadge(call.status, call.error)),
    h('span', { class: 'call-duration' }, duration(call.duration_ms)),
    notes.length ? h('span', { class: 'call-notes' }, notes.join(' · ')) : null,
  );
}

/** The bodies of an opened call (CallDetail). */
function callDetail(detail) {
  return [
    h(
      'dl',
      { class: 'facts compact' },
      h('div', null, h('dt', null, 'URL'), h('dd', { class: 'mono wrap' }, `${detail.method} ${detail.url}`)),
      h('div', null, h('dt', null, 'Started'), h('dd', null, absoluteTime(detail.started_at))),
      h('div', null, h('dt', null, 'Duration'), h('dd', null, duration(detail.duration_ms))),
      detail.tag ? h('div', null, h('dt', null, 'Label'), h('dd', { class: 'mono' }, detail.tag)) : null,
      detail.error ? h('div', null, h('dt', null, 'Error'), h('dd', null, detail.error)) : null,
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
    h(
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
