/**
 * How values read on the page: statuses with a symbol and a word (never colour alone), times
 * relative and absolute, durations, counts and schedules.
 */
import { h, svg } from './dom.js';

/**
 * Run statuses (src/state/state-store.ts RUN_STATUSES), sync health (docs/http-api.md), row
 * results, alert trigger states and delivery statuses (src/alerts/sync-alert-status.ts), each
 * with the word and symbol shown; the CSS class `status-{key}` gives the colour. Symbols are
 * characters that Debian's default fonts (DejaVu, Liberation) hold, so that no box shows in their
 * place (test/ui/web-ui.test.ts draws each), or an inline SVG `icon` where none fits (⏸ is
 * missing from them).
 */
const STATUS_LABELS = {
  running: { text: 'Running', symbol: '◔' },
  success: { text: 'Success', symbol: '✓' },
  ok: { text: 'Healthy', symbol: '✓' },
  warning: { text: 'Warning', symbol: '!' },
  failed: { text: 'Failed', symbol: '✕' },
  interrupted: { text: 'Interrupted', icon: 'pause' },
  never_run: { text: 'Never run', symbol: '–' },
  queued: { text: 'Queued', symbol: '…' },
  rejected: { text: 'Rejected', symbol: '✕' },
  invalid: { text: 'Invalid', symbol: '!' },
  unsent: { text: 'Unsent', symbol: '↻' },
  succeeded: { text: 'Succeeded', symbol: '✓' },
  skipped: { text: 'Skipped', symbol: '–' },
  critical: { text: 'Critical', symbol: '✕' },
  delivered: { text: 'Delivered', symbol: '✓' },
};

/** Badge words longer than this (characters) may be cut with "…" (the badge's title holds them whole). */
const BADGE_WORD_CHARS = 24;

/** Every key {@link statusBadge} knows. */
export const STATUS_KEYS = Object.freeze(Object.keys(STATUS_LABELS));

/** Inline SVG icons (drawn in the text colour, 0.8em square): shapes no font may lack. */
const ICONS = {
  pause: () => [svg('rect', { x: '2', y: '1.5', width: '2.5', height: '9', rx: '0.5' }), svg('rect', { x: '7.5', y: '1.5', width: '2.5', height: '9', rx: '0.5' })],
};

/**
 * A status badge: `<span class="badge status-KEY">` with a symbol (hidden from screen readers) and
 * a word. The word stays on one line; a word wider than the space there is cut with "…", and the
 * whole word is the badge's tooltip (`title`), so put long text beside a badge, not in it.
 * @param {string} key a run status, health, or row result
 * @param {string} [text] a word other than the default
 */
export function statusBadge(key, text) {
  const label = STATUS_LABELS[key] ?? { text: key, symbol: '•' };
  const word = text ?? label.text;
  const symbol = label.icon
    ? svg('svg', { class: 'badge-icon', viewBox: '0 0 12 12', width: '12', height: '12', fill: 'currentColor', focusable: 'false' }, ICONS[label.icon]())
    : label.symbol;
  // A long word gets a box of its own, which can be cut; a short one stays a bare text node.
  const long = word.length > BADGE_WORD_CHARS;
  return h(
    'span',
    { class: `badge status-${key in STATUS_LABELS ? key : 'other'}`, title: long ? word : null },
    h('span', { class: 'badge-symbol', 'aria-hidden': 'true' }, symbol),
    long ? h('span', { class: 'badge-text' }, word) : word,
  );
}

/**
 * Whether the API client tries a call with this status again: 408, 429 and every 5xx (as
 * `isRetryableStatus` in src/http/errors.ts decides, the one place for it; test/ui/call-outcome.test.ts
 * checks that the two agree).
 * @param {number} status
 */
export function isRetriedStatus(status) {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * An HTTP status badge: 2xx success, 408, 429 and 5xx warning (retried), other 4xx failed; `null`
 * (no response) failed, reading "No response" (the transport error is long: show it beside the
 * badge, as the debugger does).
 * @param {number | null} status
 */
export function httpStatusBadge(status) {
  if (status === null) return statusBadge('failed', 'No response');
  const key = status < 300 ? 'success' : isRetriedStatus(status) ? 'warning' : 'failed';
  return statusBadge(key, String(status));
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** `iso` as "3 minutes ago" / "in 5 minutes" relative to now. */
export function relativeTime(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds <= 0 ? 'just now' : 'in a few seconds';
  if (abs < 45 * 60) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86400), 'day');
}

/**
 * A `<time>` element reading relative to now, with the local date and time as its tooltip (and
 * the ISO value in `datetime`); `null` reads as "—".
 * @param {string | null} iso
 */
export function timeElement(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  return h('time', { datetime: iso, title: absolute.format(date) }, relativeTime(iso));
}

/** The local date and time of `iso`, e.g. "12 Mar 2026, 14:03:07"; "—" for null. */
export function absoluteTime(iso) {
  return iso ? absolute.format(new Date(iso)) : '—';
}

