/**
 * Slack, through an incoming webhook.
 *
 * Facts (Slack's docs, "Sending messages using incoming webhooks",
 * https://api.slack.com/messaging/webhooks): the webhook URL is the endpoint and the credential
 * (a secret); a message is `POST`ed to it as `Content-Type: application/json` with `text` (the
 * notification fallback and the message when there are no blocks) and optional Block Kit `blocks`;
 * a `section` block's `mrkdwn` text holds at most 3000 characters. Success is `200` with the body
 * `ok`. Errors (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks):
 * 400 `invalid_payload`, 403 `action_prohibited`, 404 `channel_not_found`, 410
 * `channel_is_archived`, 500 `rollup_error`, as plain text. In mrkdwn, `&`, `<` and `>` must be
 * escaped as `&amp;`, `&lt;`, `&gt;` (https://api.slack.com/reference/surfaces/formatting#escaping).
 */
import type { AlertChannelConfig } from '../../config/schema.ts';
import { noticeLines, noticeTitle, type Notice } from '../notice.ts';
import type { AlertChannel, DeliveryAttempt } from './alert-channel.ts';
import { cut, postToChannel } from './post-to-channel.ts';

type SlackConfig = Extract<AlertChannelConfig, { type: 'slack' }>;

/** A section block's text limit (Block Kit reference), characters. */
const MAX_SECTION_CHARS = 3000;

/** The JSON body posted to the webhook. */
export interface SlackMessage {
  text: string;
  blocks: Array<
    | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
    | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> }
  >;
}

/** The Slack message of a notice: the title as `text`, then the title in bold, the details and the link. */
export function slackMessage(notice: Notice): SlackMessage {
  const title = noticeTitle(notice);
  const details = noticeLines(notice)
    .filter((line) => !line.startsWith('Run details: ') && !line.startsWith('Web UI: '))
    .map(escapeMrkdwn)
    .join('\n');
  const blocks: SlackMessage['blocks'] = [
    { type: 'section', text: { type: 'mrkdwn', text: limit(`*${escapeMrkdwn(title)}*`) } },
    { type: 'section', text: { type: 'mrkdwn', text: limit(details) } },
  ];
  if (notice.run_url !== null) {
    const label = notice.kind === 'test' ? 'Open panelsync' : 'Open the run in panelsync';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${notice.run_url}|${label}>` }] });
  }
  return { text: title, blocks };
}

/** A Slack incoming webhook channel. */
export class SlackChannel implements AlertChannel {
  readonly type = 'slack' as const;
  constructor(
    readonly name: string,
    private readonly config: SlackConfig,
  ) {}

  async send(notice: Notice, attempt: DeliveryAttempt): Promise<void> {
    await postToChannel(
      {
        url: this.config.webhook_url,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackMessage(notice)),
        service: 'the Slack webhook',
        describeError: (_status, text) => cut(text),
      },
      attempt,
    );
  }
}

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function limit(text: string): string {
  return text.length <= MAX_SECTION_CHARS ? text : `${text.slice(0, MAX_SECTION_CHARS - 3)}...`;
}
