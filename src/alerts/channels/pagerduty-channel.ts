/**
 * PagerDuty, through the Events API v2.
 *
 * Facts (PagerDuty developer docs, "Send an Alert Event",
 * https://developer.pagerduty.com/docs/events-api-v2/trigger-events/, and "Events API v2
 * Overview", https://developer.pagerduty.com/docs/events-api-v2/overview/):
 * - `POST https://events.pagerduty.com/v2/enqueue`, JSON: `routing_key` (the integration key, a
 *   secret), `event_action` `trigger` | `acknowledge` | `resolve`, `dedup_key` (at most 255
 *   characters; events with the same key apply to the same open alert; after a resolve, a new
 *   trigger with that key opens a new alert), and for a trigger `payload` with `summary` (at most
 *   1024 characters), `source`, `severity` (`critical` | `error` | `warning` | `info`), optional
 *   `timestamp`, `component`, `group`, `class`, `custom_details`; optional `links` `[{href, text}]`,
 *   `client`, `client_url`. A resolve needs only `routing_key`, `dedup_key` and `event_action`.
 * - Answers: `202` accepted (`{"status":"success","message":"Event processed","dedup_key":…}`);
 *   `400` invalid event (do not retry); `429` too many events and `5xx`: retry after a while.
 *   Payloads are limited to 512 KB.
 */
import type { AlertChannelConfig } from '../../config/schema.ts';
import { countsText, noticeTitle, stateChangeText, type Notice } from '../notice.ts';
import type { AlertChannel, DeliveryAttempt } from './alert-channel.ts';
import { cut, postToChannel } from './post-to-channel.ts';

type PagerDutyConfig = Extract<AlertChannelConfig, { type: 'pagerduty' }>;

/** The Events API v2 endpoint when `events_url` is not set. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** `payload.summary` limit, characters. */
const MAX_SUMMARY_CHARS = 1024;

/** An Events API v2 alert event (trigger or resolve). */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'warning' | 'info';
    timestamp: string;
    component: string;
    group: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  links?: Array<{ href: string; text: string }>;
  client?: string;
  client_url?: string;
}

/**
 * The events a notice sends: an alert is a `trigger` (severity = its level); a recovery is a
 * `resolve` of the same `dedup_key` (one per sync and trigger); a test is an `info` trigger
 * followed by its resolve, so that no alert stays open.
 */
export function pagerDutyEvents(notice: Notice, routingKey: string): PagerDutyEvent[] {
  const resolve: PagerDutyEvent = { routing_key: routingKey, event_action: 'resolve', dedup_key: notice.dedup_key };
  if (notice.kind === 'recovery') return [resolve];
  const summary = noticeTitle(notice).replace(/^\[panelsync\] /, '');
  const trigger: PagerDutyEvent = {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: notice.dedup_key,
    payload: {
      summary: summary.length <= MAX_SUMMARY_CHARS ? summary : `${summary.slice(0, MAX_SUMMARY_CHARS - 3)}...`,
      source: notice.sync === null ? 'panelsync' : `panelsync sync ${notice.sync}`,
      severity: notice.kind === 'test' ? 'info' : notice.level!,
      timestamp: notice.at,
      component: notice.sync ?? 'panelsync',
      group: 'panelsync',
      class: notice.trigger ?? 'test',
      custom_details: customDetails(notice),
    },
    client: 'panelsync',
  };
  if (notice.run_url !== null) {
    trigger.links = [{ href: notice.run_url, text: notice.kind === 'test' ? 'panelsync' : 'The run in panelsync' }];
    trigger.client_url = notice.run_url;
  }
  return notice.kind === 'test' ? [trigger, resolve] : [trigger];
}

/** A PagerDuty Events API v2 channel. */
export class PagerDutyChannel implements AlertChannel {
  readonly type = 'pagerduty' as const;
  constructor(
    readonly name: string,
    private readonly config: PagerDutyConfig,
  ) {}

  async send(notice: Notice, attempt: DeliveryAttempt): Promise<void> {
    const events = pagerDutyEvents(notice, this.config.routing_key);
    for (const [index, event] of events.entries()) {
      // A retry does not send again an event that was accepted (a test's trigger before its resolve).
      const part = `${index}:${event.event_action}`;
      if (attempt.delivered.has(part)) continue;
      await postToChannel(
        {
          url: this.config.events_url ?? PAGERDUTY_EVENTS_URL,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
          service: 'the PagerDuty Events API',
          describeError: describePagerDutyError,
        },
        attempt,
      );
      attempt.delivered.add(part);
    }
  }
}

function customDetails(notice: Notice): Record<string, unknown> {
  if (notice.kind === 'test') return { reason: notice.reason };
  if (notice.run === null) return { sync: notice.sync, trigger: notice.trigger, state: stateChangeText(notice), reason: notice.reason };
  return {
    sync: notice.sync,
    trigger: notice.trigger,
    state: stateChangeText(notice),
    reason: notice.reason,
    run_id: notice.run.id,
    run_status: notice.run.status,
    rows: countsText(notice.run),
    ...(notice.run.error === null ? {} : { error: notice.run.error }),
    ...(notice.first_errors.length === 0
      ? {}
      : { first_errors: notice.first_errors.map((e) => `${e.pk ?? '(no primary key)'} (${e.result}): ${e.error}`) }),
  };
}

/** `400 {"status":"invalid event","message":"Event object is invalid","errors":["…"]}` -> its message and errors. */
function describePagerDutyError(_status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; errors?: unknown };
    const parts = [typeof body.message === 'string' ? body.message : ''];
    if (Array.isArray(body.errors)) parts.push(...body.errors.filter((e): e is string => typeof e === 'string'));
    const joined = parts.filter((p) => p !== '').join('; ');
    if (joined !== '') return cut(joined);
  } catch {
    // not JSON: the text as it is
  }
  return cut(text);
}