/** A duration in ms as "820 ms", "4.2 s", "3 min 12 s"; "—" for null. */
export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes < 60 ? `${minutes} min ${seconds} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const numberFormat = new Intl.NumberFormat();

/** A count with digit grouping ("12,345"). */
export function count(n) {
  return numberFormat.format(n);
}

/** A size in bytes as "512 B", "3.4 KiB", "1.2 MiB". */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A sync's schedule (docs/http-api.md, SyncListItem.schedule) in words: "Every 15m", "Cron 0 6 * * * (UTC)",
 * "After orders, refunds succeed" / "After orders ends" (a run-after chain) or "Manual".
 */
export function scheduleText(schedule) {
  if (!schedule) return 'Manual';
  if ('interval' in schedule) return `Every ${schedule.interval}`;
  if ('after' in schedule) {
    const many = schedule.after.length > 1;
    return `After ${schedule.after.join(', ')} ${schedule.on === 'completion' ? (many ? 'end' : 'ends') : many ? 'succeed' : 'succeeds'}`;
  }
  return `Cron ${schedule.cron} (UTC)`;
}

/**
 * Row counts of a run: rows succeeded, rejected, skipped (summed over added, changed, removed),
 * invalid, and API calls. From the run's summary (src/engine/run-summary.ts RunSummary) once it
 * has ended; while it runs in the server, from its live `progress` (src/scheduler/run-progress.ts;
 * `live: true`, invalid is 0 until the plan is known); `null` when it has neither (a run in
 * another process, or one that died before counting).
 */
export function runCounts(run) {
  const sum = (c) => c.added + c.changed + c.removed;
  const s = run.summary;
  if (s) {
    return { succeeded: sum(s.succeeded), rejected: sum(s.rejected), skipped: sum(s.skipped), invalid: s.rows.invalid, calls: s.api_calls, live: false };
  }
  const p = run.progress;
  if (!p) return null;
  return { succeeded: sum(p.succeeded), rejected: sum(p.rejected), skipped: sum(p.skipped), invalid: p.planned?.invalid ?? 0, calls: p.api_calls, live: true };
}

/**
 * How far a run in progress is (RunProgress, src/scheduler/run-progress.ts): rows done (succeeded,
 * rejected or skipped) of the rows the plan acts on (added + changed + removed); `null` before the
 * plan is known or without progress.
 */
export function progressDone(progress) {
  const planned = progress?.planned;
  if (!planned) return null;
  const sum = (c) => c.added + c.changed + c.removed;
  return { done: sum(progress.succeeded) + sum(progress.rejected) + sum(progress.skipped), total: sum(planned) };
}

/**
 * What a run was asked to do besides sending what changed (RunListItem.options, docs/http-api.md):
 * "Full resync", "Reset CDC" (both, comma-separated, if both were given), or `null` for a normal run.
 * @param {{ full_resync: boolean, reset_cdc: boolean } | undefined} options
 */
export function runOptionsText(options) {
  const words = [options?.full_resync ? 'Full resync' : null, options?.reset_cdc ? 'Reset CDC' : null].filter(Boolean);
  return words.length > 0 ? words.join(', ') : null;
}

/** A small tag for a run's options ({@link runOptionsText}); `null` for a normal run. */
export function runOptionsTag(options) {
  const text = runOptionsText(options);
  return text ? h('span', { class: 'tag' }, text) : null;
}

/** The path and query of a URL (the host is the same for every call of a destination). */
export function urlPath(url) {
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return url;
  }
}

/**
 * `text` with a line break opportunity (`<wbr>`) after each run of `chars`, so that a path, URL or
 * dotted name wraps at its separators ("/api/participants/" + "batches") rather than mid-word; a
 * run such as the "//" of "https://" stays whole.
 * @param {string} text
 * @param {string} chars the separators, e.g. "/?&" or "."
 * @returns {Array<string | HTMLElement>} children for {@link h}
 */
export function breakAfter(text, chars) {
  const out = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (!chars.includes(text[i]) || i === text.length - 1 || chars.includes(text[i + 1])) continue;
    out.push(text.slice(start, i + 1), h('wbr'));
    start = i + 1;
  }
  out.push(text.slice(start));
  return out;
}

/**
 * A long text shown short: whole (a `<p>`) when at most `previewChars` long; else a `<details>`
 * whose summary shows its start with "…" (the whole text as its tooltip) and, once opened, `label`
 * above the whole text. Both wrap after "/" (URLs in errors). `className` goes on the `<p>` or the
 * `<details>`.
 * @param {string} text
 * @param {{ className: string, label: string, previewChars?: number }} options
 */
export function collapsibleText(text, { className, label, previewChars = 120 }) {
  if (text.length <= previewChars) return h('p', { class: className }, breakAfter(text, '/'));
  return h(
    'details',
    { class: `${className} collapsible` },
    // Open, the summary reads `label` above the full text instead of repeating its start.
    h(
      'summary',
      { title: text },
      h('span', { class: 'collapsible-preview' }, breakAfter(`${text.slice(0, previewChars).trimEnd()}…`, '/')),
      h('span', { class: 'collapsible-label' }, label),
    ),
    h('p', null, breakAfter(text, '/')),
  );
}
