/**
 * The "Alerts" section of a sync's page: each trigger's state (ok / warning / critical, since
 * when, the rule in force) and each channel's last notification (delivered or failed, when, the
 * error), or "No alert channels" when nobody is notified. Data: `alerts` of
 * GET /api/v1/syncs/{name} (SyncAlertStatus in src/alerts/sync-alert-status.ts, docs/http-api.md);
 * what the triggers mean: README "Alerts" and src/alerts/evaluate-triggers.ts.
 */
import { h } from './dom.js';
import { breakAfter, count, statusBadge, timeElement } from './format.js';

/** Trigger names in words (ALERT_TRIGGERS in src/alerts/alert-policy.ts). */
const TRIGGER_NAMES = {
  failed_run: 'Failed runs',
  rejected_rows: 'Rejected rows',
  slow_run: 'Slow runs',
  missed_schedule: 'Missed schedule',
  empty_model: 'Empty model',
  volume_change: 'Volume change',
  full_resync: 'Full resync',
};

/** Trigger states in words (ALERT_STATES in src/state/state-store.ts); badges say "OK", not "Healthy". */
const STATE_WORDS = { ok: 'OK', warning: 'Warning', critical: 'Critical' };

/**
 * The section's content.
 * @param {object} alerts SyncAlertStatus: `{ recipients: [{ channel, type, levels }], thresholds,
 *   triggers: [{ trigger, state, streak, since, run_id, notified_at }], deliveries: [{ channel,
 *   last_attempt_at, last_status, attempts, last_error, last_error_at }] }`
 * @returns {Array<Node>}
 */
export function renderAlerts(alerts) {
  return [
    h('h3', { id: 'alert-triggers-heading' }, 'Triggers'),
    h('div', { class: 'table-scroll' }, triggersTable(alerts)),
    h('h3', { id: 'alert-channels-heading' }, 'Channels'),
    channels(alerts),
  ];
}

function triggersTable({ triggers, thresholds }) {
  return h(
    'table',
    { class: 'data-table stacked alert-triggers', 'aria-labelledby': 'alert-triggers-heading' },
    h('thead', null, h('tr', null, ['Trigger', 'State', 'Rule'].map((l) => h('th', { scope: 'col' }, l)))),
    h(
      'tbody',
      null,
      triggers.map((t) =>
        h(
          'tr',
          { dataset: { trigger: t.trigger } },
          h('th', { scope: 'row', 'data-label': 'Trigger' }, TRIGGER_NAMES[t.trigger] ?? t.trigger),
          h('td', { 'data-label': 'State', class: 'wide' }, stateText(t, thresholds)),
          h('td', { 'data-label': 'Rule', class: 'wide' }, ruleText(t.trigger, thresholds)),
        ),
      ),
    ),
  );
}

/**
 * "! Warning since 3 minutes ago", then "4 failed runs in a row" and "notified 3 minutes ago"
 * below; "✓ OK no run checked yet" before the first run; "Off" for slow runs without a limit.
 */
function stateText(t, thresholds) {
  if (t.trigger === 'slow_run' && thresholds.slow_run_minutes === null && t.state === 'ok') return statusBadge('skipped', 'Off');
  const parts = [statusBadge(t.state, STATE_WORDS[t.state] ?? t.state)];
  if (t.since) parts.push(' since ', timeElement(t.since));
  else parts.push(h('span', { class: 'muted small' }, ' no run checked yet'));
  if (t.trigger === 'failed_run' && t.streak > 1) parts.push(h('div', { class: 'muted small' }, `${count(t.streak)} failed runs in a row`));
  if (t.state !== 'ok' && t.notified_at) parts.push(h('div', { class: 'muted small' }, 'notified ', timeElement(t.notified_at)));
  return parts;
}

