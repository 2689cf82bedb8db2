/**
 * How long `panelsync serve` waits before trying again something that failed for a reason that
 * passes (a state database busy for longer than its busy_timeout, a sync's run lock held by
 * another process): a run that could not start, a run lock that could not be released, a
 * scheduled run that could not be fired.
 */

/** The wait after the first failure, ms; it doubles after each further one. */
export const RETRY_INITIAL_MS = 1_000;
/** The longest wait, ms. */
export const RETRY_MAX_MS = 30_000;

/** The wait after `failures` (1 or more) failed attempts in a row, ms: 1 s, 2 s, 4 s… at most 30 s. */
export function retryDelayMs(failures: number): number {
  // The exponent is capped so that the power never overflows to Infinity.
  return Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

/** `ms` as the seconds shown in log lines: `1`, `2.5`. */
export function retrySeconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
