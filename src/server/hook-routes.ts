/**
 * Inbound webhooks: `POST /api/v1/hooks/{name}` for each hook under `hooks` in the project file.
 * The route needs no API token: the caller proves itself by signing the raw body with the hook's
 * secret (./hook-signature.ts). A wrong, missing or stale signature answers `401 UNAUTHORIZED` and
 * starts nothing. An accepted call triggers the hook's syncs through the launcher (trigger `hook`;
 * a sync already running queues one follow-up, as any trigger) and answers `202 { hook, runs:
 * [{ sync, run_id, queued }] }`. A dbt Cloud event that starts nothing (another event type, a run
 * that did not succeed, a job not under `jobs`) answers `200 { hook, runs: [], ignored }`, so that
 * dbt Cloud records the delivery as made. Contract: docs/http-api.md, "Inbound webhooks".
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import type { Project } from '../config/load-project.ts';
import type { HookConfig } from '../config/schema.ts';
import { LaunchError, type LaunchRequest, type LaunchResult } from '../scheduler/run-launcher.ts';
import type { TriggeredBy } from '../state/state-store.ts';
import { ApiError } from './api-error.ts';
import type { HookCall } from './hook-audit.ts';
import { SIGNATURE_HEADER, verifyDbtCloudSignature, verifyPanelsyncSignature, withinTolerance, type SignatureCheck } from './hook-signature.ts';

/** What the hook route needs: the project's hooks and a way to start runs. */
export interface HookRouteDependencies {
  project: Project;
  launcher: { trigger(sync: string, request: LaunchRequest): LaunchResult };
  /** The server's clock, ms since the epoch (tests move it); default `Date.now`. */
  now?: () => number;
  /** Records each call's outcome in the audit log (./hook-audit.ts); never throws. */
  audit?: (call: HookCall) => void;
}

/** The answer of an accepted hook call. */
export interface HookResponse {
  hook: string;
  runs: Array<{ sync: string; run_id: string; queued: boolean }>;
  /** Why a dbt Cloud event started nothing; absent when runs were triggered. */
  ignored?: string;
}

/** The part of dbt Cloud's webhook payload panelsync reads (https://docs.getdbt.com/docs/deploy/webhooks). */
const dbtCloudEvent = z.object({
  eventType: z.string(),
  timestamp: z.string(),
  data: z.object({
    jobId: z.union([z.string(), z.number()]),
    runId: z.union([z.string(), z.number()]).optional(),
    runStatus: z.string(),
  }),
});

/** dbt Cloud's event for a run that ended, and the status of a run that succeeded. */
const DBT_RUN_COMPLETED = 'job.run.completed';
const DBT_RUN_SUCCESS = 'Success';

/** Adds `POST /api/v1/hooks/:name` to `app`; register it before the API token check. */
export function registerHookRoute(app: Hono, deps: HookRouteDependencies): void {
  const now = deps.now ?? Date.now;
  const audit = deps.audit ?? (() => {});
  app.post('/api/v1/hooks/:name', async (c) => {
    const name = c.req.param('name');
    try {
      const answer = await handle(c.req.param('name'), c.req.header.bind(c.req), () => c.req.arrayBuffer());
      if (answer.runs.length === 0) audit({ hook: name, sync: null, runId: null, result: 'refused', detail: `ignored: ${answer.ignored ?? 'no sync'}` });
      for (const run of answer.runs) audit({ hook: name, sync: run.sync, runId: run.run_id, result: run.queued ? 'queued' : 'started' });
      return c.json(answer, answer.ignored === undefined ? 202 : 200);
    } catch (error) {
      if (error instanceof ApiError) audit({ hook: name, sync: null, runId: null, result: 'refused', detail: error.message });
      throw error;
    }
  });

  /** The answer to a call of hook `name`. @throws ApiError HOOK_NOT_FOUND, UNAUTHORIZED, BAD_REQUEST, SHUTTING_DOWN */
  async function handle(name: string, header: (name: string) => string | undefined, readBody: () => Promise<ArrayBuffer>): Promise<HookResponse> {
    const hook = deps.project.hooks?.[name];
    // Unauthenticated callers are not told which hooks exist.
    if (hook === undefined || !Object.hasOwn(deps.project.hooks!, name)) {
      throw new ApiError('HOOK_NOT_FOUND', `no hook "${name}" under hooks in the project file; check the URL`);
    }
    const body = new Uint8Array(await readBody());
    const nowSeconds = now() / 1000;
    const check: SignatureCheck =
      hook.format === 'dbt-cloud'
        ? verifyDbtCloudSignature(header('Authorization'), body, hook.secret)
        : verifyPanelsyncSignature(header(SIGNATURE_HEADER), body, hook.secret, nowSeconds);
    if (!check.ok) throw new ApiError('UNAUTHORIZED', `hook "${name}": ${check.reason}`);

    if (hook.format !== 'dbt-cloud') return trigger(deps, name, hook.syncs ?? [], { hook: name });
    const selected = dbtCloudSyncs(name, hook, body, nowSeconds);
    if ('ignored' in selected) return { hook: name, runs: [], ignored: selected.ignored };
    return trigger(deps, name, selected.syncs, selected.triggeredBy);
  }
}

