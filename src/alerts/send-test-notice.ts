/** `panelsync alerts test CHANNEL`: one test notice, delivered as alerts are (same retries and limits). */
import type { Project } from '../config/load-project.ts';
import { ALERT_DELIVERY_DEFAULTS, type AlertChannelType } from '../config/schema.ts';
import { createChannel } from './channels/create-channel.ts';
import { deliverNotice, type DeliveryResult } from './deliver-notice.ts';
import { testNotice } from './notice.ts';

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
 * trigger and its resolve). Not recorded in the state database: it belongs to no sync.
 * @returns how the delivery went, with the channel's type
 * @throws AlertChannelUnknownError naming the defined channels
 */
export async function sendTestNotice(
  project: Project,
  channel: string,
  options: { signal?: AbortSignal } = {},
): Promise<DeliveryResult & { type: AlertChannelType }> {
  const channels = project.alerts?.channels ?? {};
  const config = channels[channel];
  if (config === undefined) throw new AlertChannelUnknownError(channel, Object.keys(channels));
  const notice = testNotice(channel, project.public_url, new Date().toISOString());
  const result = await deliverNotice(createChannel(channel, config), notice, {
    delivery: project.alerts?.delivery ?? ALERT_DELIVERY_DEFAULTS,
    secrets: project.secrets,
    signal: options.signal,
  });
  return { ...result, type: config.type };
}
