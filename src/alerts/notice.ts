/**
 * A notice: what one channel is told about one change of an alert's state (or a test), and its
 * text. Every channel renders the same facts: which sync, what happened, the run's counts, the
 * first row errors (primary keys and scrubbed reasons only), and a link to the run in the web UI
 * when `public_url` is set. Nothing here holds a secret or participant data beyond primary keys:
 * error texts go through {@link scrubPersonalData} when the notice is built.
 */
import type { AlertLevel } from '../config/schema.ts';
import { redact } from '../http/http-client.ts';
import type { RunSummary } from '../engine/run-summary.ts';
import type { AlertState } from '../state/state-store.ts';
import type { AlertTrigger } from './alert-policy.ts';
import type { NoticeKind } from './alert-state-machine.ts';
import { durationText } from './evaluate-triggers.ts';
import { scrubPersonalData } from './scrub-personal-data.ts';

/** First row errors a notice lists at most. */
export const MAX_NOTICE_ERRORS = 5;

/** A row error as a notice lists it: the primary key and the scrubbed reason. */
export interface NoticeRowError {
  /** The row's primary key; `null` when the row had none (an invalid row). */
  pk: string | null;
  result: 'rejected' | 'invalid';
  error: string;
}

/** One notification for one channel. JSON-ready; the webhook channel posts it as it is. */
export interface Notice {
  kind: NoticeKind;
  /** ISO 8601 time the notice was made. */
  at: string;
  /** The sync; `null` for a test. */
  sync: string | null;
  trigger: AlertTrigger | null;
  /** For an alert: the level reached. For a recovery: the level cleared (the channel heard of it). `null` for a test. */
  level: AlertLevel | null;
  /**
   * The trigger's state before and after this run. Equal for an alert of a state that holds, sent
   * to a recipient that was added or began to listen to that level since it began, or whose
   * earlier alert of it was not delivered.
   */
  from: AlertState;
  to: AlertState;
  /** What happened, one sentence without participant data. */
  reason: string;
  /** The run that caused the change; `null` for a test. */
  run: {
    id: string;
    status: RunSummary['status'];
    duration_ms: number;
    rows: RunSummary['rows'];
    succeeded: RunSummary['succeeded'];
    rejected: RunSummary['rejected'];
    skipped: RunSummary['skipped'];
    /** Why a failed run failed, scrubbed; `null` otherwise. */
    error: string | null;
  } | null;
  /** At most {@link MAX_NOTICE_ERRORS} of the run's row errors, rejected before invalid. */
  first_errors: NoticeRowError[];
  /** `{public_url}/runs/{run_id}`, or `null` without `public_url` (or for a test: `public_url` itself). */
  run_url: string | null;
  /**
   * One key per sync and trigger (`panelsync/{sync}/{trigger}`, at most 255 characters), so an
   * alert and its recovery refer to the same incident (PagerDuty's `dedup_key`).
   */
  dedup_key: string;
}

/**
 * A time as a notice's reason says it, `03:04:05 UTC on 2 Jan 2026`: reasons are scrubbed of
 * phone-number-like digit runs (./scrub-personal-data.ts), which an ISO 8601 date would be taken for.
 */
export function noticeTime(date: Date): string {
  const month = date.toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' });
  return `${date.toISOString().slice(11, 19)} UTC on ${date.getUTCDate()} ${month} ${date.getUTCFullYear()}`;
}

/** Human names of the triggers, as messages use them. */
export const TRIGGER_LABELS: Record<AlertTrigger, string> = {
  failed_run: 'failed runs',
  rejected_rows: 'rejected rows',
  slow_run: 'slow runs',
  missed_schedule: 'missed schedule',
  empty_model: 'empty model',
  volume_change: 'volume change',
  full_resync: 'full resync',
};

/** Inputs of {@link alertNotice}. */
export interface AlertNoticeInput {
  kind: 'alert' | 'recovery';
  /** The level reached (alert) or cleared (recovery) for this channel. */
  level: AlertLevel;
  sync: string;
  trigger: AlertTrigger;
  from: AlertState;
  to: AlertState;
  reason: string;
  /**
   * The run that ended, or `null` when the notice is about no ended run: a missed schedule (no
   * run started), a full resync starting (`runId` names it).
   */
  summary: RunSummary | null;
  /** The run linked to when `summary` is `null` (a full resync starting); default `summary.run_id`. */
  runId?: string | null;
  /** The run's row errors, unscrubbed, in the order met (at most a few are used). */
  rowErrors: readonly NoticeRowError[];
  /** The project's `public_url` (no trailing `/`), if set. */
  publicUrl: string | undefined;
  /** Strings to redact (the project's secrets). */
  secrets: readonly string[];
  at: string;
}

