/**
 * `npm run bench:pacing [-- --headers ratelimit]`: one line per rate limit (2 requests/s with
 * 4,000 rows, 20 requests/s with 20,000 rows; concurrency 8): the limit, the accepted requests per
 * second, the share of requests answered 429, and whether the goal of issue 10 is met (at most 5%
 * answered 429, at least 90% of the limit used). Exits 1 when a goal is missed.
 */
import { parseArgs } from 'node:util';
import { RATE_LIMIT_HEADER_STYLES, type RateLimitHeaderStyle } from '../src/emulator/emulator-knobs.ts';
import { measurePacing } from './pacing.ts';

const CASES = [
  { requestsPerSecond: 2, rows: 4_000 },
  { requestsPerSecond: 20, rows: 20_000 },
] as const;
const CONCURRENCY = 8;

const { values } = parseArgs({ options: { headers: { type: 'string', default: 'none' } } });
if (!(RATE_LIMIT_HEADER_STYLES as readonly string[]).includes(values.headers)) {
  throw new Error(`--headers must be one of ${RATE_LIMIT_HEADER_STYLES.join(', ')}, got "${values.headers}"`);
}
const rateLimitHeaders = values.headers as RateLimitHeaderStyle;

for (const c of CASES) {
  const r = await measurePacing({ ...c, concurrency: CONCURRENCY, rateLimitHeaders });
  const used = r.acceptedPerSecond / r.limit;
  const met = r.share429 <= 0.05 && used >= 0.9;
  console.log(
    `pacing: limit ${r.limit} req/s, ${c.rows.toLocaleString('en')} rows, concurrency ${CONCURRENCY}, headers ${rateLimitHeaders}: ` +
      `${r.acceptedPerSecond.toFixed(2)} accepted req/s (${(used * 100).toFixed(0)}% of the limit), ` +
      `${(r.share429 * 100).toFixed(1)}% of ${r.calls} calls answered 429, ${r.seconds.toFixed(1)} s` +
      (met ? '' : '  GOAL MISSED (<= 5% 429, >= 90% of the limit)'),
  );
  if (!met) process.exitCode = 1;
}
