/**
 * The interface every notification channel implements, and the one error type they throw.
 * A channel knows its service's request format only; retries, backoff, logging and recording
 * are the delivery's (../deliver-notice.ts).
 */
import type { AlertChannelType } from '../../config/schema.ts';
import type { Notice } from '../notice.ts';

/** What one attempt of a delivery gets. */
export interface DeliveryAttempt {
  /** 1-based attempt number. */
  attempt: number;
  /** Aborted when the attempt times out or the delivery is abandoned; the channel stops at once. */
  signal: AbortSignal;
  /** The attempt's time limit, ms (the channel passes it to libraries that take their own timeouts). */
  timeoutMs: number;
  /**
   * Parts of the notice already delivered by earlier attempts (e.g. SMS recipients), kept across
   * the attempts of one delivery so that a retry does not send them twice. The channel adds to it.
   */
  delivered: Set<string>;
}

/** One notification channel, configured. */
export interface AlertChannel {
  /** The channel's name under `alerts.channels`. */
  readonly name: string;
  readonly type: AlertChannelType;
  /**
   * Delivers `notice` once (one attempt).
   * @throws ChannelError saying what failed and whether another attempt may succeed
   */
  send(notice: Notice, attempt: DeliveryAttempt): Promise<void>;
}

/** Stable codes of {@link ChannelError}. */
export const CHANNEL_ERROR_CODES = [
  /** The service refused the notification for good (4xx other than 408/429, bad credentials, bad recipient). */
  'CHANNEL_REJECTED',
  /** The service failed transiently (5xx, 408, 429, SMTP 4xx). */
  'CHANNEL_UNAVAILABLE',
  /** No complete answer within the attempt's time limit. */
  'CHANNEL_TIMEOUT',
  /** The service could not be reached (refused, reset, DNS, TLS). */
  'CHANNEL_NETWORK',
  /** The delivery was abandoned (the process is exiting). */
  'CHANNEL_ABANDONED',
] as const;
export type ChannelErrorCode = (typeof CHANNEL_ERROR_CODES)[number];

/**
 * A failed attempt. The message names the channel's service, where it went as `host:port`, and the
 * reason (a status and the service's answer, an error code such as `ECONNREFUSED`, a timeout),
 * never a secret (no webhook URL, path, query, key, token or password): channels build it from
 * status codes and the service's own error text (./network-failure.ts), and the delivery redacts
 * the project's secrets again before logging or storing.
 */
export class ChannelError extends Error {
  readonly code: ChannelErrorCode;
  /** Whether another attempt may succeed. */
  readonly retryable: boolean;
  /** The wait the service asked for (`Retry-After`), ms; `null` when none. */
  readonly retryAfterMs: number | null;
  constructor(code: ChannelErrorCode, message: string, options: { retryable: boolean; retryAfterMs?: number | null; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChannelError';
    this.code = code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}
