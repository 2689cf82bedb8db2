/**
 * A sync's page (`/syncs/{name}`): run now and full resync (behind a confirmation), what is
 * running, its alerts (trigger states and notifications, ./sync-alerts.js), the run history (a
 * failed or interrupted run with its error), the rows currently failing, and the configuration
 * with its mappings.
 * Data: GET /api/v1/syncs/{name} (SyncListItem + config + failing_rows + alerts, docs/http-api.md);
 * actions: POST /api/v1/syncs/{name}/trigger.
 */
import { apiRequest, isViewer, segment } from './api-client.js';
import { h, region } from './dom.js';
import { breakAfter, collapsibleText, count, duration, progressDone, runCounts, runOptionsTag, scheduleText, statusBadge, timeElement } from './format.js';
import { runsChart } from './runs-chart.js';
import { renderAlerts } from './sync-alerts.js';

/** Poll interval when no run is in progress, ms. */
const IDLE_POLL_MS = 10_000;
/** A run's error longer than this (characters) is shortened in the run history, its full text a click away. */
const ERROR_PREVIEW_CHARS = 120;

/**
 * @param {HTMLElement} container
 * @param {{ name: string }} params the sync's name
 * @param {{ refreshNow(): void }} app
 * @returns {{ refresh(): Promise<{ live: boolean, idleMs: number }> }}
 */
export function syncPage(container, { name }, app) {
  const path = `/syncs/${segment(name)}`;
  const heading = h('h1', { tabindex: '-1' }, name);
  const health = region((value) => statusBadge(value), { class: 'heading-badge' });
  const triggerStatus = h('div', { class: 'trigger-status', role: 'status', 'aria-live': 'polite' });
  const activity = region(renderActivity, { class: 'activity' });
  const history = region(renderHistory);
  const failing = region(renderFailingRows);
  const config = region(renderConfig);
  const alerts = region(renderAlerts);

  const trigger = async (body, button) => {
    button.disabled = true;
    triggerStatus.replaceChildren(h('p', null, 'Starting…'));
    try {
      const result = await apiRequest(`${path}/trigger`, { method: 'POST', body });
      const what = body.full_resync ? 'Full resync' : 'Run';
      triggerStatus.replaceChildren(
        h(
          'p',
          { class: 'notice' },
          result.queued ? `${what} queued: it starts when the run in progress ends. ` : `${what} started. `,
          h('a', { href: `/runs/${segment(result.run_id)}` }, `View run ${result.run_id}`),
        ),
      );
      app.refreshNow();
    } catch (err) {
      triggerStatus.replaceChildren(
        h('p', { class: 'form-error' }, `Could not start the run: ${err instanceof Error ? err.message : String(err)}`),
      );
    } finally {
      button.disabled = false;
    }
  };

  const runNow = h('button', { type: 'button', class: 'button primary', on: { click: () => trigger({}, runNow) } }, 'Run now');
  const confirmDialog = fullResyncDialog(name, () => trigger({ full_resync: true }, fullResync));
  const fullResync = h(
    'button',
    { type: 'button', class: 'button', 'aria-haspopup': 'dialog', on: { click: () => confirmDialog.showModal() } },
    'Full resync…',
  );

  container.replaceChildren(
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' }, h('a', { href: '/' }, 'Syncs'), h('span', { 'aria-hidden': 'true' }, ' / '), name),
    h('div', { class: 'page-heading' }, heading, health.el),
    isViewer()
      ? h('p', { class: 'muted viewer-note' }, 'Read-only: the viewer token cannot start runs. Runs are started with the API token.')
      : h('div', { class: 'actions' }, runNow, fullResync),
    triggerStatus,
    confirmDialog,
    activity.el,
    h('section', { 'aria-labelledby': 'alerts-heading', class: 'alerts' }, h('h2', { id: 'alerts-heading' }, 'Alerts'), alerts.el),
    h('section', { 'aria-labelledby': 'history-heading' }, h('h2', { id: 'history-heading' }, 'Run history'), history.el),
    h('section', { 'aria-labelledby': 'failing-heading' }, h('h2', { id: 'failing-heading' }, 'Currently failing rows'), failing.el),
    h('section', { 'aria-labelledby': 'config-heading' }, h('h2', { id: 'config-heading' }, 'Configuration'), config.el),
  );
  document.title = `${name} · panelsync`;

  return {
    async refresh() {
      const sync = await apiRequest(path);
      health.update(sync.health);
      activity.update({ running: sync.running, queued: sync.queued, last_run: sync.last_run, next_run_at: sync.next_run_at, recent_runs: sync.recent_runs });
      history.update(sync.recent_runs);
      failing.update(sync.failing_rows);
      alerts.update(sync.alerts);
      config.update({ config: sync.config, schedule: sync.schedule });
      return { live: Boolean(sync.running || sync.queued), idleMs: IDLE_POLL_MS };
    },
  };
}

