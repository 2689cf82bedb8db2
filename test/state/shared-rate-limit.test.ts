/**
 * A destination's `rate_limit` is kept by every process on one state database: two stores on one
 * state file (as two processes open it), each with its own gate of the same account, send to an
 * emulator that enforces the same limit, and together they stay under it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCEPT } from '../../src/destinations/user-interviews/wire.ts';
import { startEmulator, type RunningEmulator } from '../../src/emulator/start-emulator.ts';
import { HttpClient } from '../../src/http/http-client.ts';
import { RateLimitGate, rateLimitAccount } from '../../src/http/rate-limit-gate.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';

const KEY = 'shared-limit-key';
const LIMIT = { requestsPerSecond: 10, burst: 1 };

let emulator: RunningEmulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await emulator?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  emulator = dir = undefined;
});

/** A "process": its own store on `path` and its own gate of the account, as a second CLI run or `serve` would have. */
function processOn(path: string, apiUrl: string) {
  const store = new SqliteStateStore(path);
  const http = new HttpClient({
    baseUrl: apiUrl,
    headers: { Authorization: `Bearer ${KEY}`, Accept: ACCEPT },
    timeoutMs: 5_000,
    maxAttempts: 3,
    secrets: [KEY],
    rateLimitGate: new RateLimitGate(rateLimitAccount(apiUrl, KEY)),
    sharedRateLimit: { limit: LIMIT, ledger: store },
  });
  return { store, http };
}

describe('rate_limit shared through the state database', () => {
  it('two processes on one state file stay under the limit together, spaced, with no 429', async () => {
    // The emulator allows 10/s with a burst of 10: two processes sending 10/s each would meet 429s.
    emulator = await startEmulator({ apiKeys: [KEY], rateLimit: LIMIT.requestsPerSecond });
    dir = mkdtempSync(join(tmpdir(), 'panelsync-shared-limit-'));
    const path = join(dir, 'state.db');
    const processes = [processOn(path, emulator.apiUrl), processOn(path, emulator.apiUrl)];
    const started = Date.now();
    try {
      await Promise.all(
        processes.flatMap(({ http }) => Array.from({ length: 8 }, () => http.request({ method: 'GET', path: '/characteristics' }))),
      );
    } finally {
      for (const { store } of processes) store.close();
    }
    const stats = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as { total: number; by_status: Record<string, number> };
    expect(stats.by_status).toEqual({ '200': 16 });
    // 16 slots 100 ms apart: the last starts 1.5 s after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_450);
  });

  it('reserves slots 1/rate apart, up to burst at once after a pause, for one account only', () => {
    dir = mkdtempSync(join(tmpdir(), 'panelsync-shared-limit-'));
    const path = join(dir, 'state.db');
    const [a, b] = [new SqliteStateStore(path), new SqliteStateStore(path)];
    try {
      const now = 1_000_000;
      const limit = { requestsPerSecond: 4, burst: 3 };
      const slots = [a, b, a, b, a].map((store) => store.reserveRateSlot('acct', limit, now));
      expect(slots).toEqual([now, now, now, now + 250, now + 500]);
      expect(b.reserveRateSlot('other', limit, now)).toBe(now);
      // After a long pause the burst is available again, and no more.
      const later = now + 10_000;
      expect([a, b, a, b].map((store) => store.reserveRateSlot('acct', limit, later))).toEqual([later, later, later, later + 250]);
    } finally {
      a.close();
      b.close();
    }
  });
});
