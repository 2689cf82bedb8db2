/**
 * A run's page (`/runs/{id}`): summary, the rejected and invalid rows with their reasons, and the
 * live debugger. While the run is in progress the page polls and grows: counts (the run's live
 * `progress`), new failed rows, new calls. A run queued behind the sync's run in progress shows
 * as queued (no rows or calls yet) and turns into the running run once it starts.
 * Data: GET /api/v1/runs/{id} (RunDetail + progress, or QueuedRunView with status "queued"),
 * /runs/{id}/rows?result=rejected,invalid (OutcomeItem), /runs/{id}/calls (CallTreeItem pages, see
 * ./call-debugger.js); docs/http-api.md, shapes in src/state/run-history.ts and src/server/run-views.ts.
 */
import { ApiError, apiRequest, segment } from './api-client.js';
import { callDebugger } from './call-debugger.js';
import { h, region } from './dom.js';
import { absoluteTime, breakAfter, collapsibleText, count, duration, progressDone, runOptionsText, statusBadge, timeElement } from './format.js';

/** Failed rows fetched per request. */
const ROWS_PAGE = 200;
/** While the run is in progress, new failed rows are appended until this many are shown. */
const ROWS_AUTO_LIMIT = 1000;
/** A failed row's reason longer than this (characters) shows its start, and all of it once opened. */
const REASON_PREVIEW_CHARS = 80;

/**
 * @param {HTMLElement} container
 * @param {{ id: string }} params the run id
 * @returns {{ refresh(): Promise<{ live: boolean, idleMs: null }>, dispose(): void }}
 */
export function runPage(container, { id }) {
  const path = `/runs/${segment(id)}`;
  const crumbs = region(renderBreadcrumb, { class: 'breadcrumb-wrap' });
  const status = region((value) => statusBadge(value), { class: 'heading-badge' });
  const overview = region(renderOverview);
  const summary = region(renderSummary);
  const calls = callDebugger(id);
  const rows = failedRows(path, (loaded) => calls.noteRows(loaded));
  // Hidden while the run is queued: it has no rows or calls yet.
  const rowsHeading = h('h2', { id: 'rows-heading' }, 'Rejected and invalid rows');
  const rowsSection = h('section', { 'aria-labelledby': 'rows-heading' }, rowsHeading, rows.el);
  const callsSection = h(
    'section',
    { 'aria-labelledby': 'calls-heading' },
    h('h2', { id: 'calls-heading' }, 'API calls'),
    h(
      'p',
      { class: 'help' },
      'Every HTTP request of the run, in order, retries included. Calls that retried part of a batch rejected as a whole are nested under it. Open a call for its request and response.',
    ),
    calls.el,
  );

  container.replaceChildren(
    crumbs.el,
    h('div', { class: 'page-heading' }, h('h1', { tabindex: '-1' }, 'Run ', h('span', { class: 'mono' }, id)), status.el),
    overview.el,
    h('section', { 'aria-labelledby': 'summary-heading' }, h('h2', { id: 'summary-heading' }, 'Summary'), summary.el),
    rowsSection,
    callsSection,
  );
  document.title = `Run ${id} · panelsync`;

  // A link to #call-N (from a failed row, or shared) opens that call, loading the calls up to it;
  // a call not recorded yet (the run is in progress) opens once it is.
  let pendingCall = null;
  const revealFromHash = async () => {
    const m = /^#call-(\d+)$/.exec(location.hash);
    if (!m) return;
    pendingCall = (await calls.reveal(Number(m[1]))) ? null : Number(m[1]);
  };
  window.addEventListener('hashchange', revealFromHash);
  // A second click on the same #call-N link changes no hash: open the call all the same.
  container.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href^="#call-"]') : null;
    if (link && link.getAttribute('href') === location.hash) revealFromHash();
  });

  let first = true;
  return {
    async refresh() {
      const run = await apiRequest(path).catch((err) => {
        throw unknownRun(err, id);
      });
      crumbs.update(run.sync);
      status.update(run.status);
      overview.update(run);
      summary.update(run);
      const queued = run.status === 'queued';
      rowsSection.hidden = queued;
      callsSection.hidden = queued;
      if (queued) {
        document.title = `Run ${id} (${run.sync}, queued) · panelsync`;
        return { live: true, idleMs: null };
      }
      rowsHeading.textContent = run.outcomes.unsent ? 'Rejected, invalid and unsent rows' : 'Rejected and invalid rows';
      await Promise.all([calls.refresh(run), rows.refresh(run)]);
      if (first) {
        first = false;
        document.title = `Run ${id} (${run.sync}) · panelsync`;
        await revealFromHash();
      } else if (pendingCall !== null && (await calls.reveal(pendingCall))) {
        pendingCall = null;
      }
      return { live: run.status === 'running', idleMs: null };
    },
    dispose() {
      window.removeEventListener('hashchange', revealFromHash);
    },
  };
}

