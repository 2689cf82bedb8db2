/**
 * What a response's rate-limit headers say about the pace the API accepts. Whether the User
 * Interviews API sends any is not known (see shared docs: user-interviews-api, "Limits and errors":
 * only `429` with `Retry-After` is assumed); when it does, the rate-limit gate uses them. Read:
 * - `RateLimit-Policy: LIMIT;w=SECONDS` (IETF draft-ietf-httpapi-ratelimit-headers-07; the first
 *   policy when several are listed): the pace, LIMIT / SECONDS requests per second;
 * - `RateLimit-Remaining` with `RateLimit-Reset` (delta seconds), or `X-RateLimit-Remaining` with
 *   `X-RateLimit-Reset` (epoch seconds as GitHub sends them, or delta seconds when the value is
 *   below 10^9): a remaining quota of 0 means no request before the reset.
 */

/** The pace and the pause a response's rate-limit headers ask for; a key is absent when the headers say nothing of it. */
export interface RateLimitHint {
  /** Requests per second the policy allows (> 0). */
  requestsPerSecond?: number;
  /** Epoch ms before which no request should start: the quota is used up until then. */
  waitUntilMs?: number;
}

/** Reset values at or above this are epoch seconds, below it delta seconds (10^9 s is the year 2001). */
const EPOCH_SECONDS_FROM = 1e9;

/**
 * Reads the rate-limit headers of a response (names in lower case, as fetch gives them); `nowMs`:
 * epoch ms when it arrived. Unreadable values are ignored.
 */
export function readRateLimitHeaders(headers: Record<string, string>, nowMs: number): RateLimitHint {
  const hint: RateLimitHint = {};
  const policy = /^\s*(\d+(?:\.\d+)?)\s*;(?:[^,]*;)?\s*w=(\d+(?:\.\d+)?)/.exec(headers['ratelimit-policy'] ?? '');
  if (policy && Number(policy[1]) > 0 && Number(policy[2]) > 0) hint.requestsPerSecond = Number(policy[1]) / Number(policy[2]);
  for (const prefix of ['ratelimit-', 'x-ratelimit-']) {
    const remaining = number(headers[`${prefix}remaining`]);
    const reset = number(headers[`${prefix}reset`]);
    if (remaining !== 0 || reset === null) continue;
    const at = reset >= EPOCH_SECONDS_FROM ? reset * 1000 : nowMs + reset * 1000;
    hint.waitUntilMs = Math.max(hint.waitUntilMs ?? 0, at);
  }
  return hint;
}

function number(value: string | undefined): number | null {
  return value !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : null;
}
