/** Builds the channel of a configured `alerts.channels` entry. */
import type { AlertChannelConfig } from '../../config/schema.ts';
import type { AlertChannel } from './alert-channel.ts';
import { EmailChannel } from './email-channel.ts';
import { PagerDutyChannel } from './pagerduty-channel.ts';
import { SlackChannel } from './slack-channel.ts';
import { TwilioSmsChannel } from './twilio-sms-channel.ts';
import { WebhookChannel } from './webhook-channel.ts';

/** The channel named `name` with its validated `config`. Never throws. */
export function createChannel(name: string, config: AlertChannelConfig): AlertChannel {
  switch (config.type) {
    case 'slack':
      return new SlackChannel(name, config);
    case 'pagerduty':
      return new PagerDutyChannel(name, config);
    case 'sms':
      return new TwilioSmsChannel(name, config);
    case 'email':
      return new EmailChannel(name, config);
    case 'webhook':
      return new WebhookChannel(name, config);
  }
}