/**
 * `err` as a person should read it when the run is not known (RUN_NOT_FOUND): which run, and what
 * may have happened, instead of the API's advice to call a route; other errors as they are.
 */
function unknownRun(err, id) {
  if (!(err instanceof ApiError) || err.code !== 'RUN_NOT_FOUND') return err;
  return new ApiError(
    err.status,
    err.code,
    `There is no run "${id}" on this server. The link may be mistyped or cut short, or the run was recorded in another state database. Its sync's page lists its runs.`,
  );
}

function renderBreadcrumb(sync) {
  return h(
    'nav',
    { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
    h('a', { href: '/' }, 'Syncs'),
    h('span', { 'aria-hidden': 'true' }, ' / '),
    h('a', { href: `/syncs/${segment(sync)}` }, sync),
    h('span', { 'aria-hidden': 'true' }, ' / '),
    'Run',
  );
}

function renderOverview(run) {
  const fact = (term, value) => h('div', null, h('dt', null, term), h('dd', null, value));
  const options = fact('Options', runOptionsText(run.options) ?? 'None (sends what changed)');
  if (run.status === 'queued') {
    return h(
      'dl',
      { class: 'facts' },
      fact('Sync', h('a', { href: `/syncs/${segment(run.sync)}` }, run.sync)),
      fact('Trigger', triggerFact(run)),
      options,
      fact('Queued', [absoluteTime(run.queued_at), ' (', timeElement(run.queued_at), ')']),
    );
  }
  return [
    h(
      'dl',
      { class: 'facts' },
      fact('Sync', h('a', { href: `/syncs/${segment(run.sync)}` }, run.sync)),
      fact('Trigger', triggerFact(run)),
      options,
      fact('Started', [absoluteTime(run.started_at), ' (', timeElement(run.started_at), ')']),
      fact('Finished', run.finished_at ? absoluteTime(run.finished_at) : 'Still running'),
      fact('Duration', run.status === 'running' ? 'in progress' : duration(run.duration_ms)),
      fact('API calls', count(run.summary?.api_calls ?? run.progress?.api_calls ?? run.calls)),
    ),
    run.error
      ? h('div', { class: `callout status-border-${run.status}` }, h('strong', null, run.status === 'interrupted' ? 'Interrupted: ' : 'Failed: '), breakAfter(run.error, '/'))
      : null,
    run.details_pruned_at
      ? h('p', { class: 'callout' }, `The calls and row outcomes of this run were removed by retention on ${absoluteTime(run.details_pruned_at)}.`)
      : null,
  ];
}

/**
 * A run's trigger with what started it (docs/http-api.md, Run.triggered_by): the runs a run-after
 * chain followed, each linked to its page with how it ended, or the hook (and dbt Cloud job and run).
 */
function triggerFact(run) {
  const by = run.triggered_by;
  if (!by) return run.trigger;
  if ('after' in by) {
    const followed = by.after.map((r, i) => [
      i > 0 ? ', ' : '',
      h('a', { href: `/syncs/${segment(r.sync)}` }, r.sync),
      ' (run ',
      h('a', { href: `/runs/${segment(r.run_id)}` }, r.run_id),
      `, ${r.status})`,
    ]);
    return ['After ', ...followed.flat()];
  }
  const dbt = by.dbt_job_id === undefined ? '' : ` (dbt Cloud job ${by.dbt_job_id}${by.dbt_run_id === undefined ? '' : `, run ${by.dbt_run_id}`})`;
  return `Webhook ${by.hook}${dbt}`;
}

function renderSummary(run) {
  const tile = (label, value, cls) => h('div', { class: `tile ${cls ?? ''}` }, h('span', { class: 'tile-value' }, count(value)), h('span', { class: 'tile-label' }, label));
  const sum = (c) => c.added + c.changed + c.removed;
  if (run.status === 'queued') {
    return h(
      'p',
      { class: 'live-note' },
      statusBadge('queued', 'Queued'),
      ' This run starts when the run of this sync in progress ends; this page follows it then.',
    );
  }
  const s = run.summary;
  if (!s && run.progress) return renderProgress(run.progress, tile, sum);
  if (!s) {
    // Running without live progress (e.g. in another process): the row outcomes stored so far.
    const o = run.outcomes;
    return [
      h('p', { class: 'live-note' }, statusBadge('running', 'In progress'), ' Counts so far; they update every few seconds.'),
      h(
        'div',
        { class: 'tiles' },
        tile('succeeded', o.succeeded, 'tile-succeeded'),
        tile('rejected', o.rejected, o.rejected ? 'tile-rejected' : ''),
        tile('invalid', o.invalid, o.invalid ? 'tile-invalid' : ''),
        tile('skipped', o.skipped),
        tile('API calls', run.calls),
      ),
    ];
  }
  return [
    h(
      'div',
      { class: 'tiles' },
      tile('succeeded', sum(s.succeeded), 'tile-succeeded'),
      tile('rejected', sum(s.rejected), sum(s.rejected) ? 'tile-rejected' : ''),
      tile('invalid', s.rows.invalid, s.rows.invalid ? 'tile-invalid' : ''),
      tile('skipped', sum(s.skipped)),
      // Summaries recorded before `unsent` existed have none.
      tile('unsent', s.unsent ? sum(s.unsent) : 0, s.unsent && sum(s.unsent) ? 'tile-rejected' : ''),
      tile('unchanged', s.rows.unchanged),
    ),
    h(
      'p',
      null,
      `The model returned ${count(s.rows.queried)} rows: ${count(s.rows.added)} added, ${count(s.rows.changed)} changed, `,
      `${count(s.rows.unchanged)} unchanged and ${count(s.rows.invalid)} invalid; ${count(s.rows.removed)} rows synced before have left the model.`,
    ),
    h('div', { class: 'table-scroll' }, countsTable(s)),
  ];
}

/**
 * The live counts of a run in progress (RunProgress, src/scheduler/run-progress.ts): rows done of
 * the rows planned, as a progress bar, and tiles of rows succeeded / rejected / invalid / skipped
 * and API calls so far.
 */
function renderProgress(p, tile, sum) {
  const planned = p.planned;
  const { done, total } = progressDone(p) ?? { done: 0, total: 0 };
  return [
    h('p', { class: 'live-note' }, statusBadge('running', 'In progress'), ' Counts so far; they update every few seconds.'),
    planned === null
      ? h('p', { class: 'run-progress' }, 'Reading the model and comparing it with what was synced…')
      : h(
          'div',
          { class: 'run-progress' },
          h('label', { for: 'run-progress-bar' }, `${count(done)} of ${count(total)} planned rows done`),
          h('progress', { id: 'run-progress-bar', max: Math.max(total, 1), value: total === 0 ? 1 : done }),
          h(
            'p',
            { class: 'help' },
            `The model returned ${count(planned.queried)} rows: ${count(planned.added)} added, ${count(planned.changed)} changed, `,
            `${count(planned.unchanged)} unchanged and ${count(planned.invalid)} invalid; ${count(planned.removed)} rows synced before have left the model.`,
          ),
        ),
    h(
      'div',
      { class: 'tiles' },
      tile('succeeded', sum(p.succeeded), 'tile-succeeded'),
      tile('rejected', sum(p.rejected), sum(p.rejected) ? 'tile-rejected' : ''),
      tile('invalid', planned?.invalid ?? 0, planned?.invalid ? 'tile-invalid' : ''),
      tile('skipped', sum(p.skipped)),
      tile('API calls', p.api_calls),
    ),
  ];
}

/**
 * Rows added / changed / removed (columns) by what became of them (rows): planned, succeeded,
 * rejected, skipped, unsent (RunSummary; unsent: not written by the run, planned again by the
 * next). Four columns, so that it fits a phone's width.
 */
function countsTable(s) {
  const changes = ['added', 'changed', 'removed'];
  const results = [
    ['Planned', s.rows, ''],
    ['Succeeded', s.succeeded, ''],
    ['Rejected', s.rejected, 'count-rejected'],
    ['Skipped', s.skipped, ''],
    // Summaries recorded before `unsent` existed have none.
    ['Unsent', s.unsent ?? { added: 0, changed: 0, removed: 0 }, 'count-rejected'],
  ];
  return h(
    'table',
    { class: 'data-table counts-table' },
    h('caption', { class: 'visually-hidden' }, 'Rows by change and result'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Rows'), changes.map((c) => h('th', { scope: 'col', class: 'num' }, c)))),
    h(
      'tbody',
      null,
      results.map(([label, counts, alert]) =>
        h('tr', null, h('th', { scope: 'row' }, label), changes.map((c) => h('td', { class: counts[c] && alert ? `num ${alert}` : 'num' }, count(counts[c])))),
      ),
    ),
  );
}

/**
 * The rejected, invalid and unsent rows of a run, appended as they are recorded (OutcomeItem ids
 * grow), a page at a time; "Show more" past {@link ROWS_AUTO_LIMIT} or once the run is over. Each
 * page is also given to `onRows` (the debugger names the rows each call rejected).
 * @param {string} runPath
 * @param {(rows: object[]) => void} onRows
 */
function failedRows(runPath, onRows) {
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'data-table stacked failed-rows-table', hidden: true },
    h('thead', null, h('tr', null, ['Primary key', 'Result', 'Change', 'Reason', 'API call'].map((l) => h('th', { scope: 'col' }, l)))),
    tbody,
  );
  const note = h('p');
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Show more rows');
  let afterId = 0;
  let shown = 0;
  let exhausted = false;
  let fetchedAfterEnd = false;

  const fetchPage = async () => {
    const page = await apiRequest(`${runPath}/rows?result=rejected,invalid,unsent&limit=${ROWS_PAGE}&after=${afterId}`);
    for (const row of page.rows) {
      tbody.append(rowElement(row));
      afterId = row.id;
      shown++;
    }
    exhausted = page.rows.length < ROWS_PAGE;
    onRows(page.rows);
  };

  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      await fetchPage();
      table.hidden = shown === 0;
      more.hidden = exhausted;
    } finally {
      more.disabled = false;
    }
  });

  return {
    el: h('div', null, note, table, more),
    /** Fetches rows recorded since the last call (while the run is in progress, or on first load). */
    async refresh(run) {
      const running = run.status === 'running';
      // Fetch on every poll while running, and once more after the end for the last rows.
      if (!fetchedAfterEnd && shown < ROWS_AUTO_LIMIT) {
        await fetchPage();
        fetchedAfterEnd = !running;
      }
      const unsent = run.outcomes.unsent ?? 0;
      const total = run.outcomes.rejected + run.outcomes.invalid + unsent;
      table.hidden = shown === 0;
      more.hidden = exhausted || running;
      note.textContent =
        total === 0
          ? running
            ? 'No row rejected or invalid so far.'
            : 'No row was rejected or invalid.'
          : `${count(run.outcomes.rejected)} rejected by the API, ${count(run.outcomes.invalid)} invalid (never sent)` +
            `${unsent ? `, ${count(unsent)} unsent (not written; the next run sends them again)` : ''}${shown < total ? `; ${count(shown)} listed` : ''}.`;
    },
  };
}

/**
 * One failed row. On a phone it is a compact card (src/server/ui/app.css, `.failed-rows-table`):
 * primary key, result, change and call on one line, the reason under them.
 */
function rowElement(row) {
  return h(
    'tr',
    { dataset: { outcome: row.id } },
    h('th', { scope: 'row', 'data-label': 'Primary key', class: 'mono pk' }, row.pk ?? '(none)'),
    h('td', { 'data-label': 'Result', class: 'result' }, statusBadge(row.result)),
    h('td', { 'data-label': 'Change', class: 'change' }, row.class),
    // A long reason (a whole batch unsent, with the request that failed) shows its start; open, all of it.
    h('td', { 'data-label': 'Reason', class: 'reason' }, row.error ? collapsibleText(row.error, { className: 'row-reason', label: 'Reason', previewChars: REASON_PREVIEW_CHARS }) : '—'),
    h(
      'td',
      { 'data-label': 'API call', class: 'call' },
      row.call_seq !== null ? h('a', { href: `#call-${row.call_seq}`, 'aria-label': `API call #${row.call_seq}` }, `#${row.call_seq}`) : h('span', { class: 'muted' }, 'not sent'),
    ),
  );
}
