/**
 * `npm run bench [-- --rows N]`: syncs a generated DuckDB model (default 1,000,000 rows) to the
 * emulator, running in a child process, and prints, from this one process and run:
 * - the time to stream the model through the DuckDB source alone (the floor of any plan),
 * - the first run (every row added): time, rows/s, API calls,
 * - the no-change rerun: time, its ratio to the stream time, and how long `GET /api/v1/healthz`
 *   took at most meanwhile (a server runs in this process, as in `panelsync serve`),
 * - the state database's size after each run, the peak RSS of this process (the sync; the
 *   emulator is another process) and the peak temporary disk the runs used,
 * - one pacing line: a sync of 4,000 rows against a 2 requests/s limit (see ./pacing.ts).
 * Exits 1 when the no-change rerun writes anything or finds a row changed, or RSS reaches 1 GiB.
 * Not a test: timings depend on the machine; compare ratios measured in one run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadProject } from '../src/config/load-project.ts';
import { SyncEvents } from '../src/engine/events.ts';
import { runSync } from '../src/engine/run-sync.ts';
import { startServer } from '../src/server/start-server.ts';
import { measurePacing } from './pacing.ts';
import { createSource } from '../src/sources/create-source.ts';
import type { RunSummary } from '../src/engine/run-summary.ts';

const MAX_RSS_BYTES = 1024 ** 3;
const API_KEY = 'bench-key';
const SYNC = 'people-to-panel';
const SERVER_TOKEN = 'bench-server-token-0123456789';
const CLI = fileURLToPath(new URL('../bin/panelsync.js', import.meta.url));

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got "${values.rows}"`);

/** Starts `panelsync emulator` on a free port; resolves with its API URL once it listens. */
function startEmulator(): Promise<{ child: ChildProcess; apiUrl: string }> {
  // The emulator keeps every participant in memory, about 500 bytes each: 10M rows outgrow Node's default heap.
  const heapMib = Math.max(4096, Math.ceil((rows * 800) / 2 ** 20) + 1024);
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${heapMib}`, CLI, 'emulator', '--port', '0', '--api-key', API_KEY, '--characteristics', 'score:number,signed_up:date,vip:boolean'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match && !listening) {
        listening = true;
        resolve({ child, apiUrl: `${match[1]}/api` });
      }
    });
    child.on('exit', (code, signal) => {
      if (!listening) return reject(new Error(`the emulator exited (${code}) before listening`));
      // Stopped by the bench itself at the end; any other end makes every figure after it wrong.
      if (!child.killed) {
        process.stderr.write(`panelsync bench: the emulator stopped (${signal ?? `exit ${code}`}); no figure is printed\n`);
        process.exit(1);
      }
    });
  });
}

/** A project whose model generates `rows` people in DuckDB, synced in upsert mode. */
function modelSql(): string {
  return `
    SELECT i AS person_id, 'person' || i || '@example.com' AS email,
           'First' || i AS first_name, 'Last' || i AS last_name, 'City ' || (i % 1000) AS city,
           (i % 997) * 1.5 AS score, DATE '2020-01-01' + CAST(i % 2000 AS INTEGER) AS signed_up, i % 7 = 0 AS vip
    FROM range(1, ${rows + 1}) t(i)`;
}

function writeProject(dir: string, apiUrl: string): void {
  const sql = modelSql();
  const project = {
    version: 1,
    state: 'state.db',
    sources: { generated: { type: 'duckdb', path: ':memory:' } },
    destinations: { panel: { type: 'user-interviews', api_key: '${UI_API_KEY}', environment: 'sandbox', base_url: apiUrl } },
    models: { people: { source: 'generated', primary_key: 'person_id', sql } },
    server: { api_token: SERVER_TOKEN, port: 0 },
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
async function timedRun(dir: string): Promise<{ summary: RunSummary; seconds: number; plannedAt: number; writes: number }> {
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
  let planned = 0;
  events.on('run:planned', () => (planned = performance.now()));
  const started = performance.now();
  const summary = await runSync({ project, sync: SYNC, events });
  return { summary, seconds: (performance.now() - started) / 1000, plannedAt: (planned - started) / 1000, writes };
}

/** Streams the model through its source alone: the floor of any plan. */
async function timedStream(dir: string): Promise<number> {
  const project = await loadProject({ projectDir: dir, env: { UI_API_KEY: API_KEY } });
  const source = createSource(project.sources.generated!, dir);
  const started = performance.now();
  let read = 0;
  try {
    for await (const chunk of source.stream(modelSql())) read += chunk.length;
  } finally {
    await source.close();
  }
  if (read !== rows) throw new Error(`the stream returned ${read} of ${rows} rows`);
  return (performance.now() - started) / 1000;
}

/**
 * Asks `GET /api/v1/healthz` of a server running in this process (as `panelsync serve` runs its
 * syncs) every 20 ms until stopped; resolves with the slowest answer, ms.
 */
async function probeHealth(dir: string): Promise<{ stop: () => Promise<{ slowestMs: number; probes: number }> }> {
  const project = await loadProject({ projectDir: dir, env: { UI_API_KEY: API_KEY } });
  const server = await startServer({ project, port: 0, host: '127.0.0.1' });
  let running = true;
  let slowestMs = 0;
  let probes = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const response = await fetch(`${server.url}/api/v1/healthz`);
      await response.arrayBuffer();
      slowestMs = Math.max(slowestMs, performance.now() - started);
      probes++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await server.close();
      return { slowestMs, probes };
    },
  };
}

/** Samples the free space of the temporary directory every 100 ms; `stop()` gives the largest drop, bytes. */
function watchTempDisk(): { stop: () => number } {
  const free = () => {
    const s = statfsSync(tmpdir());
    return s.bavail * s.bsize;
  };
  const before = free();
  let least = before;
  const timer = setInterval(() => (least = Math.min(least, free())), 100);
  return {
    stop: () => {
      clearInterval(timer);
      return before - Math.min(least, free());
    },
  };
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

const dir = mkdtempSync(join(tmpdir(), 'panelsync-bench-'));
const stateBytes = () => ['state.db', 'state.db-wal'].reduce((sum, file) => sum + (statSync(join(dir, file), { throwIfNoEntry: false })?.size ?? 0), 0);
const emulator = await startEmulator();
try {
  writeProject(dir, emulator.apiUrl);
  console.log(`panelsync bench: ${rows.toLocaleString('en')} generated DuckDB rows -> emulator (upsert)`);
  const disk = watchTempDisk();

  const stream = await timedStream(dir);
  console.log(`stream:          ${stream.toFixed(1)} s (the model through the DuckDB source alone)`);

  const first = await timedRun(dir);
  if (first.summary.status !== 'success') throw new Error(`first run ${first.summary.status}: ${first.summary.error ?? ''}`);
  const afterFirst = stateBytes();
  console.log(
    `first run:       ${first.summary.succeeded.added.toLocaleString('en')} added in ${first.seconds.toFixed(1)} s ` +
      `= ${Math.round(rows / first.seconds).toLocaleString('en')} rows/s, ${first.summary.api_calls.toLocaleString('en')} API calls; state database ${mib(afterFirst)}`,
  );

  const health = await probeHealth(dir);
  const rerun = await timedRun(dir);
  const { slowestMs, probes } = await health.stop();
  const afterRerun = stateBytes();
  console.log(
    `no-change rerun: ${rerun.seconds.toFixed(1)} s = ${(rerun.seconds / stream).toFixed(2)}x the stream, planned after ${rerun.plannedAt.toFixed(1)} s ` +
      `(${rerun.summary.rows.unchanged.toLocaleString('en')} unchanged, ${rerun.writes} write calls); state database ${mib(afterRerun)} ` +
      `(${afterRerun >= afterFirst ? '+' : '-'}${(Math.abs(afterRerun - afterFirst) / 1024 ** 2).toFixed(2)} MiB)`,
  );
  console.log(`healthz:         slowest answer ${slowestMs.toFixed(0)} ms of ${probes} during the rerun (a server in this process)`);

  // Pacing: a 2 requests/s limit, 4,000 rows in batches of 100, 8 requests in flight (npm run bench:pacing also does 20/s).
  const pacing = await measurePacing({ requestsPerSecond: 2, rows: 4_000, concurrency: 8 });
  console.log(
    `pacing:          limit ${pacing.limit} req/s: ${pacing.acceptedPerSecond.toFixed(2)} accepted req/s ` +
      `(${((pacing.acceptedPerSecond / pacing.limit) * 100).toFixed(0)}% of the limit), ${(pacing.share429 * 100).toFixed(1)}% of ${pacing.calls} calls answered 429`,
  );

  const peak = process.resourceUsage().maxRSS * 1024;
  const tempBytes = Math.max(0, disk.stop() - stateBytes());
  console.log(`peak RSS:        ${mib(peak)} (limit 1024 MiB); peak temporary disk ${mib(tempBytes)} (beside the state database)`);

  const broken = [
    rerun.writes > 0 ? `the no-change rerun made ${rerun.writes} write calls` : '',
    rerun.summary.rows.unchanged !== rows ? `the rerun found ${rerun.summary.rows.unchanged} of ${rows} rows unchanged` : '',
    peak >= MAX_RSS_BYTES ? 'peak RSS reached 1 GiB' : '',
  ].filter(Boolean);
  if (broken.length > 0) {
    console.error(`FAILED: ${broken.join('; ')}; the project and its state database are kept in ${dir}`);
    process.exitCode = 1;
  }
} finally {
  emulator.child.kill();
  if (process.exitCode !== 1) rmSync(dir, { recursive: true, force: true });
}
