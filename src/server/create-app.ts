/**
 * The HTTP app of `panelsync serve` (Hono): the JSON API under `/api/v1`, `/metrics`, and the web
 * UI at `/`. A factory of its dependencies, so that tests can call `app.request(...)` or serve it
 * on a socket (style.md: `createApp(deps)`). The contract, for users too: docs/http-api.md.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { DeliveryResult, SyncAlertStatus } from '../alerts/index.ts';
import type { AlertChannelType } from '../config/schema.ts';
import type { Project } from '../config/load-project.ts';
import { redact } from '../http/http-client.ts';
import { LaunchError, type LaunchedRun, type LaunchRequest, type LaunchResult, type QueuedLaunch } from '../scheduler/run-launcher.ts';
import type { RunProgress } from '../scheduler/run-progress.ts';
import { DEFAULT_AUDIT_LIMIT, type AuditAction, type AuditEntry, type AuditLog } from '../state/audit-log.ts';
import type { RunDetail, RunHistory } from '../state/run-history.ts';
import { ROW_RESULTS, type RowResultKind } from '../state/state-store.ts';
import { uiNotFound, uiRoutes, wantsUiIndex } from './ui/ui-routes.ts';
import { ApiError, apiErrorBody, type ApiErrorCode } from './api-error.ts';
import { hookAuditEntry } from './hook-audit.ts';
import { registerHookRoute } from './hook-routes.ts';
import { RunEndSignal } from './run-end-signal.ts';
import { queuedRunView, runView } from './run-views.ts';
import { syncDetail, syncListItem, type SyncRuntime } from './sync-views.ts';
import { tokenAccess } from './token-access.ts';
import { forViewer } from './viewer-views.ts';

/** Largest `limit` the list routes take. */
export const MAX_LIST_LIMIT = 10_000;
/** Row outcomes listed when `limit` is not given. */
export const DEFAULT_ROWS_LIMIT = 1_000;
/** A run's calls listed per page when `limit` is not given. */
export const DEFAULT_CALLS_LIMIT = 1_000;
/** Runs listed when `limit` is not given. */
export const DEFAULT_RUNS_LIMIT = 20;
/** Longest `wait` of `GET /api/v1/runs/{id}?wait=SECONDS`, seconds: a script asks again to wait longer. */
export const MAX_WAIT_SECONDS = 300;
/**
 * Largest request body the server reads, bytes (64 KiB): a trigger's body is a few dozen bytes.
 * A larger one (by `Content-Length`, or counted as it streams in) is answered `413
 * PAYLOAD_TOO_LARGE` before it is held in memory.
 */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/** What the app reads and starts runs with. */
export interface AppDependencies {
  /** The validated project: its syncs, `server.api_token` and the secrets to keep out of responses. */
  project: Project;
  history: RunHistory;
  /** Starts runs (`POST .../trigger`) and says what runs now. */
  launcher: Launcher;
  /** When the scheduler runs a sync next; `null` without a schedule. */
  nextRunAt(sync: string): Date | null;
  metrics: { text(): Promise<string>; contentType: string };
  /** The sync's alert rules, trigger states and deliveries (`alerts` of `GET /api/v1/syncs/{name}`). */
  alertStatus(sync: string): SyncAlertStatus;
  /** The audit log: operator actions are recorded here, and listed by `GET /api/v1/audit`. */
  audit: AuditLog;
  /**
   * Sends a test notification to the alert channel `channel` (`POST /api/v1/alerts/channels/{channel}/test`).
   * @returns how the delivery went, with the channel's type; `null` when `alerts.channels` has no such channel
   */
  testAlert(channel: string): Promise<(DeliveryResult & { type: AlertChannelType }) | null>;
  /** An error that became a `500 INTERNAL` response, for the server's log (the response holds no detail). */
  onInternalError?(error: unknown): void;
}

/** What the routes need of the run launcher: triggers, and what runs or waits in this server now. */
export interface Launcher {
  trigger(sync: string, request: LaunchRequest): LaunchResult;
  runningRun(sync: string): string | null;
  queuedRun(sync: string): string | null;
  /** The queued run with this id while it waits (it has no record yet). */
  queuedLaunch(runId: string): QueuedLaunch | null;
  /** The live counts of a run in progress here. */
  progress(runId: string): RunProgress | null;
  /** Calls `listener` for every run started from now on (`?wait=` hears their ends). */
  onRun(listener: (run: LaunchedRun) => void): () => void;
}

