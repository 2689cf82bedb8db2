/**
 * `npm run bench [-- --rows N]`: syncs a generated DuckDB model (default 1,000,000 rows) to the
 * emulator, running in a child process, and prints
 * - rows/s of the first run (every row added),
 * - the time of a no-change rerun, which must make no write call,
 * - the peak RSS of this process (the sync; the emulator is another process), which must stay
 *   under 1 GiB.
 * Exits 1 when either rule is broken. Not a test: timings depend on the machine; compare ratios
 * measured in one run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadProject } from '../src/config/load-project.ts';
import { SyncEvents } from '../src/engine/events.ts';
import { runSync } from '../src/engine/run-sync.ts';
import type { RunSummary } from '../src/engine/run-summary.ts';

const MAX_RSS_BYTES = 1024 ** 3;
const API_KEY = 'bench-key';
const SYNC = 'people-to-panel';
const CLI = fileURLToPath(new URL('../bin/panelsync.js', import.meta.url));

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got "${values.rows}"`);

/** Starts `panelsync emulator` on a free port; resolves with its API URL once it listens. */
function startEmulator(): Promise<{ child: ChildProcess; apiUrl: string }> {
  const child = spawn(
    process.execPath,
    [CLI, 'emulator', '--port', '0', '--api-key', API_KEY, '--characteristics', 'score:number,signed_up:date,vip:boolean'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ child, apiUrl: `${match[1]}/api` });
    });
    child.on('exit', (code) => reject(new Error(`the emulator exited (${code}) before listening`)));
  });
}

/** A project whose model generates `rows` people in DuckDB, synced in upsert mode. */
function writeProject(dir: string, apiUrl: string): void {
  const sql = `
    SELECT i AS person_id, 'person' || i || '@example.com' AS email,
           'First' || i AS first_name, 'Last' || i AS last_name, 'City ' || (i % 1000) AS city,
           (i % 997) * 1.5 AS score, DATE '2020-01-01' + CAST(i % 2000 AS INTEGER) AS signed_up, i % 7 = 0 AS vip
    FROM range(1, ${rows + 1}) t(i)`;
  const project = {
    version: 1,
    state: 'state.db',
    sources: { generated: { type: 'duckdb', path: ':memory:' } },
    destinations: { panel: { type: 'user-interviews', api_key: '${UI_API_KEY}', environment: 'sandbox', base_url: apiUrl } },
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
          { from: 'city', to: 'city' },
          { from: 'score', to: 'characteristics.score' },
          { from: 'signed_up', to: 'characteristics.signed_up' },
          { from: 'vip', to: 'characteristics.vip' },
        ],
      },
    },
  };
  writeFileSync(join(dir, 'panelsync.yml'), stringify(project));
}

/** One run, timed, counting write calls (every method but GET). */
async function timedRun(dir: string): Promise<{ summary: RunSummary; seconds: number; writes: number }> {
  const project = await loadProject({ projectDir: dir, env: { UI_API_KEY: API_KEY } });
  const events = new SyncEvents();
  let writes = 0;
  let done = 0;
  events.on('call:done', (e) => {
    if (e.call.method !== 'GET') writes++;
  });
  events.on('batch:done', (e) => {
    done += e.rows;
    if (done % 100_000 < e.rows) process.stderr.write(`  ${done.toLocaleString('en')} rows sent\n`);
  });
  const started = performance.now();
  const summary = await runSync({ project, sync: SYNC, events });
  return { summary, seconds: (performance.now() - started) / 1000, writes };
}

const dir = mkdtempSync(join(tmpdir(), 'panelsync-bench-'));
const emulator = await startEmulator();
try {
  writeProject(dir, emulator.apiUrl);
  console.log(`panelsync bench: ${rows.toLocaleString('en')} generated DuckDB rows -> emulator (upsert)`);

  const first = await timedRun(dir);
  if (first.summary.status !== 'success') throw new Error(`first run ${first.summary.status}: ${first.summary.error ?? ''}`);
  console.log(
    `first run:       ${first.summary.succeeded.added.toLocaleString('en')} added in ${first.seconds.toFixed(1)} s ` +
      `= ${Math.round(rows / first.seconds).toLocaleString('en')} rows/s, ${first.summary.api_calls.toLocaleString('en')} API calls`,
  );

  const rerun = await timedRun(dir);
  console.log(
    `no-change rerun: ${rerun.seconds.toFixed(1)} s (${rerun.summary.rows.unchanged.toLocaleString('en')} unchanged), ` +
      `${rerun.writes} write calls; ${(first.seconds / rerun.seconds).toFixed(1)}x faster than the first run`,
  );

  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(`peak RSS:        ${(peak / 1024 ** 2).toFixed(0)} MiB (limit 1024 MiB)`);
  const stateBytes = ['state.db', 'state.db-wal'].reduce((sum, file) => sum + (statSync(join(dir, file), { throwIfNoEntry: false })?.size ?? 0), 0);
  console.log(`state database:  ${(stateBytes / 1024 ** 2).toFixed(0)} MiB (snapshot, two runs' calls and row outcomes)`);

  const broken = [
    rerun.writes > 0 ? `the no-change rerun made ${rerun.writes} write calls` : '',
    rerun.summary.rows.unchanged !== rows ? `the rerun found ${rerun.summary.rows.unchanged} of ${rows} rows unchanged` : '',
    peak >= MAX_RSS_BYTES ? 'peak RSS reached 1 GiB' : '',
  ].filter(Boolean);
  if (broken.length > 0) {
    console.error(`FAILED: ${broken.join('; ')}`);
    process.exitCode = 1;
  }
} finally {
  emulator.child.kill();
  rmSync(dir, { recursive: true, force: true });
}
