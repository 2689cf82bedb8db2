/**
 * SMS through Twilio's Programmable Messaging REST API.
 *
 * Facts (Twilio docs, "Message resource", create a Message,
 * https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource; "Twilio
 * API requests", https://www.twilio.com/docs/usage/requests-to-twilio; "Twilio API responses",
 * https://www.twilio.com/docs/usage/twilios-response):
 * - `POST https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic
 *   authentication with the Account SID as user name and the Auth Token (a secret) as password;
 * - the body is form-encoded (`application/x-www-form-urlencoded`): `To` (E.164), `From` (a Twilio
 *   number in E.164 or an alphanumeric sender ID), `Body` (at most 1600 characters);
 * - one message per `To`; success is `201` with the Message resource (`sid`, `status`…);
 * - errors are JSON `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`;
 *   `429` (too many requests) and `5xx` are worth another attempt.
 */
import type { AlertChannelConfig } from '../../config/schema.ts';
import { noticeTitle, type Notice } from '../notice.ts';
import type { AlertChannel, DeliveryAttempt } from './alert-channel.ts';
import { cut, postToChannel } from './post-to-channel.ts';

type SmsConfig = Extract<AlertChannelConfig, { type: 'sms' }>;

/** Twilio's API base when `base_url` is not set. */
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';

/** An alert SMS is kept to two segments' worth, characters (Twilio accepts up to 1600). */
const MAX_SMS_CHARS = 320;

/** The text of a notice as an SMS: the title, then the link to the run when there is one. */
export function smsText(notice: Notice): string {
  const link = notice.run_url === null ? '' : `\n${notice.run_url}`;
  const room = MAX_SMS_CHARS - link.length;
  const title = noticeTitle(notice);
  return `${title.length <= room ? title : `${title.slice(0, Math.max(0, room - 3))}...`}${link}`;
}

/** The Messages resource URL of an account, under `baseUrl` (no trailing `/`). */
export function twilioMessagesUrl(baseUrl: string, accountSid: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
}

/** A Twilio SMS channel: one message to each number of `to`. */
export class TwilioSmsChannel implements AlertChannel {
  readonly type = 'sms' as const;
  constructor(
    readonly name: string,
    private readonly config: SmsConfig,
  ) {}

  async send(notice: Notice, attempt: DeliveryAttempt): Promise<void> {
    const { account_sid: sid, auth_token: token } = this.config;
    const body = smsText(notice);
    for (const to of this.config.to) {
      // A retry texts only the numbers an earlier attempt did not reach.
      if (attempt.delivered.has(to)) continue;
      await postToChannel(
        {
          url: twilioMessagesUrl(this.config.base_url ?? TWILIO_API_BASE_URL, sid),
          headers: {
            authorization: `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: new URLSearchParams({ To: to, From: this.config.from, Body: body }).toString(),
          service: 'the Twilio Messages API',
          describeError: describeTwilioError,
        },
        attempt,
      );
      attempt.delivered.add(to);
    }
  }
}

/** `{"code":20003,"message":"Authenticate"}` -> `Twilio error 20003: Authenticate`. */
function describeTwilioError(_status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.message === 'string') return cut(`Twilio error ${typeof body.code === 'number' ? `${body.code}: ` : ''}${body.message}`);
  } catch {
    // not JSON: the text as it is
  }
  return cut(text);
}