/** The notice of an alert or a recovery, scrubbed of participant data and secrets. */
export function alertNotice(input: AlertNoticeInput): Notice {
  const { summary, secrets } = input;
  const runId = summary?.run_id ?? input.runId ?? null;
  const rejectedFirst = [...input.rowErrors.filter((e) => e.result === 'rejected'), ...input.rowErrors.filter((e) => e.result === 'invalid')];
  return {
    kind: input.kind,
    at: input.at,
    sync: input.sync,
    trigger: input.trigger,
    level: input.level,
    from: input.from,
    to: input.to,
    reason: scrubPersonalData(input.reason, secrets),
    run: summary === null ? null : {
      id: summary.run_id,
      status: summary.status,
      duration_ms: summary.duration_ms,
      rows: summary.rows,
      succeeded: summary.succeeded,
      rejected: summary.rejected,
      skipped: summary.skipped,
      error: summary.error === undefined ? null : scrubPersonalData(summary.error, secrets),
    },
    first_errors: rejectedFirst.slice(0, MAX_NOTICE_ERRORS).map((e) => ({
      // A primary key is shown as it is (it is what identifies the row), unless it holds a secret.
      pk: e.pk === null ? null : redact(e.pk, secrets),
      result: e.result,
      error: scrubPersonalData(e.error, secrets),
    })),
    run_url: input.publicUrl === undefined || runId === null ? null : `${input.publicUrl}/runs/${encodeURIComponent(runId)}`,
    dedup_key: dedupKey(input.sync, input.trigger),
  };
}

/** A test notice for `channel` (`panelsync alerts test CHANNEL`). */
export function testNotice(channel: string, publicUrl: string | undefined, at: string): Notice {
  return {
    kind: 'test',
    at,
    sync: null,
    trigger: null,
    level: null,
    from: 'ok',
    to: 'ok',
    reason: `a test notification for channel "${channel}": if you read this, alerts reach you here`,
    run: null,
    first_errors: [],
    run_url: publicUrl ?? null,
    dedup_key: truncateKey(`panelsync/test/${channel}`),
  };
}

/** `panelsync/{sync}/{trigger}`, cut to PagerDuty's 255-character limit. */
export function dedupKey(sync: string, trigger: AlertTrigger): string {
  return truncateKey(`panelsync/${sync}/${trigger}`);
}

/**
 * One line saying what the notice is about, e.g.
 * `[panelsync] CRITICAL customers: 12 of 59 rows (20.3%) were rejected or invalid (...)`,
 * `[panelsync] RECOVERED customers: rejected rows back to ok`.
 */
export function noticeTitle(notice: Notice): string {
  if (notice.kind === 'test') return `[panelsync] Test notification: ${notice.reason}`;
  const label = TRIGGER_LABELS[notice.trigger!];
  if (notice.kind === 'alert') return `[panelsync] ${notice.level!.toUpperCase()} ${notice.sync}: ${notice.reason}`;
  return notice.to === 'ok'
    ? `[panelsync] RECOVERED ${notice.sync}: ${label} back to ok`
    : `[panelsync] ${notice.sync}: ${label} no longer ${notice.level} (now ${notice.to})`;
}

/** How the trigger's state moved: `ok -> warning`, or `still critical` for an alert of a state that holds. */
export function stateChangeText(notice: Notice): string {
  return notice.from === notice.to ? `still ${notice.to}` : `${notice.from} -> ${notice.to}`;
}

/** The details, one fact a line (no title): sync, trigger, run, counts, error, first errors, link. */
export function noticeLines(notice: Notice): string[] {
  if (notice.kind === 'test') {
    return [`Sent by panelsync at ${notice.at}.`, ...(notice.run_url === null ? [] : [`Web UI: ${notice.run_url}`])];
  }
  const lines = [
    `Sync: ${notice.sync}`,
    `Trigger: ${TRIGGER_LABELS[notice.trigger!]} (${stateChangeText(notice)})`,
    `What happened: ${notice.reason}`,
  ];
  const run = notice.run;
  if (run === null) {
    if (notice.run_url !== null) lines.push(`Run details: ${notice.run_url}`);
    return lines;
  }
  lines.push(`Run: ${run.id} (${run.status}, ${durationText(run.duration_ms)})`);
  lines.push(`Rows: ${countsText(run)}`);
  if (run.error !== null) lines.push(`Error: ${run.error}`);
  if (notice.first_errors.length > 0) {
    lines.push('First errors:');
    for (const e of notice.first_errors) lines.push(`- ${e.pk === null ? 'row without primary key' : `primary key ${e.pk}`} (${e.result}): ${e.error}`);
  }
  if (notice.run_url !== null) lines.push(`Run details: ${notice.run_url}`);
  return lines;
}

/** `59 queried; added 10 (8 succeeded, 2 rejected); changed 3 (3 succeeded); removed 0; unchanged 45; invalid 1`. */
export function countsText(run: NonNullable<Notice['run']>): string {
  const cls = (name: 'added' | 'changed' | 'removed') => {
    const planned = run.rows[name];
    if (planned === 0) return `${name} 0`;
    const parts = [`${run.succeeded[name]} succeeded`];
    if (run.rejected[name] > 0) parts.push(`${run.rejected[name]} rejected`);
    if (run.skipped[name] > 0) parts.push(`${run.skipped[name]} skipped`);
    return `${name} ${planned} (${parts.join(', ')})`;
  };
  return [
    `${run.rows.queried} queried`,
    cls('added'),
    cls('changed'),
    cls('removed'),
    `unchanged ${run.rows.unchanged}`,
    `invalid ${run.rows.invalid}`,
  ].join('; ');
}

function truncateKey(key: string): string {
  return key.length <= 255 ? key : key.slice(0, 255);
}
