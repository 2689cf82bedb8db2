/**
 * The server's Prometheus metrics (`GET /metrics`, text exposition format 0.0.4), kept with
 * prom-client in a registry of their own. Every name starts with `panelsync_`. Counters count the
 * runs this server process launched since it started (Prometheus counters restart at 0 with the
 * process); runs made elsewhere (`panelsync run` in a shell) are not in them.
 *
 * - `panelsync_runs_total{sync,status}`: runs ended, by status (success, warning, failed, interrupted)
 * - `panelsync_rows_total{sync,result}`: rows of ended runs, by result (succeeded, rejected, invalid, skipped, unsent)
 * - `panelsync_api_calls_total{sync,status}`: User Interviews API calls (every attempt), by HTTP
 *   status; `none` when no response came (timeout, connection reset)
 * - `panelsync_run_duration_seconds{sync,status}`: histogram of run durations, seconds
 * - `panelsync_runs_in_progress{sync}`: runs in progress now (0 or 1)
 * - the process metrics of prom-client's `collectDefaultMetrics`, prefixed `panelsync_`
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { classTotal } from '../engine/run-summary.ts';
import type { LaunchedRun } from '../scheduler/run-launcher.ts';
import { ROW_RESULTS, RUN_STATUSES } from '../state/state-store.ts';

/** Upper bounds of the run duration buckets, seconds: 1 s to 2 h. */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

const ENDED_STATUSES = RUN_STATUSES.filter((s) => s !== 'running');

/** Metrics of the runs a server launches; {@link observe} each run as it starts. */
export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly runs = new Counter({
    name: 'panelsync_runs_total',
    help: 'Runs ended, by sync and status.',
    labelNames: ['sync', 'status'] as const,
    registers: [this.registry],
  });
  private readonly rows = new Counter({
    name: 'panelsync_rows_total',
    help: 'Rows of ended runs, by sync and result (succeeded, rejected, invalid, skipped, unsent).',
    labelNames: ['sync', 'result'] as const,
    registers: [this.registry],
  });
  private readonly apiCalls = new Counter({
    name: 'panelsync_api_calls_total',
    help: 'User Interviews API calls (every attempt), by sync and HTTP status ("none": no response).',
    labelNames: ['sync', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'panelsync_run_duration_seconds',
    help: 'Run duration, seconds, by sync and status.',
    labelNames: ['sync', 'status'] as const,
    buckets: RUN_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly inProgress = new Gauge({
    name: 'panelsync_runs_in_progress',
    help: 'Runs in progress, by sync.',
    labelNames: ['sync'] as const,
    registers: [this.registry],
  });

  /** Series of every sync start at 0, so that rates and alerts work before the first run. */
  constructor(syncs: readonly string[]) {
    collectDefaultMetrics({ register: this.registry, prefix: 'panelsync_' });
    for (const sync of syncs) {
      for (const status of ENDED_STATUSES) this.runs.inc({ sync, status }, 0);
      for (const result of ROW_RESULTS) this.rows.inc({ sync, result }, 0);
      this.inProgress.set({ sync }, 0);
    }
  }

  /** Counts `run`'s API calls and, when it ends, the run itself. */
  observe(run: LaunchedRun): void {
    const { sync } = run;
    this.inProgress.inc({ sync });
    run.events.on('call:done', ({ call }) => this.apiCalls.inc({ sync, status: call.status === null ? 'none' : String(call.status) }));
    run.events.on('run:end', ({ summary }) => {
      this.runs.inc({ sync, status: summary.status });
      this.duration.observe({ sync, status: summary.status }, summary.duration_ms / 1000);
      this.rows.inc({ sync, result: 'succeeded' }, classTotal(summary.succeeded));
      this.rows.inc({ sync, result: 'rejected' }, classTotal(summary.rejected));
      this.rows.inc({ sync, result: 'skipped' }, classTotal(summary.skipped));
      this.rows.inc({ sync, result: 'unsent' }, classTotal(summary.unsent));
      this.rows.inc({ sync, result: 'invalid' }, summary.rows.invalid);
    });
    void run.done.then(() => this.inProgress.dec({ sync }));
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
