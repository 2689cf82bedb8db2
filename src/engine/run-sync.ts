/**
 * The lifecycle of one run: lock the sync, record the run, read the destination's
 * characteristics, plan (read, map, diff), execute (send, commit per batch), summarize. Everything
 * a side concern needs is emitted on {@link SyncEvents}; nothing here logs or prints.
 */
import { randomBytes } from 'node:crypto';
import type { Project } from '../config/load-project.ts';
import { UserInterviewsClient } from '../destinations/user-interviews/client.ts';
import { PRODUCTION_BASE_URL, type CharacteristicType } from '../destinations/user-interviews/wire.ts';
import { HttpClient } from '../http/http-client.ts';
import { createSource } from '../sources/create-source.ts';
import type { Source } from '../sources/source.ts';
import { SqliteStateStore } from '../state/sqlite-state-store.ts';
import type { PlanCounts, RunTrigger, Stage, StateStore } from '../state/state-store.ts';
import { SyncEvents } from './events.ts';
import { execute } from './execute.ts';
import { plan } from './plan.ts';
import { RowMapper } from './row-mapper.ts';
import { completedStatus, emptyClassCounts, emptyCounts, type RunSummary } from './run-summary.ts';

export interface RunSyncOptions {
  project: Project;
  sync: string;
  trigger?: RunTrigger;
  /** Send every current row as added; apply no delete behaviour. */
  fullResync?: boolean;
  events?: SyncEvents;
  /** Aborting stops new batches; the run ends `interrupted` and the next run resumes it. */
  signal?: AbortSignal;
  /** The state store to use; by default the project's SQLite file, opened and closed here. */
  store?: StateStore;
}

export const RUN_ERROR_CODES = ['SYNC_UNKNOWN', 'SYNC_ALREADY_RUNNING'] as const;
export type RunErrorCode = (typeof RUN_ERROR_CODES)[number];

/** A run could not start. Failures once started are a `failed` summary, not an exception. */
export class RunError extends Error {
  readonly code: RunErrorCode;
  constructor(code: RunErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunError';
    this.code = code;
  }
}

/** Invalid rows recorded per page. */
const INVALID_PAGE = 1_000;

/**
 * Runs one sync to the end.
 * @returns the run's summary; a run that failed part-way returns status `failed` with `error`
 * @throws RunError when the sync is unknown or already running in another process
 */
export async function runSync(options: RunSyncOptions): Promise<RunSummary> {
  const { project } = options;
  const syncName = options.sync;
  const sync = project.syncs[syncName];
  if (!sync) {
    const known = Object.keys(project.syncs).join(', ') || 'none';
    throw new RunError('SYNC_UNKNOWN', `unknown sync "${syncName}" (known: ${known})`);
  }
  const model = project.models[sync.model]!;
  const destination = project.destinations[sync.destination]!;
  const events = options.events ?? new SyncEvents();
  const store = options.store ?? new SqliteStateStore(project.statePath);
  const runId = newRunId();
  const startedAt = new Date();

  try {
    const lock = store.acquireLock(syncName, runId);
    if (!lock.ok) {
      throw new RunError('SYNC_ALREADY_RUNNING', `sync "${syncName}" is already running (run ${lock.heldBy}); wait for it to finish`);
    }
    store.interruptStaleRuns(syncName);
    store.startRun({ id: runId, sync: syncName, trigger: options.trigger ?? 'manual', startedAt: startedAt.toISOString() });
    events.emit('run:start', { runId, sync: syncName, trigger: options.trigger ?? 'manual', startedAt: startedAt.toISOString() });

    let apiCalls = 0;
    const http = new HttpClient({
      baseUrl: destination.base_url ?? PRODUCTION_BASE_URL,
      headers: UserInterviewsClient.headers(destination.api_key),
      timeoutMs: destination.timeout_ms,
      maxAttempts: destination.max_attempts,
      secrets: project.secrets,
      onCall: (call) => {
        const seq = ++apiCalls;
        store.recordCall(runId, seq, call);
        events.emit('call:done', { runId, sync: syncName, seq, call });
      },
    });
    const client = new UserInterviewsClient(http);

    let counts: PlanCounts = emptyCounts();
    let succeeded = emptyClassCounts();
    let rejected = emptyClassCounts();
    let source: Source | null = null;
    let stage: Stage | null = null;
    const summarize = (status: RunSummary['status'], error?: string): RunSummary => ({
      run_id: runId,
      sync: syncName,
      status,
      rows: counts,
      succeeded,
      rejected,
      api_calls: apiCalls,
      duration_ms: Date.now() - startedAt.getTime(),
      ...(error === undefined ? {} : { error }),
    });

    let summary: RunSummary;
    try {
      const usesCharacteristics = sync.mappings.some((m) => m.to.startsWith('characteristics.'));
      const types = new Map<string, CharacteristicType>();
      if (usesCharacteristics) for (const c of await client.listCharacteristics()) types.set(c.slug, c.type);
      const mapper = new RowMapper(model.primary_key, sync.match, sync.mappings, types, syncName);

      source = createSource(project.sources[model.source]!, project.projectDir);
      stage = store.openStage(syncName, runId);
      counts = await plan({ source, sql: model.sql, mapper, stage, fullResync: options.fullResync, signal: options.signal });
      recordInvalid(store, stage, events, runId, syncName);
      events.emit('run:planned', { runId, sync: syncName, counts });

      const result = await execute({
        runId,
        syncName,
        sync,
        stage,
        store,
        client,
        events,
        batchSize: destination.batch_size,
        concurrency: destination.concurrency,
        signal: options.signal,
      });
      succeeded = result.succeeded;
      rejected = result.rejected;
      summary = options.signal?.aborted ? summarize('interrupted', 'stopped before every row was sent; the next run resumes') : summarize(completedStatus(counts, rejected));
    } catch (error) {
      summary = options.signal?.aborted
        ? summarize('interrupted', 'stopped before the plan was sent; the next run resumes')
        : summarize('failed', error instanceof Error ? error.message : String(error));
    } finally {
      stage?.drop();
      await source?.close();
    }
    store.finishRun(runId, {
      status: summary.status,
      finishedAt: new Date().toISOString(),
      summary,
      error: summary.error ?? null,
    });
    events.emit('run:end', { runId, sync: syncName, summary });
    return summary;
  } finally {
    store.releaseLock(syncName, runId);
    if (!options.store) store.close();
  }
}

function recordInvalid(store: StateStore, stage: Stage, events: SyncEvents, runId: string, sync: string): void {
  for (let afterSeq = 0; ; ) {
    const rows = stage.invalidRows(afterSeq, INVALID_PAGE);
    if (rows.length === 0) return;
    afterSeq = rows[rows.length - 1]!.seq;
    store.recordOutcomes(
      runId,
      sync,
      rows.map((r) => ({ pk: r.pk, class: 'invalid', result: 'invalid', error: r.reason, participantId: null })),
    );
    for (const r of rows) events.emit('row:invalid', { runId, sync, pk: r.pk, reason: r.reason });
  }
}

/** A run id that sorts by start time: `r` + base-36 ms + random hex. */
function newRunId(): string {
  return `r${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
