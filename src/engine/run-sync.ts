/**
 * The lifecycle of one run: lock the sync, record the run, read the destination's
 * characteristics, plan (read, map, diff), execute (send, commit per batch), summarize. Everything
 * a side concern needs is emitted on {@link SyncEvents}; nothing here logs or prints.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Project } from '../config/load-project.ts';
import type { Destination } from '../destinations/destination.ts';
import { UserInterviewsClient } from '../destinations/user-interviews/client.ts';
import { UserInterviewsDestination } from '../destinations/user-interviews/user-interviews-destination.ts';
import { PRODUCTION_BASE_URL, type CharacteristicType } from '../destinations/user-interviews/wire.ts';
import { HttpClient, redact } from '../http/http-client.ts';
import { sharedRateLimitGate, type RateSlotLedger } from '../http/rate-limit-gate.ts';
import { createSource } from '../sources/create-source.ts';
import type { Source } from '../sources/source.ts';
import { SqliteStateStore } from '../state/sqlite-state-store.ts';
import {
  describeLock,
  LockLostError,
  type DestinationFingerprint,
  type LockKeeper,
  type PlanCounts,
  type RunTrigger,
  type TriggeredBy,
  type SnapshotIdentity,
  type Stage,
  type StateStore,
} from '../state/state-store.ts';
import type { ApiCall } from '../http/http-client.ts';
import { SyncEvents } from './events.ts';
import { execute, type ExecuteResult } from './execute.ts';
import { resetCdc } from './reset-cdc.ts';
import { plan } from './plan.ts';
import { RowMapper } from './row-mapper.ts';
import { completedStatus, emptyClassCounts, emptyCounts, inSyncCount, unsentCounts, type RunSummary } from './run-summary.ts';
import { settleInDoubt } from './settle-in-doubt.ts';

export interface RunSyncOptions {
  project: Project;
  sync: string;
  trigger?: RunTrigger;
  /** What started a run of trigger `after` or `hook`, recorded on the run. */
  triggeredBy?: TriggeredBy;
  /** Send every current row as added; apply no delete behaviour. */
  fullResync?: boolean;
  /**
   * Record every current row as synced without sending anything (a panel loaded by hand). A
   * reset CDC that ended interrupted or failed is finished by the sync's next run without it.
   */
  resetCdc?: boolean;
  /** Let a run clear or delete more than `max_delete_share` of the synced rows, or empty the model. */
  allowMassDelete?: boolean;
  events?: SyncEvents;
  /** Aborting stops new batches; the run ends `interrupted` and the next run resumes it. */
  signal?: AbortSignal;
  /** The state store to use; by default the project's SQLite file, opened and closed here. */
  store?: StateStore;
  /** The run's id, made beforehand (e.g. returned by the API before the run starts): see {@link newRunId}. Default: a new one. */
  runId?: string;
}

export const RUN_ERROR_CODES = [
  'SYNC_UNKNOWN',
  'SYNC_ALREADY_RUNNING',
  'MASS_DELETE_GUARD',
  'DESTINATION_CHANGED',
  /** The model's primary key or the match column changed since the snapshot was recorded. */
  'IDENTITY_CHANGED',
  /** The run would move the email of more than `max_delete_share` of the synced participants. */
  'MASS_EMAIL_MOVE_GUARD',
] as const;
export type RunErrorCode = (typeof RUN_ERROR_CODES)[number];

/** A run could not start, or stopped before sending anything. Other failures are a `failed` summary. */
export class RunError extends Error {
  readonly code: RunErrorCode;
  constructor(code: RunErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunError';
    this.code = code;
  }
}

/**
 * How long, beyond the destination's `timeout_ms`, a write that got no answer may still land after
 * its last attempt went on the wire, ms, unless the destination sets `late_write_ms`: the API may
 * finish a request its client gave up on.
 */
