/**
 * The audit log page (`/audit`): operator actions, newest first (who by token kind, when, what,
 * on which sync, and how it went). Data: GET /api/v1/audit (AuditRecord, docs/http-api.md).
 */
import { apiRequest, segment } from './api-client.js';
import { h, region } from './dom.js';
import { timeElement } from './format.js';

/** Poll interval, ms: actions taken elsewhere (the CLI, a hook) show up within it. */
const IDLE_POLL_MS = 10_000;

/** How each action and token kind reads. */
const ACTIONS = { trigger: 'Run', full_resync: 'Full resync', reset_cdc: 'Reset CDC', unlock: 'Unlock', alert_test: 'Alert test', hook: 'Webhook call' };
const WHO = { operator: 'API token', viewer: 'Viewer token', hook: 'Signed webhook', cli: 'Command line' };

/**
 * @param {HTMLElement} container
 * @returns {{ refresh(): Promise<{ live: boolean, idleMs: number }> }}
 */
export function auditPage(container) {
  const list = region(renderEntries);
  container.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Audit log'),
    h('p', { class: 'muted' }, 'Operator actions, newest first: runs started, full resyncs, reset CDCs, unlocks, alert tests and webhook calls.'),
    list.el,
  );
  document.title = 'Audit log · panelsync';
  return {
    async refresh() {
      const { entries } = await apiRequest('/audit');
      list.update(entries);
      return { live: false, idleMs: IDLE_POLL_MS };
    },
  };
}

function renderEntries(entries) {
  if (entries.length === 0) return h('p', null, 'No operator action has been recorded yet.');
  return h(
    'table',
    { class: 'data-table stacked audit-table' },
    h('thead', null, h('tr', null, ['When', 'Who', 'Action', 'Sync', 'Result', 'Detail'].map((label) => h('th', { scope: 'col' }, label)))),
    h(
      'tbody',
      null,
      entries.map((e) => {
        const cell = (label, value, cls) => h('td', { 'data-label': label, class: cls }, value);
        return h(
          'tr',
          { dataset: { auditId: e.id } },
          h('th', { scope: 'row', 'data-label': 'When' }, timeElement(e.at)),
          cell('Who', WHO[e.token_kind] ?? e.token_kind),
          cell('Action', [ACTIONS[e.action] ?? e.action, e.target ? ` “${e.target}”` : '']),
          cell('Sync', e.sync ? h('a', { href: `/syncs/${segment(e.sync)}` }, e.sync) : '—'),
          cell('Result', [
            h('span', { class: `audit-result audit-${e.result}` }, e.result),
            e.run_id ? [' ', h('a', { href: `/runs/${segment(e.run_id)}` }, `run ${e.run_id}`)] : null,
          ]),
          cell('Detail', e.detail ?? '', 'wide'),
        );
      }),
    ),
  );
}
