/**
 * Pacing measurement (issue 10): syncs generated DuckDB rows to an in-process emulator that
 * enforces a rate limit, and reads the emulator's stats to tell how much of the limit the sync used
 * and how many of its requests were answered `429`. Called by `npm run bench` (one line) and
 * `npm run bench:pacing` (./pacing-cli.ts, one line per rate).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadProject } from '../src/config/load-project.ts';
import type { RateLimitHeaderStyle } from '../src/emulator/emulator-knobs.ts';
import { startEmulator } from '../src/emulator/start-emulator.ts';
import { SyncEvents } from '../src/engine/events.ts';
import { runSync } from '../src/engine/run-sync.ts';

const API_KEY = 'pacing-bench-key';
const SYNC = 'people-to-panel';

export interface PacingOptions {
  /** The emulator's rate limit, requests per second per API key (burst: one second's worth). */
  requestsPerSecond: number;
  /** Generated model rows, all new: `ceil(rows / 100)` batch requests. */
  rows: number;
  /** The destination's `concurrency` (batches in flight at once, 1..16). */
  concurrency: number;
  /** Rate-limit headers the emulator sends (its `rate_limit_headers` knob). Default `none`: only `429` + `Retry-After`. */
  rateLimitHeaders?: RateLimitHeaderStyle;
}

export interface PacingResult {
  /** The emulator's limit, requests per second. */
  limit: number;
  /** Requests not answered `429` per second of `seconds`. */
  acceptedPerSecond: number;
  /** Share (0..1) of all API requests answered `429`. */
  share429: number;
  /** API requests the emulator received (every exchange, `429`s included). */
  calls: number;
  /** From the start of the run's first API exchange to the end of its last, s. */
  seconds: number;
}

/**
 * Starts an emulator limited to `requestsPerSecond`, runs one real first sync (upsert) of `rows`
 * generated DuckDB rows with `concurrency` through the normal engine, and reads the emulator's
 * `GET /_emulator/stats`. Everything (emulator, state database) is temporary.
 * @throws Error when the run does not end `success` (its error attached)
 */
export async function measurePacing(opts: PacingOptions): Promise<PacingResult> {
  const dir = mkdtempSync(join(tmpdir(), 'panelsync-pacing-'));
  const emulator = await startEmulator({
    apiKeys: [API_KEY],
    rateLimit: opts.requestsPerSecond,
    rateLimitHeaders: opts.rateLimitHeaders ?? 'none',
  });
  try {
    writePacingProject(dir, emulator.apiUrl, opts);
    const project = await loadProject({ projectDir: dir, env: { UI_API_KEY: API_KEY } });
    const events = new SyncEvents();
    let first = Infinity;
    let last = -Infinity;
    events.on('call:done', ({ call }) => {
      const started = Date.parse(call.started_at);
      first = Math.min(first, started);
      last = Math.max(last, started + call.duration_ms);
    });
    const summary = await runSync({ project, sync: SYNC, events });
    if (summary.status !== 'success') throw new Error(`the pacing run ended ${summary.status}: ${summary.error ?? 'see its summary'}`);
    const stats = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as { total: number; by_status: Record<string, number> };
    const limited = stats.by_status['429'] ?? 0;
    const seconds = (last - first) / 1000;
    return {
      limit: opts.requestsPerSecond,
      acceptedPerSecond: (stats.total - limited) / seconds,
      share429: stats.total === 0 ? 0 : limited / stats.total,
      calls: stats.total,
      seconds,
    };
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A project whose model generates `rows` people in DuckDB, synced in upsert mode with `concurrency`. */
function writePacingProject(dir: string, apiUrl: string, opts: PacingOptions): void {
  const sql = `SELECT i AS person_id, 'person' || i || '@example.com' AS email, 'First' || i AS first_name, 'Last' || i AS last_name
    FROM range(1, ${opts.rows + 1}) t(i)`;
  const project = {
    version: 1,
    state: 'state.db',
    sources: { generated: { type: 'duckdb', path: ':memory:' } },
    destinations: {
      panel: { type: 'user-interviews', api_key: '${UI_API_KEY}', environment: 'sandbox', base_url: apiUrl, concurrency: opts.concurrency },
    },
    models: { people: { source: 'generated', primary_key: 'person_id', sql } },
    syncs: {
      [SYNC]: {
        model: 'people',
        destination: 'panel',
        mode: 'upsert',
        match: 'email',
        mappings: [
          { from: 'first_name', to: 'first_name' },
          { from: 'last_name', to: 'last_name' },
        ],
      },
    },
  };
  writeFileSync(join(dir, 'panelsync.yml'), stringify(project));
}
