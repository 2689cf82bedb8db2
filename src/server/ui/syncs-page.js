/**
 * The syncs page (`/`): every sync of the project file with its model, mode, schedule, last run
 * (status and time), that run's rows succeeded / rejected / invalid, and a chart of its recent runs.
 * Data: GET /api/v1/syncs (SyncListItem, docs/http-api.md).
 */
import { apiRequest, segment } from './api-client.js';
import { h, region } from './dom.js';
import { count, progressDone, runCounts, scheduleText, statusBadge, timeElement } from './format.js';
import { runsChart } from './runs-chart.js';

/** Poll interval when no run is in progress, ms: scheduled runs show up within it. */
const IDLE_POLL_MS = 10_000;

/**
 * @param {HTMLElement} container
 * @returns {{ refresh(): Promise<{ live: boolean, idleMs: number }> }}
 */
export function syncsPage(container) {
  const list = region(renderSyncs);
  container.replaceChildren(h('h1', { tabindex: '-1' }, 'Syncs'), list.el);
  document.title = 'Syncs · panelsync';
  return {
    async refresh() {
      const { syncs } = await apiRequest('/syncs');
      list.update(syncs);
      return { live: syncs.some((s) => s.running || s.queued), idleMs: IDLE_POLL_MS };
    },
  };
}

function renderSyncs(syncs) {
  if (syncs.length === 0) return h('p', null, 'The project file defines no syncs yet.');
  const byHealth = {};
  for (const s of syncs) byHealth[s.health] = (byHealth[s.health] ?? 0) + 1;
  const parts = [
    ['ok', 'healthy'],
    ['warning', 'with warnings'],
    ['failed', 'failed'],
    ['never_run', 'never run'],
  ]
    .filter(([key]) => byHealth[key])
    .map(([key, word]) => `${byHealth[key]} ${word}`);
  const running = syncs.filter((s) => s.running).length;
  return [
    h(
      'p',
      { class: 'lead' },
      `${syncs.length} sync${syncs.length === 1 ? '' : 's'}: ${parts.join(', ')}`,
      running ? `; ${running} running now` : '',
      '.',
    ),
    h(
      'table',
      { class: 'data-table stacked syncs-table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Sync', 'Model', 'Mode', 'Schedule', 'Last run', 'Rows (last run)', 'Recent runs'].map((label) =>
            h('th', { scope: 'col' }, label),
          ),
        ),
      ),
      h('tbody', null, syncs.map(syncRow)),
    ),
  ];
}

/** ` 12/59 rows` for the run in progress (its live progress), once its plan is known. */
function runningProgress(progress) {
  const p = progressDone(progress);
  return p ? h('span', { class: 'muted small running-progress' }, ` ${count(p.done)}/${count(p.total)} rows`) : null;
}

function syncRow(sync) {
  const last = sync.last_run;
  const counts = last ? runCounts(last) : null;
  return h(
    'tr',
    { dataset: { sync: sync.name } },
    h(
      'th',
      { scope: 'row', 'data-label': 'Sync' },
      h('a', { href: `/syncs/${segment(sync.name)}`, class: 'sync-name' }, sync.name),
      sync.running
        ? h(
            'div',
            null,
            h('a', { href: `/runs/${segment(sync.running.run_id)}` }, statusBadge('running', 'Running now')),
            runningProgress(sync.running.progress),
            sync.queued ? h('span', { class: 'muted' }, ' + 1 queued') : null,
          )
        : null,
    ),
    h('td', { 'data-label': 'Model' }, sync.model, h('div', { class: 'muted small' }, `to ${sync.destination}`)),
    h('td', { 'data-label': 'Mode' }, sync.mode),
    h(
      'td',
      { 'data-label': 'Schedule' },
      scheduleText(sync.schedule),
      sync.next_run_at ? h('div', { class: 'muted small' }, 'next ', timeElement(sync.next_run_at)) : null,
    ),
    h(
      'td',
      { 'data-label': 'Last run' },
      last
        ? [
            statusBadge(last.status),
            ' ',
            h('a', { href: `/runs/${segment(last.run_id)}` }, h('span', { class: 'visually-hidden' }, 'Last run, started '), timeElement(last.started_at)),
          ]
        : statusBadge('never_run'),
    ),
    h(
      'td',
      { 'data-label': 'Rows (last run)' },
      counts
        ? h(
            'ul',
            { class: 'counts' },
            h('li', { class: 'count-succeeded' }, h('strong', null, count(counts.succeeded)), ' succeeded'),
            h('li', { class: counts.rejected ? 'count-rejected' : null }, h('strong', null, count(counts.rejected)), ' rejected'),
            counts.invalid ? h('li', { class: 'count-invalid' }, h('strong', null, count(counts.invalid)), ' invalid') : null,
          )
        : h('span', { class: 'muted' }, '—'),
    ),
    h('td', { 'data-label': 'Recent runs', class: 'wide' }, runsChart(sync.recent_runs)),
  );
}