const triggerBody = z
  .strictObject({
    full_resync: z.boolean().optional(),
    reset_cdc: z.boolean().optional(),
  })
  .refine((body) => !(body.full_resync && body.reset_cdc), 'give full_resync or reset_cdc, not both');

const LAUNCH_ERROR_TO_API: Record<LaunchError['code'], ApiErrorCode> = {
  SYNC_UNKNOWN: 'SYNC_NOT_FOUND',
  SYNC_ALREADY_RUNNING: 'SYNC_ALREADY_RUNNING',
  QUEUED_WITH_OTHER_OPTIONS: 'QUEUED_WITH_OTHER_OPTIONS',
  STOPPING: 'SHUTTING_DOWN',
};

/**
 * Builds the app. Every `/api/v1` route but `healthz` and the signed hooks (`POST
 * /api/v1/hooks/{name}`, ./hook-routes.ts), and `/metrics`, need `Authorization: Bearer
 * <server.api_token>`, or `<server.viewer_token>` to read (see ./token-access.ts and
 * ./viewer-views.ts). Operator actions are recorded in `deps.audit`.
 * @throws Error when the project has no `server.api_token` (the serve command checks it first)
 */
export function createApp(deps: AppDependencies): Hono {
  const { project, history, launcher } = deps;
  const token = project.server?.api_token;
  if (!token) throw new Error('server.api_token is not set: add it to the project file, e.g. api_token: "${PANELSYNC_API_TOKEN}"');
  const runtime: SyncRuntime = {
    runningRun: (sync) => launcher.runningRun(sync),
    queuedRun: (sync) => launcher.queuedRun(sync),
    nextRunAt: (sync) => deps.nextRunAt(sync),
    progress: (runId) => launcher.progress(runId),
  };
  // Last line of defence: a secret that reached a stored error or body never leaves in a response.
  // A viewer's answers lose participant data (./viewer-views.ts); error bodies hold none.
  const json = (c: Context, value: unknown, status: ContentfulStatusCode = 200) => {
    const shown = c.get('tokenKind') === 'viewer' && status < 400 ? forViewer(value, project.secrets) : value;
    return c.json(redactStrings(shown, project.secrets) as object, status);
  };
  /**
   * Records an operator action. The action happened whether or not it could be recorded: a
   * failure goes to the server's log, never into the answer (a busy state database only defers
   * the entry: see SqliteAuditLogOptions.deferWhenBusy).
   */
  const audited = (entry: AuditEntry) => {
    try {
      deps.audit.record(entry);
    } catch (error) {
      deps.onInternalError?.(error);
    }
  };

  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof ApiError) return json(c, apiErrorBody(error.code, error.message), error.status);
    if (error instanceof HTTPException) return error.getResponse();
    deps.onInternalError?.(error);
    return c.json(apiErrorBody('INTERNAL', 'the server could not answer this request; see its log'), 500);
  });
  // A browser that follows a mistyped link gets the UI, which shows its own "Page not found".
  app.notFound((c) =>
    wantsUiIndex(c) ? uiNotFound(c) : json(c, apiErrorBody('NOT_FOUND', `no route ${c.req.method} ${c.req.path}; see the API under /api/v1`), 404),
  );

  // First, so that it wraps every response (413s included): JSON is never sniffed as another type
  // by a browser, nor kept by a cache (it may hold row errors).
  app.use('*', async (c, next) => {
    await next();
    if (c.res.headers.get('Content-Type')?.startsWith('application/json')) {
      c.res.headers.set('X-Content-Type-Options', 'nosniff');
      c.res.headers.set('Cache-Control', 'no-store');
    }
  });

  // Before anything reads a body, and before the token check: an unauthenticated client cannot
  // make the server hold a large body either.
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_REQUEST_BODY_BYTES,
      onError: (c) =>
        c.json(apiErrorBody('PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes; send a smaller one (a trigger takes {"full_resync": true} or {"reset_cdc": true})`), 413),
    }),
  );

  // Registered before the token check: the one route a load balancer may call without a token.
  app.get('/api/v1/healthz', (c) => c.json({ status: 'ok' }));
  // Before the token check too: a webhook proves itself by its signature (./hook-routes.ts).
  registerHookRoute(app, { project, launcher, audit: (call) => audited(hookAuditEntry(call)) });

  const unauthorized = (c: Context) =>
    c.json(apiErrorBody('UNAUTHORIZED', 'send the API token (server.api_token) as "Authorization: Bearer TOKEN"'), 401);
  // A viewer asking for an action is recorded as denied, with the action its route names.
  const requireToken = tokenAccess({ operator: token, viewer: project.server?.viewer_token }, unauthorized, (c) => {
    const denied = deniedAction(c.req.method, c.req.path);
    if (denied !== null) audited({ token_kind: 'viewer', ...denied, run_id: null, result: 'denied', detail: `${c.req.method} ${c.req.path}` });
  });
  app.use('/api/v1/*', requireToken);
  app.use('/metrics', requireToken);

  const metrics = async (c: Context) => c.body(await deps.metrics.text(), 200, { 'Content-Type': deps.metrics.contentType });
  app.get('/metrics', metrics);
  app.get('/api/v1/metrics', metrics);

  const syncName = (c: Context): string => {
    const name = c.req.param('name')!;
    if (!Object.hasOwn(project.syncs, name)) {
      const known = Object.keys(project.syncs).join(', ') || 'none';
      throw new ApiError('SYNC_NOT_FOUND', `no sync "${name}" in the project file (known: ${known})`);
    }
    return name;
  };
  /**
   * The run the path names: its record, or (a run queued behind the sync's run in progress, which
   * has no record until it starts) the queued launch. Read record first: a queued run that starts
   * meanwhile is found by one of the two.
   */
  const findRun = (c: Context): { id: string; record: RunDetail; queued: null } | { id: string; record: null; queued: QueuedLaunch } => {
    const id = c.req.param('id')!;
    const record = history.getRun(id);
    if (record !== null) return { id, record, queued: null };
    const queued = launcher.queuedLaunch(id);
    if (queued !== null) return { id, record: null, queued };
    throw new ApiError('RUN_NOT_FOUND', `no run "${id}"; list a sync's runs with GET /api/v1/syncs/{name}/runs`);
  };

  app.get('/api/v1/session', (c) => json(c, { token_kind: c.get('tokenKind') }));

  app.get('/api/v1/audit', (c) => {
    const limit = integerParam(c, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_AUDIT_LIMIT;
    const before = integerParam(c, 'before', 1, Number.MAX_SAFE_INTEGER);
    const sync = c.req.query('sync') || undefined;
    return json(c, { entries: deps.audit.list({ limit, before, sync }) });
  });

  app.post('/api/v1/alerts/channels/:channel/test', async (c) => {
    const channel = c.req.param('channel');
    const result = await deps.testAlert(channel);
    if (result === null) {
      const known = Object.keys(project.alerts?.channels ?? {}).join(', ') || 'none; add one under alerts.channels';
      throw new ApiError('NOT_FOUND', `no alert channel "${channel}" in the project file (known: ${known})`);
    }
    audited({ token_kind: 'operator', action: 'alert_test', sync: null, target: channel, run_id: null, result: result.ok ? 'succeeded' : 'failed', detail: result.error });
    return json(c, { channel, type: result.type, ok: result.ok, attempts: result.attempts, error: result.error, duration_ms: result.duration_ms });
  });

  app.get('/api/v1/syncs', (c) => json(c, { syncs: Object.keys(project.syncs).map((name) => syncListItem(project, history, runtime, name)) }));

  app.get('/api/v1/syncs/:name', (c) => {
    const sync = syncName(c);
    return json(c, { ...syncDetail(project, history, runtime, sync), alerts: deps.alertStatus(sync) });
  });

  app.get('/api/v1/syncs/:name/runs', (c) => {
    const sync = syncName(c);
    const limit = integerParam(c, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_RUNS_LIMIT;
    return json(c, { runs: history.listRuns({ sync, limit }).map((run) => runView(runtime, run)) });
  });

  app.post('/api/v1/syncs/:name/trigger', async (c) => {
    const sync = syncName(c);
    const body = await readTriggerBody(c);
    const action: AuditAction = body.full_resync ? 'full_resync' : body.reset_cdc ? 'reset_cdc' : 'trigger';
    const entry = { token_kind: 'operator', action, sync, target: null } as const;
    try {
      const result = launcher.trigger(sync, { trigger: 'api', fullResync: body.full_resync, resetCdc: body.reset_cdc });
      audited({ ...entry, run_id: result.runId, result: result.queued ? 'queued' : 'started', detail: null });
      return json(c, { run_id: result.runId, queued: result.queued }, 202);
    } catch (error) {
      if (error instanceof LaunchError) {
        audited({ ...entry, run_id: null, result: 'refused', detail: error.message });
        throw new ApiError(LAUNCH_ERROR_TO_API[error.code], error.message);
      }
      throw error;
    }
  });

  const runEnds = new RunEndSignal(launcher);
  // A queued run answers with its QueuedRunView (status "queued"), and no calls or rows yet. With
  // `wait`, the answer is held until the run has ended (neither queued nor running) or `wait` s passed.
  app.get('/api/v1/runs/:id', async (c) => {
    const wait = integerParam(c, 'wait', 0, MAX_WAIT_SECONDS) ?? 0;
    const deadline = Date.now() + wait * 1000;
    let run = findRun(c);
    while ((run.record === null || run.record.status === 'running') && Date.now() < deadline && !c.req.raw.signal.aborted) {
      await runEnds.next(deadline - Date.now(), c.req.raw.signal);
      run = findRun(c);
    }
    return json(c, run.record !== null ? runView(runtime, run.record) : queuedRunView(run.queued));
  });

  // One page of the call tree, in seq order; `next_after` is the `after` of the next page.
  app.get('/api/v1/runs/:id/calls', (c) => {
    const { id, record } = findRun(c);
    const limit = integerParam(c, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_CALLS_LIMIT;
    const after = integerParam(c, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    return json(c, record === null ? { calls: [], next_after: null } : history.listCallTree(id, { afterSeq: after, limit }));
  });

  app.get('/api/v1/runs/:id/calls/:seq', (c) => {
    const { id } = findRun(c);
    const seq = c.req.param('seq');
    const call = /^[1-9][0-9]{0,9}$/.test(seq) ? history.getCall(id, Number(seq)) : null;
    if (call === null) throw new ApiError('NOT_FOUND', `run ${id} has no call ${seq}; list its calls with GET /api/v1/runs/${id}/calls`);
    return json(c, call);
  });

  app.get('/api/v1/runs/:id/rows', (c) => {
    const { id, record } = findRun(c);
    const results = resultsParam(c.req.query('result'));
    const limit = integerParam(c, 'limit', 1, MAX_LIST_LIMIT) ?? DEFAULT_ROWS_LIMIT;
    const after = integerParam(c, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    return json(c, { rows: record === null ? [] : history.listOutcomes(id, { results, limit, afterId: after }) });
  });

  app.all('/api/v1/*', (c) => {
    throw new ApiError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}; see the API under /api/v1`);
  });

  app.route('/', uiRoutes());
  return app;
}

/**
 * The action a request of a viewer asked for, for the audit log: a trigger (whatever its body:
 * it is not read) or an alert test; `null` for a request that names no action.
 */
function deniedAction(method: string, path: string): Pick<AuditEntry, 'action' | 'sync' | 'target'> | null {
  if (method !== 'POST') return null;
  const segment = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const trigger = /^\/api\/v1\/syncs\/([^/]+)\/trigger\/?$/.exec(path);
  if (trigger) return { action: 'trigger', sync: segment(trigger[1]!), target: null };
  const test = /^\/api\/v1\/alerts\/channels\/([^/]+)\/test\/?$/.exec(path);
  if (test) return { action: 'alert_test', sync: null, target: segment(test[1]!) };
  return null;
}

/** `{}` for an empty body. @throws ApiError BAD_REQUEST for anything but the trigger options */
async function readTriggerBody(c: Context): Promise<z.infer<typeof triggerBody>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ApiError('BAD_REQUEST', 'the body is not JSON; send nothing, {"full_resync": true} or {"reset_cdc": true}');
  }
  const parsed = triggerBody.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new ApiError('BAD_REQUEST', `${problems.join('; ')}; send nothing, {"full_resync": true} or {"reset_cdc": true}`);
  }
  return parsed.data;
}

/** A whole-number query parameter in [min, max]; `undefined` when absent. @throws ApiError BAD_REQUEST */
function integerParam(c: Context, name: string, min: number, max: number): number | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new ApiError('BAD_REQUEST', `${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** `result=rejected,invalid`; `undefined` (every result) when absent. @throws ApiError BAD_REQUEST */
function resultsParam(text: string | undefined): RowResultKind[] | undefined {
  if (text === undefined || text === '') return undefined;
  const results = text.split(',').map((r) => r.trim());
  const unknown = results.filter((r) => !(ROW_RESULTS as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new ApiError('BAD_REQUEST', `unknown result ${unknown.map((r) => `"${r}"`).join(', ')} (known: ${ROW_RESULTS.join(', ')}); e.g. ?result=rejected,invalid`);
  }
  return results as RowResultKind[];
}

/** A copy of `value` with every secret in its strings replaced by `[REDACTED]`. */
function redactStrings(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return redact(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactStrings(item, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactStrings(item, secrets)]));
  }
  return value;
}
