/**
 * A generic webhook: the notice is `POST`ed as JSON to `url` with the configured `headers` (e.g.
 * a token the receiver checks). Any 2xx is success; 408, 429 and 5xx are retried, other statuses
 * are a refusal.
 *
 * The body is the {@link Notice} with a `type` and a format `version` in front:
 * `{ "type": "panelsync.alert", "version": 1, "kind": "alert" | "recovery" | "test", "at", "sync",
 * "trigger", "level", "from", "to", "reason", "run": {…} | null, "first_errors": […], "run_url",
 * "dedup_key" }`. Fields are added in later versions, never renamed or removed.
 */
import type { AlertChannelConfig } from '../../config/schema.ts';
import type { Notice } from '../notice.ts';
import type { AlertChannel, DeliveryAttempt } from './alert-channel.ts';
import { postToChannel } from './post-to-channel.ts';

type WebhookConfig = Extract<AlertChannelConfig, { type: 'webhook' }>;

/** The body's format version. */
export const WEBHOOK_FORMAT_VERSION = 1;

/** The JSON body of a notice. */
export function webhookBody(notice: Notice): { type: 'panelsync.alert'; version: number } & Notice {
  return { type: 'panelsync.alert', version: WEBHOOK_FORMAT_VERSION, ...notice };
}

/** A generic JSON webhook channel. */
export class WebhookChannel implements AlertChannel {
  readonly type = 'webhook' as const;
  constructor(
    readonly name: string,
    private readonly config: WebhookConfig,
  ) {}

  async send(notice: Notice, attempt: DeliveryAttempt): Promise<void> {
    await postToChannel(
      {
        url: this.config.url,
        // Configured headers first, so that they cannot replace the content type of the JSON body.
        headers: { ...this.config.headers, 'content-type': 'application/json', 'user-agent': 'panelsync' },
        body: JSON.stringify(webhookBody(notice)),
        service: 'the webhook',
      },
      attempt,
    );
  }
}