/** The rule in force for a trigger, from the resolved thresholds (src/alerts/alert-policy.ts). */
function ruleText(trigger, thresholds) {
  if (trigger === 'failed_run') {
    const { warning, critical } = thresholds.failed_runs;
    const runs = (n) => `${count(n)} failed run${n === 1 ? '' : 's'}${n === 1 ? '' : ' in a row'}`;
    return warning === null ? `Critical at ${runs(critical)}` : `Warning at ${runs(warning)}, critical at ${runs(critical)}`;
  }
  if (trigger === 'rejected_rows') {
    const { warning, critical } = thresholds.rejected_rows;
    const first = warning === 0 ? 'Warning at any row' : `Warning at ${percent(warning)} of rows`;
    return `${first} rejected or invalid, critical at ${percent(critical)}`;
  }
  if (trigger === 'slow_run') {
    const minutes = thresholds.slow_run_minutes;
    return minutes === null ? 'Off (set slow_run_minutes to watch run time)' : `Warning when a run takes longer than ${count(minutes)} min`;
  }
  const rule = thresholds[trigger];
  if (!rule) return 'Off';
  const level = rule.level === 'critical' ? 'Critical' : 'Warning';
  if (trigger === 'missed_schedule') return `${level} when a scheduled run has not started ${count(rule.grace_minutes)} min after it was due`;
  if (trigger === 'empty_model') return `${level} when the model returns 0 rows after returning rows`;
  if (trigger === 'volume_change') return `${level} when the rows queried are more than ${percent(rule.share)} away from the median of the last ${count(rule.runs)} runs`;
  if (trigger === 'full_resync') return `${level} notice when a full resync starts`;
  return '—';
}

/** `0.2` -> "20%" (as src/alerts/evaluate-triggers.ts `percent` writes it). */
function percent(share) {
  return `${Math.round(share * 1000) / 10}%`;
}

/**
 * Every channel the sync notifies (its recipients) and every channel it notified before (a
 * delivery record, e.g. of a recipient since removed), with the last notification's outcome.
 */
function channels({ recipients, deliveries }) {
  const byChannel = new Map(deliveries.map((d) => [d.channel, d]));
  const rows = recipients.map((r) => ({ ...r, delivery: byChannel.get(r.channel) ?? null, current: true }));
  for (const d of deliveries) {
    if (!recipients.some((r) => r.channel === d.channel)) rows.push({ channel: d.channel, type: null, levels: [], delivery: d, current: false });
  }
  const none =
    recipients.length === 0
      ? h(
          'p',
          { class: 'callout no-alert-channels' },
          h('strong', null, 'No alert channels. '),
          'Nobody is notified when this sync fails: add recipients under alerts.defaults or syncs.NAME.alerts in the project file.',
        )
      : null;
  if (rows.length === 0) return none;
  return [
    none,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table stacked alert-channels', 'aria-labelledby': 'alert-channels-heading' },
        h('thead', null, h('tr', null, ['Channel', 'Notified of', 'Last notification'].map((l) => h('th', { scope: 'col' }, l)))),
        h(
          'tbody',
          null,
          rows.map((r) =>
            h(
              'tr',
              { dataset: { channel: r.channel } },
              h('th', { scope: 'row', 'data-label': 'Channel' }, h('span', { class: 'mono channel-name' }, r.channel), r.type ? h('div', { class: 'channel-type muted small' }, r.type) : null),
              h('td', { 'data-label': 'Notified of' }, r.current ? r.levels.join(', ') : h('span', { class: 'muted' }, 'no longer a recipient')),
              h('td', { 'data-label': 'Last notification', class: 'wide delivery' }, deliveryText(r.delivery)),
            ),
          ),
        ),
      ),
    ),
  ];
}

/** The last notification to a channel: delivered or failed, when, after how many attempts, and the last error. */
function deliveryText(d) {
  if (!d) return h('span', { class: 'muted' }, 'None sent yet');
  const attempts = d.attempts > 1 ? ` after ${count(d.attempts)} attempts` : '';
  if (d.last_status === 'failed') {
    return [
      statusBadge('failed', 'Delivery failed'),
      ' ',
      timeElement(d.last_attempt_at),
      attempts,
      d.last_error ? h('p', { class: 'delivery-error reason' }, breakAfter(d.last_error, '/')) : null,
    ];
  }
  return [
    statusBadge('delivered'),
    ' ',
    timeElement(d.last_attempt_at),
    attempts,
    d.last_error && d.last_error_at
      ? h('p', { class: 'muted small reason' }, 'Last failure ', timeElement(d.last_error_at), `: ${d.last_error}`)
      : null,
  ];
}
