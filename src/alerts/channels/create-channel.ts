/** Builds the channel of a configured `alerts.channels` entry. */
import type { AlertChannelConfig } from '../../config/schema.ts';
import type { AlertChannel } from './alert-channel.ts';
import { EmailChannel } from './email-channel.ts';
import { channelEndpoint } from './network-failure.ts';
import { PAGERDUTY_EVENTS_URL, PagerDutyChannel } from './pagerduty-channel.ts';
import { SlackChannel } from './slack-channel.ts';
import { TWILIO_API_BASE_URL, TwilioSmsChannel } from './twilio-sms-channel.ts';
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

/**
 * Where a channel's notifications go, as `host:port` only ({@link channelEndpoint}: never the user
 * info, path or query of its URL, which can be secrets), for messages such as `alerts test`'s
 * progress: `hooks.slack.com:443`, `events.pagerduty.com:443` (the default `events_url`).
 */
export function channelTarget(config: AlertChannelConfig): string {
  switch (config.type) {
    case 'slack':
      return channelEndpoint(config.webhook_url);
    case 'pagerduty':
      return channelEndpoint(config.events_url ?? PAGERDUTY_EVENTS_URL);
    case 'sms':
      return channelEndpoint(config.base_url ?? TWILIO_API_BASE_URL);
    case 'email':
      return channelEndpoint(config.smtp_url);
    case 'webhook':
      return channelEndpoint(config.url);
  }
}
