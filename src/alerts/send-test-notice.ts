/** `panelsync alerts test CHANNEL`: one test notice, delivered as alerts are (same retries and limits). */
import type { Project } from '../config/load-project.ts';
import { ALERT_DELIVERY_DEFAULTS, type AlertChannelType } from '../config/schema.ts';
import { redact } from '../http/http-client.ts';
import { ChannelError, type AlertChannel } from './channels/alert-channel.ts';
import { channelTarget, createChannel } from './channels/create-channel.ts';
import { deliverNotice, retryWaitMs, type DeliveryResult } from './deliver-notice.ts';
import { testNotice } from './notice.ts';

/**
 * What `alerts test` is doing, for a person watching: an attempt starts (where it goes, as
 * `host:port`, and how long it may take), or an attempt failed (the reason, secrets redacted, and
 * when the next attempt follows, ms; `null`: none does).
 */
export type TestNoticeProgress =
  | { kind: 'attempt'; attempt: number; max_attempts: number; timeout_ms: number; target: string }
  | { kind: 'failed'; attempt: number; max_attempts: number; error: string; retry_in_ms: number | null };

/** A channel name that `alerts.channels` does not define. */
export class AlertChannelUnknownError extends Error {
  readonly code = 'ALERT_CHANNEL_UNKNOWN';
  constructor(channel: string, known: string[]) {
    super(
      `unknown alert channel "${channel}" ` +
        (known.length === 0 ? '(no channels are defined; add one under alerts.channels in panelsync.yml)' : `(known: ${known.join(', ')})`),
    );
    this.name = 'AlertChannelUnknownError';
  }
}

/**
 * Sends a test notice to the channel `channel` of `project` (a PagerDuty channel gets an `info`
 * trigger and its resolve), with the project's delivery settings (attempts, backoff, time limit per
 * attempt) unless `timeoutMs` sets another time limit per attempt (ms). `onProgress` hears of each
 * attempt as it starts and fails. Not recorded in the state database: it belongs to no sync.
 * @returns how the delivery went, with the channel's type
 * @throws AlertChannelUnknownError naming the defined channels
 */
export async function sendTestNotice(
  project: Project,
  channel: string,
  options: { signal?: AbortSignal; timeoutMs?: number; onProgress?: (progress: TestNoticeProgress) => void } = {},
): Promise<DeliveryResult & { type: AlertChannelType }> {
  const channels = project.alerts?.channels ?? {};
  const config = channels[channel];
  if (config === undefined) throw new AlertChannelUnknownError(channel, Object.keys(channels));
  const notice = testNotice(channel, project.public_url, new Date().toISOString());
  const configured = project.alerts?.delivery ?? ALERT_DELIVERY_DEFAULTS;
  const delivery = options.timeoutMs === undefined ? configured : { ...configured, timeout_ms: options.timeoutMs };
  const created = createChannel(channel, config);
  const onProgress = options.onProgress;
  const watched: AlertChannel =
    onProgress === undefined
      ? created
      : {
          name: created.name,
          type: created.type,
          async send(sent, attempt) {
            const max = delivery.max_attempts;
            onProgress({ kind: 'attempt', attempt: attempt.attempt, max_attempts: max, timeout_ms: attempt.timeoutMs, target: channelTarget(config) });
            try {
              await created.send(sent, attempt);
            } catch (error) {
              // The delivery retries what is retryable while attempts remain and it is not abandoned.
              const retrying = error instanceof ChannelError && error.retryable && attempt.attempt < max && !options.signal?.aborted;
              const message = error instanceof Error ? error.message : String(error);
              const retryIn = retrying ? retryWaitMs(delivery.retry_backoff_ms, attempt.attempt, error) : null;
              onProgress({ kind: 'failed', attempt: attempt.attempt, max_attempts: max, error: redact(message, project.secrets), retry_in_ms: retryIn });
              throw error;
            }
          },
        };
  const result = await deliverNotice(watched, notice, { delivery, secrets: project.secrets, signal: options.signal });
  return { ...result, type: config.type };
}
