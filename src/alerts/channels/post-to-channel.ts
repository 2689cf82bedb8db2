/**
 * One HTTP POST of a notification (Slack, PagerDuty, Twilio, webhooks), on Node's global fetch.
 * Which statuses are worth another attempt is decided in src/http/errors.ts (`isRetryableStatus`:
 * 408, 429, 5xx); every other non-2xx is a refusal. Messages name the service and where it was
 * reached as `host:port` (./network-failure.ts), never the URL.
 */
import { isRetryableStatus } from '../../http/errors.ts';
import { parseRetryAfter } from '../../http/http-client.ts';
import { ChannelError, type DeliveryAttempt } from './alert-channel.ts';
import { channelEndpoint, networkError } from './network-failure.ts';

/** Characters of a service's error answer kept in a {@link ChannelError} message. */
const MAX_ANSWER_CHARS = 200;

export interface ChannelPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  /**
   * Names the service in messages, e.g. "the Slack webhook"; messages add ` at host:port` (never
   * the rest of the URL: a webhook URL is a secret).
   */
  service: string;
  /** Turns the service's error answer into the reason given (default: its text, cut). */
  describeError?: (status: number, text: string) => string;
}

/** A 2xx answer: status and body text. */
export interface ChannelAnswer {
  status: number;
  text: string;
}

/**
 * POSTs once, within the attempt's signal (its timeout or abandonment).
 * @returns the 2xx answer
 * @throws ChannelError: `CHANNEL_REJECTED` (3xx: redirects are not followed; 4xx but 408/429), `CHANNEL_UNAVAILABLE` (408, 429, 5xx;
 *   with the `Retry-After` wait), `CHANNEL_TIMEOUT`, `CHANNEL_ABANDONED`, `CHANNEL_NETWORK` (with the cause, e.g. `ECONNREFUSED`);
 *   each message starts `{service} at {host:port}`
 */
export async function postToChannel(post: ChannelPost, attempt: DeliveryAttempt): Promise<ChannelAnswer> {
  let res: Response;
  let text: string;
  try {
    // Redirects are not followed: a notification (and its headers) goes to the configured URL only.
    res = await fetch(post.url, { method: 'POST', headers: post.headers, body: post.body, signal: attempt.signal, redirect: 'manual' });
    text = await res.text();
  } catch (error) {
    throw networkError(post.service, post.url, attempt, error);
  }
  if (res.ok) return { status: res.status, text };
  const reason =
    res.status >= 300 && res.status < 400
      ? 'redirects are not followed; configure the URL it redirects to'
      : (post.describeError?.(res.status, text) ?? cut(text));
  const message = `${post.service} at ${channelEndpoint(post.url)} answered HTTP ${res.status}${reason === '' ? '' : `: ${reason}`}`;
  if (isRetryableStatus(res.status)) {
    throw new ChannelError('CHANNEL_UNAVAILABLE', message, {
      retryable: true,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), Date.now()),
    });
  }
  throw new ChannelError('CHANNEL_REJECTED', message, { retryable: false });
}

/** The service's answer, on one line and cut to {@link MAX_ANSWER_CHARS}. */
export function cut(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ANSWER_CHARS ? `${line.slice(0, MAX_ANSWER_CHARS - 3)}...` : line;
}
