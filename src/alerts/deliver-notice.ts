/**
 * Delivery of one notice to one channel: attempts with a time limit each, retries with
 * exponential backoff on transient failures, and a result instead of an exception.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertDeliveryConfig } from '../config/schema.ts';
import { redact } from '../http/http-client.ts';
import { ChannelError, type AlertChannel } from './channels/alert-channel.ts';
import type { Notice } from './notice.ts';

/** A channel's `Retry-After` is honoured up to this wait, ms. */
export const MAX_RETRY_AFTER_MS = 60_000;

export interface DeliveryOptions {
  delivery: AlertDeliveryConfig;
  /** Replaced by `[REDACTED]` in the error text (the project's secrets). */
  secrets: readonly string[];
  /** Aborting abandons the delivery: the attempt in flight stops, no retry follows. */
  signal?: AbortSignal;
}

/** How a delivery went. */
export interface DeliveryResult {
  ok: boolean;
  /** Attempts made (at least 1 unless abandoned before the first). */
  attempts: number;
  /** The last failure, secrets redacted; `null` when delivered. */
  error: string | null;
  /** From the first attempt to the end, ms. */
  duration_ms: number;
}

/**
 * Delivers `notice` through `channel`: at most `delivery.max_attempts` attempts of at most
 * `delivery.timeout_ms` each; before retry n it waits `retry_backoff_ms * 2^(n-1)` ms, or the
 * channel's `Retry-After` when longer (up to {@link MAX_RETRY_AFTER_MS}). Only retryable
 * {@link ChannelError}s are retried. Never throws.
 */
export async function deliverNotice(channel: AlertChannel, notice: Notice, options: DeliveryOptions): Promise<DeliveryResult> {
  const { max_attempts: maxAttempts, retry_backoff_ms: backoffMs, timeout_ms: timeoutMs } = options.delivery;
  const started = Date.now();
  const delivered = new Set<string>();
  let attempts = 0;
  let lastError = 'abandoned before the first attempt: the process was stopping';
  while (attempts < maxAttempts && !options.signal?.aborted) {
    attempts++;
    const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    try {
      await channel.send(notice, { attempt: attempts, signal, timeoutMs, delivered });
      return { ok: true, attempts, error: null, duration_ms: Date.now() - started };
    } catch (error) {
      const failure =
        error instanceof ChannelError
          ? error
          : new ChannelError('CHANNEL_REJECTED', `unexpected failure: ${error instanceof Error ? error.message : String(error)}`, { retryable: false, cause: error });
      lastError = redact(failure.message, options.secrets);
      if (!failure.retryable || attempts >= maxAttempts) break;
      const wait = retryWaitMs(backoffMs, attempts, failure);
      try {
        await sleep(wait, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        lastError = `${lastError}; abandoned before attempt ${attempts + 1}: the process was stopping`;
        break;
      }
    }
  }
  return { ok: false, attempts, error: lastError, duration_ms: Date.now() - started };
}

/**
 * How long a delivery waits after failed attempt `attempt` (1-based) before the next, ms:
 * `backoffMs * 2^(attempt-1)`, or the channel's `Retry-After` when longer (up to
 * {@link MAX_RETRY_AFTER_MS}).
 */
export function retryWaitMs(backoffMs: number, attempt: number, failure: ChannelError): number {
  return Math.max(backoffMs * 2 ** (attempt - 1), Math.min(failure.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}