/** The confirmation for a full resync: a modal `<dialog>` (Escape or Cancel closes it). */
function fullResyncDialog(name, onConfirm) {
  const dialog = h(
    'dialog',
    { class: 'confirm-dialog', 'aria-labelledby': 'resync-title', 'aria-describedby': 'resync-text' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'resync-title' }, `Full resync of ${name}?`),
      h(
        'p',
        { id: 'resync-text' },
        'A full resync sends every row of the model to User Interviews again, changed or not, and applies no delete behaviour. ',
        'On a large model it takes longer and uses more of the API rate limit than a normal run.',
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'button', autofocus: true }, 'Cancel'),
        h('button', { type: 'submit', value: 'confirm', class: 'button danger' }, 'Start full resync'),
      ),
    ),
  );
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'confirm') onConfirm();
    dialog.returnValue = '';
  });
  return dialog;
}

function renderActivity({ running, queued, last_run: last, next_run_at: next, recent_runs: recent }) {
  return h(
    'dl',
    { class: 'facts' },
    h(
      'div',
      null,
      h('dt', null, 'Now'),
      h(
        'dd',
        null,
        running
          ? [
              h('a', { href: `/runs/${segment(running.run_id)}` }, statusBadge('running', 'Running')),
              ' since ',
              timeElement(running.started_at),
              progressText(running.progress),
              queued ? '; one more run queued' : '',
            ]
          : 'Idle',
      ),
    ),
    h(
      'div',
      null,
      h('dt', null, 'Last run'),
      h(
        'dd',
        null,
        last ? [statusBadge(last.status), ' ', h('a', { href: `/runs/${segment(last.run_id)}` }, timeElement(last.started_at))] : statusBadge('never_run'),
      ),
    ),
    h('div', null, h('dt', null, 'Next scheduled run'), h('dd', null, next ? timeElement(next) : 'None (manual)')),
    h('div', { class: 'fact-chart' }, h('dt', null, 'Recent runs'), h('dd', null, runsChart(recent))),
  );
}

/**
 * Why a run failed or was interrupted (RunListItem.error), as `panelsync runs` prints it under the
 * run: in full when short; else its start, with the full text as the tooltip and in a disclosure.
 */
function runError(run) {
  return run.error ? collapsibleText(run.error, { className: 'run-error', label: 'Error', previewChars: ERROR_PREVIEW_CHARS }) : null;
}

/** `; 12 of 59 rows done` from a running run's live progress; empty before the plan is known. */
function progressText(progress) {
  const p = progressDone(progress);
  return p ? `; ${count(p.done)} of ${count(p.total)} rows done` : '';
}

function renderHistory(runs) {
  if (runs.length === 0) return h('p', null, 'No runs yet. Use “Run now” to start the first one.');
  return h(
    'table',
    { class: 'data-table stacked runs-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Started', 'Status', 'Trigger', 'Duration', 'Succeeded', 'Rejected', 'Invalid', 'API calls'].map((label) =>
          h('th', { scope: 'col' }, label),
        ),
      ),
    ),
    h(
      'tbody',
      null,
      runs.map((run) => {
        const c = runCounts(run);
        const cell = (label, value, cls) => h('td', { 'data-label': label, class: cls }, value);
        return h(
          'tr',
          { dataset: { runId: run.run_id } },
          h('th', { scope: 'row', 'data-label': 'Started' }, h('a', { href: `/runs/${segment(run.run_id)}` }, timeElement(run.started_at)), h('div', { class: 'muted small mono' }, run.run_id)),
          cell('Status', [statusBadge(run.status), runError(run)], run.error ? 'status-cell wide' : 'status-cell'),
          cell('Trigger', [run.trigger, ' ', runOptionsTag(run.options)]),
          cell('Duration', run.status === 'running' ? 'in progress' : duration(run.duration_ms), 'num'),
          // While the run is in progress: its live counts so far.
          cell('Succeeded', c ? count(c.succeeded) : '—', 'num'),
          cell('Rejected', c ? count(c.rejected) : '—', c?.rejected ? 'num count-rejected' : 'num'),
          cell('Invalid', c ? count(c.invalid) : '—', c?.invalid ? 'num count-invalid' : 'num'),
          cell('API calls', c ? count(c.calls) : '—', 'num'),
        );
      }),
    ),
  );
}