/** Triggers `syncs` for hook `name`. @throws ApiError SHUTTING_DOWN when the server is stopping */
function trigger(deps: HookRouteDependencies, name: string, syncs: readonly string[], triggeredBy: TriggeredBy): HookResponse {
  const runs: HookResponse['runs'] = [];
  for (const sync of syncs) {
    try {
      const result = deps.launcher.trigger(sync, { trigger: 'hook', triggeredBy });
      runs.push({ sync, run_id: result.runId, queued: result.queued });
    } catch (error) {
      if (error instanceof LaunchError && error.code === 'STOPPING') throw new ApiError('SHUTTING_DOWN', error.message);
      throw error;
    }
  }
  return { hook: name, runs };
}

/**
 * The syncs a signed dbt Cloud event starts: those under `jobs` for its job id, when it is a
 * `job.run.completed` of a run with status `Success` whose signed `timestamp` is within the
 * tolerance; else why it starts nothing.
 * @throws ApiError BAD_REQUEST when the body is not a dbt Cloud webhook payload; UNAUTHORIZED when its timestamp is stale
 */
function dbtCloudSyncs(name: string, hook: HookConfig, body: Uint8Array, nowSeconds: number): { syncs: string[]; triggeredBy: TriggeredBy } | { ignored: string } {
  let event: z.infer<typeof dbtCloudEvent>;
  try {
    event = dbtCloudEvent.parse(JSON.parse(new TextDecoder().decode(body)));
  } catch {
    throw new ApiError('BAD_REQUEST', `hook "${name}": the body is not a dbt Cloud webhook payload (JSON with eventType, timestamp and data.jobId, data.runStatus)`);
  }
  const signedAt = Date.parse(event.timestamp);
  const fresh = Number.isNaN(signedAt)
    ? ({ ok: false, reason: `its timestamp "${event.timestamp}" is not an ISO 8601 time` } as const)
    : withinTolerance(signedAt / 1000, nowSeconds, `timestamp ${event.timestamp}`);
  if (!fresh.ok) throw new ApiError('UNAUTHORIZED', `hook "${name}": ${fresh.reason}`);

  if (event.eventType !== DBT_RUN_COMPLETED) return { ignored: `event ${event.eventType} starts nothing; only ${DBT_RUN_COMPLETED} does` };
  const jobId = String(event.data.jobId);
  if (event.data.runStatus !== DBT_RUN_SUCCESS) return { ignored: `dbt Cloud run of job ${jobId} ended ${event.data.runStatus}, not ${DBT_RUN_SUCCESS}` };
  const syncs = hook.jobs?.[jobId];
  if (syncs === undefined || !Object.hasOwn(hook.jobs!, jobId)) return { ignored: `job ${jobId} is not under hooks.${name}.jobs` };
  const triggeredBy: TriggeredBy = { hook: name, dbt_job_id: jobId, ...(event.data.runId === undefined ? {} : { dbt_run_id: String(event.data.runId) }) };
  return { syncs, triggeredBy };
}

