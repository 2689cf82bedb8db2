/**
 * Email over SMTP, through nodemailer (https://nodemailer.com/smtp/): the transport is built from
 * `smtp_url` (`smtp://user:password@host:port`, or `smtps://` for TLS from the first byte;
 * https://nodemailer.com/smtp/#connection-url), and one plain-text message goes to every address
 * of `to` in one SMTP transaction.
 *
 * SMTP reply codes (RFC 5321, section 4.2.1): `4yz` is a transient failure (worth another
 * attempt), `5yz` a permanent one. nodemailer reports failures with an error `code`
 * (`ECONNECTION`, `ETIMEDOUT`, `ESOCKET`, `EDNS`, `ETLS`, `EAUTH`, `ENOAUTH`, `EENVELOPE`,
 * `EMESSAGE`…), the system's code under it as `originalCode` (`ECONNREFUSED`, `ENOTFOUND`), and,
 * for SMTP replies, `responseCode`. Messages name the server as `host:port` only (`smtp_url`
 * holds the password).
 */
import nodemailer from 'nodemailer';
import type { AlertChannelConfig } from '../../config/schema.ts';
import { noticeLines, noticeTitle, type Notice } from '../notice.ts';
import { ChannelError, type AlertChannel, type DeliveryAttempt } from './alert-channel.ts';
import { isRetryableNetworkError } from '../../http/errors.ts';
import { channelEndpoint, networkCause, networkError, timeoutError, withoutUrl } from './network-failure.ts';
import { cut } from './post-to-channel.ts';

type EmailConfig = Extract<AlertChannelConfig, { type: 'email' }>;

const SERVICE = 'the SMTP server';

/** nodemailer error codes of failures to reach or keep talking to the server (worth another attempt unless the system's code says otherwise). */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS']);

/** The email of a notice: subject and plain-text body. */
export function emailMessage(notice: Notice): { subject: string; text: string } {
  return { subject: noticeTitle(notice), text: `${noticeLines(notice).join('\n')}\n` };
}

/** An SMTP email channel. */
export class EmailChannel implements AlertChannel {
  readonly type = 'email' as const;
  constructor(
    readonly name: string,
    private readonly config: EmailConfig,
  ) {}

  async send(notice: Notice, attempt: DeliveryAttempt): Promise<void> {
    const url = this.config.smtp_url;
    if (attempt.signal.aborted) throw networkError(SERVICE, url, attempt, attempt.signal.reason);
    const transport = nodemailer.createTransport({
      url,
      connectionTimeout: attempt.timeoutMs,
      greetingTimeout: attempt.timeoutMs,
      socketTimeout: attempt.timeoutMs,
      logger: false,
    });
    const { subject, text } = emailMessage(notice);
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        transport.close();
        reject(networkError(SERVICE, url, attempt, attempt.signal.reason));
      };
      attempt.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const info = await Promise.race([transport.sendMail({ from: this.config.from, to: this.config.to, subject, text }), aborted]);
      if (info.rejected.length > 0) {
        throw new ChannelError('CHANNEL_REJECTED', `${SERVICE} at ${channelEndpoint(url)} refused ${info.rejected.length} of ${this.config.to.length} recipients`, { retryable: false });
      }
    } catch (error) {
      throw smtpError(error, url, attempt);
    } finally {
      attempt.signal.removeEventListener('abort', onAbort);
      transport.close();
    }
  }
}

function smtpError(error: unknown, url: string, attempt: DeliveryAttempt): ChannelError {
  if (error instanceof ChannelError) return error;
  const where = `${SERVICE} at ${channelEndpoint(url)}`;
  const { code, originalCode, responseCode, message } = error as { code?: unknown; originalCode?: unknown; responseCode?: unknown; message?: unknown };
  const reason = cut(withoutUrl(typeof message === 'string' ? message : String(error), url));
  if (code === 'EAUTH' || code === 'ENOAUTH') {
    return new ChannelError('CHANNEL_REJECTED', `${where} refused the login (${reason}): check the user and password in smtp_url`, { retryable: false, cause: error });
  }
  if (typeof responseCode === 'number') {
    const transient = responseCode >= 400 && responseCode < 500;
    return new ChannelError(transient ? 'CHANNEL_UNAVAILABLE' : 'CHANNEL_REJECTED', `${where} answered ${responseCode}: ${reason}`, { retryable: transient, cause: error });
  }
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) {
    if (code === 'ETIMEDOUT') return timeoutError(where, attempt, error);
    // The system's code (ECONNREFUSED, ENOTFOUND) says more than nodemailer's (ESOCKET, EDNS), and
    // decides whether to retry; without one, nodemailer's transient code does.
    if (typeof originalCode !== 'string') return networkError(SERVICE, url, attempt, error, true);
    const system = { code: originalCode };
    return new ChannelError('CHANNEL_NETWORK', `${where} could not be reached: ${networkCause(system, url)}`, {
      retryable: isRetryableNetworkError(system),
      cause: error,
    });
  }
  return new ChannelError('CHANNEL_REJECTED', `${where}: ${reason}`, { retryable: false, cause: error });
}