function renderFailingRows(failing) {
  if (failing.total === 0) {
    return h('p', null, failing.as_of_run ? 'No row is failing: every row of the latest run went through.' : 'No completed run yet.');
  }
  return [
    h(
      'p',
      null,
      `${count(failing.total)} row${failing.total === 1 ? ' is' : 's are'} failing as of run `,
      h('a', { href: `/runs/${segment(failing.as_of_run)}` }, failing.as_of_run),
      failing.rows.length < failing.total ? ` (the first ${count(failing.rows.length)} are listed)` : '',
      '. Rejected rows are sent again on every run until they go through.',
    ),
    h(
      'table',
      { class: 'data-table stacked failing-table' },
      h('thead', null, h('tr', null, ['Primary key', 'Result', 'Reason', 'Failing since', 'Runs failed'].map((l) => h('th', { scope: 'col' }, l)))),
      h(
        'tbody',
        null,
        failing.rows.map((row) =>
          h(
            'tr',
            null,
            h('th', { scope: 'row', 'data-label': 'Primary key', class: 'mono' }, row.pk ?? '(none)'),
            h('td', { 'data-label': 'Result' }, statusBadge(row.result)),
            h('td', { 'data-label': 'Reason', class: 'reason' }, row.error ?? '—'),
            h('td', { 'data-label': 'Failing since' }, h('a', { href: `/runs/${segment(row.first_failed_run)}` }, timeElement(row.first_failed_at))),
            h('td', { 'data-label': 'Runs failed', class: 'num' }, count(row.failed_runs)),
          ),
        ),
      ),
    ),
  ];
}

function renderConfig({ config, schedule }) {
  const fact = (term, value) => h('div', null, h('dt', null, term), h('dd', null, value));
  return [
    h(
      'dl',
      { class: 'facts' },
      fact('Model', config.model),
      fact('Destination', config.destination),
      fact('Mode', config.mode),
      fact('Record matching', h('code', null, config.match)),
      fact('Delete behaviour', config.delete_behavior),
      fact('Split retries', config.split_retries ? 'On' : 'Off'),
      config.max_delete_share === null || config.max_delete_share === undefined
        ? null
        : fact('Max delete share', `${Math.round(config.max_delete_share * 1000) / 10}%`),
      fact('Schedule', scheduleText(schedule)),
    ),
    h('h3', null, 'Mappings'),
    h('div', { class: 'table-scroll' }, mappingsTable(config.mappings)),
  ];
}

/** The mappings: participant field written and where its value comes from. */
function mappingsTable(mappings) {
  return h(
    'table',
    { class: 'data-table mappings-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Participant field'), h('th', { scope: 'col' }, 'Value'))),
    h(
      'tbody',
      null,
      mappings.map((m) => h('tr', null, h('th', { scope: 'row', class: 'mono' }, breakAfter(m.to, '.')), h('td', null, mappingValue(m)))),
    ),
  );
}

/** A mapping's value (src/config/schema.ts): a model column, a fixed value or a Liquid template. */
function mappingValue(m) {
  if (m.from !== undefined) return [h('span', { class: 'muted' }, 'column '), h('code', null, m.from)];
  // Values wrap between words and after ".", "|" and ",", so "{{ row.City | upcase }}" breaks there, not mid-word.
  if (m.static !== undefined) return [h('span', { class: 'muted' }, 'fixed value '), h('code', null, breakAfter(JSON.stringify(m.static), '.|,'))];
  if (m.template !== undefined) return [h('span', { class: 'muted' }, 'template '), h('code', null, breakAfter(m.template, '.|,'))];
  return h('span', { class: 'muted' }, '—');
}