export const LATE_WRITE_MARGIN_MS = 1_000;

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
  const { sync, destination } = resolveSync(project, syncName);
  const events = options.events ?? new SyncEvents();
  const store = options.store ?? new SqliteStateStore(project.statePath);
  const runId = options.runId ?? newRunId();
  const startedAt = new Date();
  const trigger = options.trigger ?? 'manual';

  let keeper: LockKeeper | undefined;
  let recorded = false;
  try {
    const lock = store.acquireLock(syncName, runId);
    if (!lock.ok) {
      throw new RunError(
        'SYNC_ALREADY_RUNNING',
        `sync "${syncName}" is already running: ${describeLock(lock.holder)}. Wait for it to finish. If its process is gone, the lock frees itself when the lease runs out; to break it now: panelsync unlock ${syncName}`,
      );
    }
    // The lease is renewed while the run lasts; a run whose lock was broken or taken over stops sending.
    const lockLost = new AbortController();
    keeper = store.keepLock(lock.lock, (reason) => lockLost.abort(reason));
    const signal = options.signal ? AbortSignal.any([options.signal, lockLost.signal]) : lockLost.signal;
    const lostLock = (reason: unknown = lockLost.signal.reason) =>
      `${reason instanceof Error ? reason.message : String(reason)}; this run stopped sending (what was acknowledged is recorded) and the next run resumes`;
    const fingerprint = destinationFingerprint(sync.destination, destination);
    store.interruptStaleRuns(syncName);
    const resumes = options.fullResync || options.resetCdc ? null : unfinishedResetCdc(store, syncName);
    const mode = { fullResync: options.fullResync === true, resetCdc: options.resetCdc === true || resumes !== null };
    const runOptions = { full_resync: mode.fullResync, reset_cdc: mode.resetCdc };
    store.startRun({
      id: runId,
      sync: syncName,
      trigger,
      startedAt: startedAt.toISOString(),
      options: runOptions,
      destination: fingerprint,
      ...(options.triggeredBy === undefined ? {} : { triggeredBy: options.triggeredBy }),
    });
    events.emit('run:start', { runId, sync: syncName, trigger, startedAt: startedAt.toISOString(), options: runOptions });
    // After the run is recorded (callers see it once runSync returns its promise); in short slices.
    await store.pruneHistory(new Date(startedAt.getTime() - project.retention_days * 86_400_000).toISOString(), Object.keys(project.syncs));

    let apiCalls = 0;
    // Once a failure ends the run, requests still waiting to be sent (the rate gate, a backoff) are dropped.
    const stopSending = new AbortController();
    const sending = AbortSignal.any([signal, stopSending.signal]);
    const target = createDestination(project, destination, (call) => {
      const seq = ++apiCalls;
      store.recordCall(runId, seq, call);
      events.emit('call:done', { runId, sync: syncName, seq, call });
    }, sending, store);

    let counts: PlanCounts = emptyCounts();
    let result: ExecuteResult = { succeeded: emptyClassCounts(), rejected: emptyClassCounts(), skipped: emptyClassCounts(), interrupted: false };
    let modelRead = false;
    let firstSync = false;
    let knownInvalid = 0;
    const summarize = (status: RunSummary['status'], error?: string): RunSummary => ({
      run_id: runId,
      sync: syncName,
      status,
      rows: counts,
      succeeded: result.succeeded,
      rejected: result.rejected,
      skipped: result.skipped,
      unsent: unsentCounts(counts, result),
      api_calls: apiCalls,
      duration_ms: Date.now() - startedAt.getTime(),
      // A run's error is recorded and printed: whatever it quotes, no secret in any form (src/http/redact.ts).
      ...(error === undefined ? {} : { error: redact(error, project.secrets) }),
      model_read: modelRead,
      in_sync: inSyncCount(counts, result.succeeded),
      known_invalid: knownInvalid,
      first_sync: firstSync,
    });

    let summary: RunSummary;
    let staged: StagedModel | null = null;
    try {
      // The user's own flags decide whether a changed destination or identity may replace the
      // snapshot: finishing an unfinished reset CDC never does by itself.
      const asked = { fullResync: options.fullResync === true, resetCdc: options.resetCdc === true };
      await checkDestination(store, syncName, fingerprint, target, runId, asked);
      checkIdentity(store, syncName, snapshotIdentityOf(project, syncName), runId, asked);
      // Nothing to diff against: every row is added, and what left the model before is unknown
      // (a reset CDC sends nothing: it only records the rows).
      firstSync = !mode.resetCdc && store.snapshotIsEmpty(syncName);
      // Once the model is read, writes an earlier run left in doubt are settled: the diff then
      // sees the panel's truth. A full resync marks every row to be sent again: interrupted, the
      // next run finishes it.
      let mayStillLand = new Map<string, string>();
      const beforeDiff = async () => {
        const lateWriteMs = destination.late_write_ms ?? destination.timeout_ms + LATE_WRITE_MARGIN_MS;
        ({ mayStillLand } = await settleInDoubt({ store, sync: syncName, runId, destination: target, lateWriteMs, lockOwner: lock.lock.owner }));
        if (mode.fullResync) store.markResend(syncName);
      };
      staged = await stageModel({ project, syncName, destination: target, store, runId, fullResync: mode.fullResync, signal, beforeDiff });
      counts = staged.counts;
      modelRead = true;
      if (counts.invalid > 0) {
        recordInvalid(store, staged.stage, events, runId, syncName);
        knownInvalid = staged.stage.knownInvalidCount();
      }
      events.emit('run:planned', { runId, sync: syncName, counts });
      if (!options.allowMassDelete && !mode.resetCdc) {
        // A full resync applies no delete behaviour, but it renames participants like any run.
        const syncedRows = () => store.snapshotSize(syncName);
        if (mode.fullResync) guardEmailMoves(syncedRows, sync, staged.stage);
        else guardMassDelete(counts, syncedRows, sync, staged.stage);
      }
      const executeOptions = {
        runId,
        syncName,
        sync,
        stage: staged.stage,
        store,
        destination: target,
        events,
        batchSize: destination.batch_size,
        concurrency: destination.concurrency,
        signal,
        lockOwner: lock.lock.owner,
        mayStillLand,
        onFatal: () => stopSending.abort(new Error('the run stopped after a failure')),
      };
      result = mode.resetCdc ? await resetCdc(executeOptions) : await execute(executeOptions);
      // The run failed part-way: the summary keeps the counts of what was committed.
      if (result.failure !== undefined) throw result.failure;
      summary = lockLost.signal.aborted
        ? summarize('failed', lostLock())
        : result.interrupted
          ? summarize('interrupted', 'stopped before every row was sent; the next run resumes')
          : summarize(completedStatus(counts, result.rejected, unsentCounts(counts, result), knownInvalid));
    } catch (error) {
      summary = lockLost.signal.aborted
        ? summarize('failed', lostLock())
        : error instanceof LockLostError
          ? summarize('failed', lostLock(error))
        : options.signal?.aborted
          ? summarize('interrupted', 'stopped before the plan was sent; the next run resumes')
          : summarize('failed', error instanceof Error ? error.message : String(error));
    } finally {
      // Cleaning up never keeps the run from being recorded (a busy database, a source gone).
      try {
        staged?.stage.drop();
        await staged?.source.close();
      } catch (error) {
        events.emit('run:warning', { runId, sync: syncName, message: `cleaning up after the run failed: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
    store.finishRun(runId, {
      status: summary.status,
      finishedAt: new Date().toISOString(),
      summary,
      error: summary.error ?? null,
    });
    events.emit('run:end', { runId, sync: syncName, summary });
    recorded = true;
    return summary;
  } finally {
    const stopped = keeper?.stop();
    // A release that fails (the database stayed busy) throws, though the run is recorded: the
    // caller may try again (serve does); otherwise the lease runs out by itself. When the run
    // itself failed to be recorded, its error is the one thrown: a release failing for the same
    // cause (a read-only or damaged state database) is only a warning, never hiding it.
    try {
      store.releaseLock(syncName, runId);
    } catch (error) {
      if (recorded) throw error;
      events.emit('run:warning', { runId, sync: syncName, message: `releasing the run lock failed too: ${error instanceof Error ? error.message : String(error)}` });
    } finally {
      await stopped;
    }
    if (!options.store) store.close();
  }
}

/**
 * The id of the sync's last run when it was a `--reset-cdc` that ended interrupted or failed: the
 * next run finishes it (it records the rows, it never sends); `null` otherwise.
 */
export function unfinishedResetCdc(store: StateStore, syncName: string): string | null {
  const last = store.lastEndedRun(syncName);
  return last !== null && last.options.reset_cdc && (last.status === 'interrupted' || last.status === 'failed') ? last.id : null;
}

/**
 * The sync and its destination, by name.
 * @throws RunError (`SYNC_UNKNOWN`) naming the known syncs
 */
export function resolveSync(project: Project, syncName: string) {
  const sync = project.syncs[syncName];
  if (!sync) {
    const known = Object.keys(project.syncs).join(', ') || 'none';
    throw new RunError('SYNC_UNKNOWN', `unknown sync "${syncName}" (known: ${known})`);
  }
  return { sync, model: project.models[sync.model]!, destination: project.destinations[sync.destination]! };
}

/**
 * The sync's destination, over its API client; every API call (each attempt, redacted) goes to `onCall`. Its
 * rate-limit gate is the process's one for the destination's base URL and API key, so that runs
 * on one account are paced together. The destination's `rate_limit`, when set, takes its slots
 * from `rateSlots` (the state store), so that every process on that database keeps it together.
 * Once `signal` aborts, a request waiting (gate, backoff) stops with `HTTP_ABORTED`; an exchange on
 * the wire is never cut.
 */
export function createDestination(
  project: Project,
  destination: Project['destinations'][string],
  onCall: (call: ApiCall) => void,
  signal: AbortSignal | undefined,
  rateSlots: RateSlotLedger,
): Destination {
  const baseUrl = destination.base_url ?? PRODUCTION_BASE_URL;
  const name = Object.entries(project.destinations).find(([, d]) => d === destination)?.[0];
  const http = new HttpClient({
    baseUrl,
    ...(name === undefined ? {} : { settingsPath: `destinations.${name}` }),
    headers: UserInterviewsClient.headers(destination.api_key),
    timeoutMs: destination.timeout_ms,
    maxAttempts: destination.max_attempts,
    secrets: project.secrets,
    onCall,
    rateLimitGate: sharedRateLimitGate(baseUrl, destination.api_key),
    ...(destination.rate_limit === undefined
      ? {}
      : {
          sharedRateLimit: {
            limit: { requestsPerSecond: destination.rate_limit.requests_per_second, burst: destination.rate_limit.burst },
            ledger: rateSlots,
          },
        }),
    ...(signal === undefined ? {} : { signal }),
  });
  return new UserInterviewsDestination(new UserInterviewsClient(http));
}

/**
 * Where a sync sends, as its snapshot records it: the destination's name, environment, the API
 * URL requests go to (as {@link createDestination} picks it) and the SHA-256 of the API key.
 */
export function destinationFingerprint(name: string, destination: Project['destinations'][string]): DestinationFingerprint {
  return {
    destination: name,
    environment: destination.environment,
    baseUrl: destination.base_url ?? PRODUCTION_BASE_URL,
    apiKeySha256: createHash('sha256').update(destination.api_key).digest('hex'),
  };
}

/**
 * Ties the sync's snapshot to the destination that acknowledged it. A snapshot recorded for
 * another destination than `current` ({@link destinationChangeError}) says nothing about the new
 * one, so:
 * - without `fullResync` / `resetCdc` the run stops before sending anything;
 * - with either, the snapshot is forgotten (participant ids included: they belong to the old
 *   account), the rows are sent to (full resync) or recorded as in (reset CDC) the new
 *   destination, and the run's first commit records `current`.
 * An empty snapshot belongs to no destination: its recorded one is forgotten, so the run's first
 * commit records `current` (a sync emptied on one destination and refilled on another is tied to
 * the second). A snapshot recorded before fingerprints existed takes `current`. A new API key of
 * the same account (a rotated key, told by one directory read, see {@link destinationChangeError})
 * is no change: the recorded fingerprint takes it.
 * @throws RunError `DESTINATION_CHANGED` naming what changed and both ways forward; HttpError when
 *   the directory cannot be read
 */
async function checkDestination(
  store: StateStore,
  syncName: string,
  current: DestinationFingerprint,
  target: Destination,
  runId: string,
  options: { fullResync?: boolean; resetCdc?: boolean },
): Promise<void> {
  const recorded = store.snapshotDestination(syncName);
  if (store.snapshotIsEmpty(syncName)) {
    if (recorded !== null) store.replaceSnapshot(syncName);
    return;
  }
  if (recorded === null) {
    store.bindDestination(syncName, current, runId);
    return;
  }
  const refusal = await destinationChangeError(store, syncName, current, target);
  if (refusal === null) {
    // The same account under a new key: the fingerprint takes the key (its SHA-256 only).
    if (recorded.apiKeySha256 !== current.apiKeySha256) store.bindDestination(syncName, current, runId);
    return;
  }
  if (!options.fullResync && !options.resetCdc) throw refusal;
  store.replaceSnapshot(syncName);
}

/** The identity configuration a run of `syncName` writes with: its model's primary key and its match column. */
export function snapshotIdentityOf(project: Project, syncName: string): SnapshotIdentity {
  const { sync, model } = resolveSync(project, syncName);
  return { primaryKey: model.primary_key, matchColumn: sync.match };
}

/**
 * The error a run (or plan) of `syncName` stops with when the snapshot was recorded with another
 * primary key or match column than `current`: its rows' keys and emails mean something else now,
 * and taking them for changes would hand participants to other people. `null` when nothing
 * changed, the snapshot is empty, or no identity was recorded (a snapshot from before identities
 * were recorded: it takes `current`).
 */
export function identityChangeError(store: StateStore, syncName: string, current: SnapshotIdentity, forWhat: 'run' | 'plan' = 'run'): RunError | null {
  const recorded = store.snapshotIdentity(syncName);
  if (recorded === null || store.snapshotIsEmpty(syncName)) return null;
  const changes: string[] = [];
  if (recorded.primaryKey !== current.primaryKey) changes.push(`primary_key ${recorded.primaryKey} -> ${current.primaryKey}`);
  if (recorded.matchColumn !== current.matchColumn) changes.push(`match ${recorded.matchColumn} -> ${current.matchColumn}`);
  if (changes.length === 0) return null;
  const consequence = forWhat === 'plan' ? 'so the run will send nothing' : 'so nothing was sent';
  const rows = store.snapshotSize(syncName);
  return new RunError(
    'IDENTITY_CHANGED',
    `the identity of sync "${syncName}" changed since its snapshot was recorded (${changes.join('; ')}): the snapshot's ${rows} rows ` +
      `are keyed by the old columns, ${consequence}. Run again with --full-resync to match every row to its participant by email ` +
      `(the snapshot is replaced), or with --reset-cdc if the panel already holds these rows (recorded as synced; nothing is sent).`,
  );
}

/**
 * Stops a run whose primary key or match column changed since the snapshot was recorded
 * ({@link identityChangeError}), unless it is a full resync or a reset CDC: those forget the
 * snapshot (participant ids included) and match every row by email again. Then records `current`.
 * @throws RunError `IDENTITY_CHANGED`
 */
function checkIdentity(store: StateStore, syncName: string, current: SnapshotIdentity, runId: string, options: { fullResync?: boolean; resetCdc?: boolean }): void {
  const refusal = identityChangeError(store, syncName, current);
  if (refusal !== null) {
    if (!options.fullResync && !options.resetCdc) throw refusal;
    store.replaceSnapshot(syncName);
  }
  store.bindIdentity(syncName, current, runId);
}

/** Participant ids of the snapshot looked up in the directory when the API key changed. */
const ACCOUNT_CHECK_SAMPLE = 100;

const WAYS_FORWARD =
  'Run again with --full-resync to send every row to the new destination (the snapshot is replaced), ' +
  'or with --reset-cdc if the new panel already holds these rows (they are recorded as synced; nothing is sent).';

/**
 * The error a run of `syncName` stops with when its snapshot was acknowledged by another
 * destination than `current`, naming what changed and both ways forward; `null` when it was not,
 * or the snapshot is empty. Another destination name, environment or base_url is told without a
 * call. A new API key alone may be a rotated key of the same account or a key of another account
 * (every User Interviews account shares the production URL): then, and only then, the directory
 * is read (`GET /participants`, pages of 200, tag `account-check`) until one of
 * up to {@link ACCOUNT_CHECK_SAMPLE} of the snapshot's participant ids (the most recently synced)
 * is found: found, the same account (`null`); the directory ends without any, another account or
 * those participants were deleted (the error). Cost: at most one directory read, only when the
 * key changed and the snapshot holds rows. A snapshot without participant ids cannot be checked:
 * the error. Reads only; never changes the store.
 * @param forWhat `plan` words the message for `panelsync plan` (the run will send nothing)
 * @throws HttpError when the directory cannot be read (e.g. 401 for a revoked key)
 */
export async function destinationChangeError(
  store: StateStore,
  syncName: string,
  current: DestinationFingerprint,
  target: Destination,
  forWhat: 'run' | 'plan' = 'run',
): Promise<RunError | null> {
  const recorded = store.snapshotDestination(syncName);
  if (recorded === null || store.snapshotIsEmpty(syncName)) return null;
  const consequence = forWhat === 'plan' ? 'so the run will send nothing' : 'so nothing was sent';
  // Counted only for a message (a count of a large snapshot is not free).
  const acknowledged = () => `The snapshot's ${store.snapshotSize(syncName)} rows were acknowledged by the old destination, ${consequence}. `;
  const changes: string[] = [];
  if (recorded.destination !== current.destination) changes.push(`destination "${recorded.destination}" -> "${current.destination}"`);
  if (recorded.environment !== current.environment) changes.push(`environment ${recorded.environment} -> ${current.environment}`);
  if (recorded.baseUrl !== current.baseUrl) changes.push(`base_url ${recorded.baseUrl} -> ${current.baseUrl}`);
  if (changes.length > 0) {
    return new RunError(
      'DESTINATION_CHANGED',
      `the destination of sync "${syncName}" changed since its snapshot was recorded (${changes.join('; ')}). ${acknowledged()}${WAYS_FORWARD}`,
    );
  }
  if (recorded.apiKeySha256 === current.apiKeySha256) return null;
  const sample = store.snapshotParticipantIds(syncName, ACCOUNT_CHECK_SAMPLE);
  if (sample.length === 0) {
    return new RunError(
      'DESTINATION_CHANGED',
      `the API key of sync "${syncName}"'s destination changed since its snapshot was recorded, and the snapshot holds no ` +
        `participant id to tell whether the new key opens the same User Interviews account. ${acknowledged()}${WAYS_FORWARD}`,
    );
  }
  const wanted = new Set(sample);
  for await (const participant of target.participants({ tag: 'account-check' })) {
    if (wanted.has(participant.id)) return null;
  }
  return new RunError(
    'DESTINATION_CHANGED',
    `the API key of sync "${syncName}"'s destination changed since its snapshot was recorded, and the panel the new key opens ` +
      `holds none of ${sample.length} of the snapshot's participants (looked up by id): the new key belongs to another ` +
      `User Interviews account, or those participants were deleted. ${acknowledged()}${WAYS_FORWARD}`,
  );
}

/** A model read into a stage and diffed; the caller drops the stage and closes the source. */
export interface StagedModel {
  counts: PlanCounts;
  stage: Stage;
  source: Source;
}

/**
 * Reads the model, the destination's characteristic types (when the mappings write any, after
 * the model's first rows), maps and diffs. Makes no write call.
 * @throws RowMapperError, SourceError, HttpError
 */
export async function stageModel(options: {
  project: Project;
  syncName: string;
  destination: Destination;
  store: StateStore;
  runId: string;
  fullResync?: boolean;
  signal?: AbortSignal;
  /** Runs after the model is read and before the diff (see PlanOptions.beforeDiff). */
  beforeDiff?: () => Promise<void>;
}): Promise<StagedModel> {
  const { project, syncName, store } = options;
  const { sync, model } = resolveSync(project, syncName);
  // The characteristic types are read once the model's first rows are: a model the source
  // refuses fails before any call.
  const createMapper = async () => {
    const types = new Map<string, CharacteristicType>();
    if (sync.mappings.some((m) => m.to.startsWith('characteristics.'))) {
      for (const c of await options.destination.listCharacteristics({ tag: 'characteristics' })) types.set(c.slug, c.type);
    }
    return new RowMapper(model.primary_key, sync.match, sync.mappings, types, syncName);
  };
  const source = createSource(project.sources[model.source]!, project.projectDir);
  const stage = store.openStage(syncName, options.runId, { fullResync: options.fullResync === true });
  try {
    const counts = await plan({
      source,
      sql: model.sql,
      createMapper,
      stage,
      signal: options.signal,
      ...(options.beforeDiff === undefined ? {} : { beforeDiff: options.beforeDiff }),
    });
    return { counts, stage, source };
  } catch (error) {
    // Cleaning up never hides why the plan failed, nor leaves the source open.
    try {
      stage.drop();
    } catch {
      // the plan's own error is the one to report
    }
    await source.close().catch(() => undefined);
    throw error;
  }
}

/** The email-move guard ignores runs that move fewer emails than this, whatever their share. */
export const MASS_EMAIL_MOVE_MIN_ROWS = 10;

/**
 * The mass-delete guard: refuses a model that suddenly returns no rows while rows are synced, and a
 * run that would clear or delete more than `max_delete_share` of the synced rows (removed rows
 * whose participant another key of the model now holds do not count: they are only forgotten);
 * and a run that would move the email of more than `max_delete_share` of the synced
 * participants (at least {@link MASS_EMAIL_MOVE_MIN_ROWS}; upsert and update modes).
 * @param syncedRows counts the snapshot's rows; called only when a rule needs the count (it reads an index)
 * @throws RunError (`MASS_DELETE_GUARD`, `MASS_EMAIL_MOVE_GUARD`) naming `--allow-mass-delete`
 */
export function guardMassDelete(
  counts: PlanCounts,
  syncedRows: () => number,
  sync: Project['syncs'][string],
  stage: Pick<Stage, 'heldRemovedCount' | 'emailMoveCount'>,
): void {
  guardEmailMoves(syncedRows, sync, stage);
  // Rows came and none go: nothing to guard (and no need to count the snapshot).
  if (counts.queried > 0 && counts.removed === 0) return;
  const synced = syncedRows();
  if (synced === 0) return;
  if (counts.queried === 0) {
    throw new RunError(
      'MASS_DELETE_GUARD',
      `the model returned 0 rows while ${synced} rows are synced; nothing was sent. If the model is right, run again with --allow-mass-delete`,
    );
  }
  if (sync.delete_behavior === 'do_nothing' || counts.removed / synced <= sync.max_delete_share) return;
  // A removed row whose participant another key now holds (a primary key that changed hands) is
  // forgotten, not cleared or deleted: a mass re-key is no mass delete.
  const acted = counts.removed - stage.heldRemovedCount();
  const share = acted / synced;
  if (share > sync.max_delete_share) {
    throw new RunError(
      'MASS_DELETE_GUARD',
      `this run would ${sync.delete_behavior} ${acted} of ${synced} synced rows (${(share * 100).toFixed(0)}%, more than max_delete_share ${sync.max_delete_share}); nothing was sent. If that is intended, run again with --allow-mass-delete`,
    );
  }
}

/**
 * The email-move half of the guard: refuses a run that would move the email of more than
 * `max_delete_share` of the `synced` participants (at least {@link MASS_EMAIL_MOVE_MIN_ROWS};
 * upsert and update modes), a full resync included.
 * @throws RunError (`MASS_EMAIL_MOVE_GUARD`) naming `--allow-mass-delete`
 */
export function guardEmailMoves(syncedRows: () => number, sync: Project['syncs'][string], stage: Pick<Stage, 'emailMoveCount'>): void {
  // Many keys moving to new emails at once is the sign of keys that changed meaning (a table
  // reloaded with new surrogate keys): each would rename a participant to another person's email.
  // Insert mode renames nobody; a handful of moves is people changing their address.
  const moves = sync.mode === 'insert' ? 0 : stage.emailMoveCount();
  if (moves < MASS_EMAIL_MOVE_MIN_ROWS) return;
  const synced = syncedRows();
  if (synced > 0 && moves / synced > sync.max_delete_share) {
    throw new RunError(
      'MASS_EMAIL_MOVE_GUARD',
      `this run would move the email of ${moves} of ${synced} synced participants (${((moves / synced) * 100).toFixed(0)}%, more than ` +
        `max_delete_share ${sync.max_delete_share}); nothing was sent. If these people really changed their emails, run again with ` +
        `--allow-mass-delete. If the model's keys were reassigned (a table reloaded with new surrogate keys), they name other people ` +
        `now: set primary_key to a stable column (an external id) and run with --full-resync, which matches every row by email`,
    );
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
export function newRunId(): string {
  return `r${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
