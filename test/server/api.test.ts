/**
 * The HTTP API of `panelsync serve` over real HTTP (loopback), against the emulator: auth, every
 * route's shape, trigger and the overlap rule, errors, metrics, and no secret in any response.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { API_TOKEN, apiClient, startTestServer, waitFor, writeServerProject, type ApiResponse } from './server-fixture.ts';

const SYNC_KEYS = ['name', 'model', 'destination', 'mode', 'delete_behavior', 'schedule', 'next_run_at', 'running', 'queued', 'last_run', 'health', 'recent_runs'];
const RUN_KEYS = ['run_id', 'sync', 'trigger', 'status', 'started_at', 'finished_at', 'duration_ms', 'summary', 'error', 'details_pruned_at', 'options', 'triggered_by', 'progress'];
const NO_OPTIONS = { full_resync: false, reset_cdc: false };

describe('panelsync serve: the HTTP API', () => {
  let chinook: ChinookProject;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ReturnType<typeof apiClient>;
  let seen: string[];

  beforeEach(async () => {
    chinook = await createChinookProject();
    writeServerProject(chinook);
    server = await startTestServer(chinook);
    seen = [];
    api = apiClient(server.url, seen);
  });
  afterEach(async () => {
    await server.close();
    await chinook.close();
    // No response ever carried the destination's API key or the API token.
    for (const body of seen) {
      expect(body).not.toContain(TEST_API_KEY);
      expect(body).not.toContain(API_TOKEN);
    }
  });

  /** Waits until the run has ended and returns its detail. */
  // A run has ended when its record says so and the launcher has let it go (it releases the
  // sync's lock a moment after the record ends).
  const finished = (runId: string) =>
    waitFor(async () => {
      const run = await api(`/api/v1/runs/${runId}`);
      if (['running', 'queued'].includes(run.body?.status) || run.status !== 200) return undefined;
      const syncs = (await api('/api/v1/syncs')).body.syncs as Array<{ running: { run_id: string } | null }>;
      return syncs.some((sync) => sync.running?.run_id === runId) ? undefined : run.body;
    }, 20_000, `run ${runId} to end`);

  it('answers healthz without a token and 401 UNAUTHORIZED on every other route without the right one', async () => {
    expect(await api('/api/v1/healthz', { token: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
    const routes: Array<[string, string]> = [
      ['GET', '/api/v1/syncs'],
      ['GET', `/api/v1/syncs/${SYNC}`],
      ['GET', `/api/v1/syncs/${SYNC}/runs`],
      ['POST', `/api/v1/syncs/${SYNC}/trigger`],
      ['GET', '/api/v1/runs/r1'],
      ['GET', '/api/v1/runs/r1/calls'],
      ['GET', '/api/v1/runs/r1/calls/1'],
      ['GET', '/api/v1/runs/r1/rows'],
      ['GET', '/api/v1/nothing-here'],
      ['GET', '/metrics'],
      ['GET', '/api/v1/metrics'],
    ];
    for (const [method, path] of routes) {
      for (const token of [null, 'wrong-token-0000000000', `${API_TOKEN}x`, 'not a token!']) {
        const response = await api(path, { method, token });
        expect(response.status, `${method} ${path} with ${token}`).toBe(401);
        expect(response.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Bearer') } });
      }
    }
    const basic = await fetch(`${server.url}/api/v1/syncs`, { headers: { authorization: `Basic ${btoa(`x:${API_TOKEN}`)}` } });
    expect(basic.status).toBe(401);
    // A trigger without the token started nothing.
    expect(await chinook.stats()).toEqual({});
    expect((await api(`/api/v1/syncs/${SYNC}/runs`)).body).toEqual({ runs: [] });
  });

  it('returns the run id at once, shows the run while it runs, and queues exactly one follow-up (shown as queued) for triggers meanwhile', async () => {
    await chinook.knobs({ latency_ms: 400 }); // each API call takes 400 ms: the run takes over a second

    const started = Date.now();
    const first = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    expect(Date.now() - started).toBeLessThan(400);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ run_id: expect.stringMatching(/^r[0-9a-z]+$/), queued: false });
    const firstId = first.body.run_id as string;

    const running = await api(`/api/v1/runs/${firstId}`);
    expect(running.body).toMatchObject({ run_id: firstId, sync: SYNC, trigger: 'api', status: 'running', finished_at: null, summary: null, options: NO_OPTIONS });

    const beforeQueue = new Date().toISOString();
    const second = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body: '{"full_resync": true}' });
    const afterQueue = new Date().toISOString();
    expect(second.status).toBe(202);
    expect(second.body).toEqual({ run_id: expect.any(String), queued: true });
    const queuedId = second.body.run_id as string;
    expect(queuedId).not.toBe(firstId);
    for (let i = 0; i < 3; i++) {
      const again = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body: '{}' });
      expect(again.body).toEqual({ run_id: queuedId, queued: true });
    }
    const list = await api('/api/v1/syncs');
    expect(list.body.syncs[0]).toMatchObject({ running: { run_id: firstId, status: 'running' }, queued: true });
    // The queued run has no record yet: the API answers it as queued, with the options that queued it, and no calls or rows.
    const queuedRun = await api(`/api/v1/runs/${queuedId}`);
    expect(queuedRun.status).toBe(200);
    expect(queuedRun.body).toEqual({
      run_id: queuedId,
      sync: SYNC,
      trigger: 'api',
      status: 'queued',
      queued_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      options: { full_resync: true, reset_cdc: false },
      triggered_by: null,
    });
    expect(queuedRun.body.queued_at >= beforeQueue && queuedRun.body.queued_at <= afterQueue).toBe(true);
    expect((await api(`/api/v1/runs/${queuedId}/calls`)).body).toEqual({ calls: [], next_after: null });
    expect((await api(`/api/v1/runs/${queuedId}/rows?result=rejected`)).body).toEqual({ rows: [] });
    expect((await api(`/api/v1/runs/${queuedId}/calls/1`)).body.error.code).toBe('NOT_FOUND');
    // Still the stored run history only: the queued run is not listed before it starts.
    expect((await api(`/api/v1/syncs/${SYNC}/runs`)).body.runs.map((r: { run_id: string }) => r.run_id)).toEqual([firstId]);

    // Then the same id answers as the running run, and once more when it has ended.
    const startedFollowUp = await waitFor(async () => {
      const body = (await api(`/api/v1/runs/${queuedId}`)).body;
      return body.status !== 'queued' ? body : undefined;
    }, 20_000, `run ${queuedId} to start`);
    expect(startedFollowUp).toMatchObject({ run_id: queuedId, trigger: 'api', options: { full_resync: true, reset_cdc: false } });
    const firstRun = await finished(firstId);
    const followUp = await finished(queuedId);
    expect(firstRun.status).toBe('success');
    // A full resync, as the trigger that queued it asked: every row sent again.
    expect(followUp).toMatchObject({ status: 'success', trigger: 'api', options: { full_resync: true, reset_cdc: false }, summary: { rows: { added: 59, unchanged: 0 } } });
    // Never two at once: the follow-up started after the first ended.
    expect(Date.parse(followUp.started_at)).toBeGreaterThanOrEqual(Date.parse(firstRun.finished_at));

    const runs = (await api(`/api/v1/syncs/${SYNC}/runs`)).body.runs as Array<{ run_id: string }>;
    expect(runs.map((r) => r.run_id)).toEqual([queuedId, firstId]);
    const after = (await api('/api/v1/syncs')).body.syncs[0];
    expect(after).toMatchObject({ running: null, queued: false, health: 'ok', last_run: { run_id: queuedId } });
    expect(await chinook.participants()).toHaveLength(59);
  });

  it('answers every route in the documented shape after a run with rejected and invalid rows', async () => {
    chinook.db.prepare(`UPDATE Customer SET Email = '' WHERE CustomerId IN (3, 4)`).run();
    await chinook.knobs({ reject_email_pattern: '@apple\\.com$' });
    const trigger = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    const runId = trigger.body.run_id as string;
    const run = await finished(runId);

    // GET /syncs
    const syncs = await api('/api/v1/syncs');
    expect(syncs.status).toBe(200);
    expect(syncs.headers.get('content-type')).toMatch(/^application\/json/);
    expect(syncs.body.syncs).toHaveLength(1);
    const item = syncs.body.syncs[0];
    expect(Object.keys(item).sort()).toEqual([...SYNC_KEYS].sort());
    expect(item).toMatchObject({
      name: SYNC,
      model: 'customers',
      destination: 'panel',
      mode: 'upsert',
      delete_behavior: 'do_nothing',
      schedule: null,
      next_run_at: null,
      running: null,
      queued: false,
      health: 'warning',
      last_run: { run_id: runId, status: 'warning', trigger: 'api' },
    });
    expect(Object.keys(item.last_run).sort()).toEqual([...RUN_KEYS].sort());
    expect(item.last_run).toMatchObject({ options: NO_OPTIONS, progress: null }); // ended: the summary holds the counts
    expect(item.recent_runs).toHaveLength(1);

    // GET /syncs/{name}
    const detail = (await api(`/api/v1/syncs/${SYNC}`)).body;
    expect(Object.keys(detail)).toEqual(expect.arrayContaining([...SYNC_KEYS, 'config', 'failing_rows', 'alerts']));
    expect(detail.config).toMatchObject({ model: 'customers', destination: 'panel', mode: 'upsert', match: 'Email', delete_behavior: 'do_nothing', split_retries: true, max_delete_share: 0.5 });
    expect(detail.config.mappings).toHaveLength(11);
    expect(detail.config.mappings[0]).toEqual({ from: 'FirstName', to: 'first_name' });
    expect(detail.config.mappings[9]).toEqual({ static: 'chinook', to: 'characteristics.source' });
    const rejected = run.outcomes.rejected as number;
    expect(rejected).toBeGreaterThan(0);
    expect(run.outcomes.invalid).toBe(2);
    expect(detail.failing_rows).toMatchObject({ sync: SYNC, as_of_run: runId, total: rejected + 2 });
    expect(detail.alerts.triggers.map((t: { trigger: string }) => t.trigger)).toContain('rejected_rows');

    // GET /syncs/{name}/runs
    expect((await api(`/api/v1/syncs/${SYNC}/runs?limit=1`)).body.runs.map((r: { run_id: string }) => r.run_id)).toEqual([runId]);
    for (const limit of ['0', 'abc', '-1', '1.5', '100000']) {
      const bad = await api(`/api/v1/syncs/${SYNC}/runs?limit=${limit}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toEqual({ code: 'BAD_REQUEST', message: expect.stringContaining('limit must be a whole number') });
    }

    // GET /runs/{id}
    expect(Object.keys(run).sort()).toEqual([...RUN_KEYS, 'calls', 'outcomes'].sort());
    expect(run.progress).toBeNull();
    expect(run.summary).toMatchObject({ run_id: runId, status: 'warning', rows: { queried: 59, invalid: 2 } });
    expect(run.outcomes.succeeded + rejected).toBe(57);

    // GET /runs/{id}/calls: the call tree, a page at a time in seq order
    const firstPage = (await api(`/api/v1/runs/${runId}/calls`)).body;
    expect(firstPage.next_after).toBeNull();
    const calls = firstPage.calls as Array<Record<string, any>>;
    expect(calls).toHaveLength(run.calls);
    expect(calls.map((c) => c.seq)).toEqual(Array.from({ length: run.calls }, (_, i) => i + 1));
    // Small pages laid end to end are the same tree: a split retry keeps its parent and depth on a later page.
    const paged: Array<Record<string, any>> = [];
    for (let after: number | null = 0; after !== null; ) {
      const page: { calls: Array<Record<string, any>>; next_after: number | null } = (await api(`/api/v1/runs/${runId}/calls?after=${after}&limit=2`)).body;
      expect(page.calls.length).toBeLessThanOrEqual(2);
      paged.push(...page.calls);
      after = page.next_after;
    }
    expect(paged).toEqual(calls);
    expect((await api(`/api/v1/runs/${runId}/calls?limit=1`)).body.next_after).toBe(1);
    for (const query of ['limit=0', 'limit=10001', 'limit=abc', 'after=-1', 'after=1.5']) {
      const bad = await api(`/api/v1/runs/${runId}/calls?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error.code).toBe('BAD_REQUEST');
    }
    expect(calls[0]).toMatchObject({ seq: 1, method: 'GET', depth: 0, parent_seq: null, request_seq: 1 });
    const patches = calls.filter((c) => c.method === 'PATCH');
    expect(patches.length).toBeGreaterThan(1); // the rejected batch was split
    expect(patches.some((c) => c.depth > 0 && c.parent_seq !== null)).toBe(true);

    // GET /runs/{id}/calls/{seq}: bodies and the rows sent
    const call = (await api(`/api/v1/runs/${runId}/calls/${patches[0]!.seq}`)).body;
    expect(call).toMatchObject({ seq: patches[0]!.seq, method: 'PATCH', request_truncated: false });
    expect(JSON.parse(call.request_body).participants.length).toBe(call.pks.length);
    expect(typeof call.response_body).toBe('string');
    for (const seq of ['9999', '0', 'x']) {
      expect((await api(`/api/v1/runs/${runId}/calls/${seq}`)).body.error.code).toBe('NOT_FOUND');
    }

    // GET /runs/{id}/rows
    const rejectedRows = (await api(`/api/v1/runs/${runId}/rows?result=rejected`)).body.rows as Array<Record<string, any>>;
    expect(rejectedRows).toHaveLength(rejected);
    expect(rejectedRows.every((r) => r.result === 'rejected' && /deliverable/.test(r.error))).toBe(true);
    const failing = (await api(`/api/v1/runs/${runId}/rows?result=rejected,invalid`)).body.rows as Array<Record<string, any>>;
    expect(failing).toHaveLength(rejected + 2);
    expect(failing.filter((r) => r.result === 'invalid').map((r) => r.pk).sort()).toEqual(['3', '4']);
    const page1 = (await api(`/api/v1/runs/${runId}/rows?limit=2`)).body.rows as Array<{ id: number }>;
    const page2 = (await api(`/api/v1/runs/${runId}/rows?limit=2&after=${page1[1]!.id}`)).body.rows as Array<{ id: number }>;
    expect(page1).toHaveLength(2);
    expect(page2[0]!.id).toBeGreaterThan(page1[1]!.id);
    expect((await api(`/api/v1/runs/${runId}/rows`)).body.rows).toHaveLength(59);
    const badResult = await api(`/api/v1/runs/${runId}/rows?result=rejected,bogus`);
    expect(badResult.status).toBe(400);
    expect(badResult.body.error.message).toContain('"bogus"');

    // Unknown names and routes.
    const notFound: Array<[string, string, string]> = [
      ['GET', '/api/v1/syncs/nope', 'SYNC_NOT_FOUND'],
      ['GET', '/api/v1/syncs/nope/runs', 'SYNC_NOT_FOUND'],
      ['POST', '/api/v1/syncs/nope/trigger', 'SYNC_NOT_FOUND'],
      ['GET', '/api/v1/runs/nope', 'RUN_NOT_FOUND'],
      ['GET', '/api/v1/runs/nope/calls', 'RUN_NOT_FOUND'],
      ['GET', '/api/v1/runs/nope/calls/1', 'RUN_NOT_FOUND'],
      ['GET', '/api/v1/runs/nope/rows', 'RUN_NOT_FOUND'],
      ['GET', '/api/v1/nothing-here', 'NOT_FOUND'],
      ['DELETE', `/api/v1/syncs/${SYNC}`, 'NOT_FOUND'],
      ['GET', '/nothing-here', 'NOT_FOUND'],
    ];
    for (const [method, path, code] of notFound) {
      const response = await api(path, { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
    }
  });

  it('answers a browser on an unknown page with the UI (status 404), and programs with JSON', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    for (const path of ['/nothing-here', '/sync/x', '/run', '/a/b/c?x=1', '/metricsx']) {
      const page = await fetch(`${server.url}${path}`, { headers: browser });
      const text = await page.text();
      expect(page.status, path).toBe(404);
      expect(page.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      expect(text, path).toContain('<script type="module" src="/ui/app.js"></script>');
    }
    // The API, missing UI files, other methods and clients that do not ask for HTML keep the JSON 404.
    const json: Array<[string, string, Record<string, string>]> = [
      ['GET', '/api/v1/nothing-here', { ...browser, authorization: `Bearer ${API_TOKEN}` }],
      ['GET', '/api/nothing-here', browser],
      ['GET', '/ui/nothing.js', browser],
      ['GET', '/ui', browser],
      ['POST', '/nothing-here', browser],
      ['GET', '/nothing-here', { accept: 'application/json' }],
      ['GET', '/nothing-here', { accept: '*/*' }],
    ];
    for (const [method, path, headers] of json) {
      const response = await fetch(`${server.url}${path}`, { method, headers });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.headers.get('content-type'), `${method} ${path}`).toMatch(/^application\/json/);
      expect((await response.json()).error.code, `${method} ${path}`).toBe('NOT_FOUND');
    }
    // Pages of the app still answer 200.
    for (const path of ['/', `/syncs/${SYNC}`, '/runs/r1']) {
      expect((await fetch(`${server.url}${path}`, { headers: browser })).status, path).toBe(200);
    }
  });

  it('takes full_resync and reset_cdc in the trigger body and refuses anything else with 400 BAD_REQUEST', async () => {
    const bodies = ['not json', '[]', '{"full_resync": "yes"}', '{"full_resync": true, "reset_cdc": true}', '{"allow_mass_delete": true}'];
    for (const body of bodies) {
      const response = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body });
      expect(response.status, body).toBe(400);
      expect(response.body.error.code).toBe('BAD_REQUEST');
      expect(response.body.error.message).toContain('full_resync');
    }
    expect((await api(`/api/v1/syncs/${SYNC}/runs`)).body.runs).toEqual([]);

    const reset = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body: '{"reset_cdc": true}' });
    expect(await finished(reset.body.run_id)).toMatchObject({ status: 'success', options: { full_resync: false, reset_cdc: true } });
    expect(await chinook.participants()).toHaveLength(0); // reset-cdc sends nothing

    const full = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body: '{"full_resync": true}' });
    const fullRun = await finished(full.body.run_id);
    expect(fullRun.summary.rows).toMatchObject({ queried: 59, added: 59 });
    expect(fullRun.options).toEqual({ full_resync: true, reset_cdc: false });
    expect(await chinook.participants()).toHaveLength(59);

    const normal = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body: '{"full_resync": false}' });
    expect((await finished(normal.body.run_id)).options).toEqual(NO_OPTIONS);
    // The options are kept with each run in the history.
    const runs = (await api(`/api/v1/syncs/${SYNC}/runs`)).body.runs as Array<{ run_id: string; options: unknown }>;
    expect(runs.map((r) => [r.run_id, r.options])).toEqual([
      [normal.body.run_id, NO_OPTIONS],
      [full.body.run_id, { full_resync: true, reset_cdc: false }],
      [reset.body.run_id, { full_resync: false, reset_cdc: true }],
    ]);
  });

  it('answers 409 SYNC_ALREADY_RUNNING when another process holds the sync', async () => {
    const db = new Database(join(chinook.dir, 'state/state.db'));
    try {
      // The vitest parent process is alive on this host: its lock counts.
      db.prepare('INSERT INTO locks (sync, run_id, pid, host, acquired_at) VALUES (?, ?, ?, ?, ?)').run(SYNC, 'relsewhere', process.ppid, hostname(), new Date().toISOString());
      const response = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
      expect(response.status).toBe(409);
      expect(response.body.error).toEqual({ code: 'SYNC_ALREADY_RUNNING', message: expect.stringContaining('relsewhere') });
      expect((await api(`/api/v1/syncs/${SYNC}/runs`)).body.runs).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('keeps a secret that reached a stored run record out of the response', async () => {
    const db = new Database(join(chinook.dir, 'state/state.db'));
    try {
      db.prepare(`INSERT INTO runs (id, sync, trigger, status, started_at, finished_at, error) VALUES (?, ?, 'api', 'failed', ?, ?, ?)`).run(
        'rsecret',
        SYNC,
        '2026-01-01T00:00:00.000Z',
        '2026-01-01T00:00:01.000Z',
        `connection to https://x.test/?key=${TEST_API_KEY} failed`,
      );
    } finally {
      db.close();
    }
    const run = await api('/api/v1/runs/rsecret');
    expect(run.body.error).toBe('connection to https://x.test/?key=[REDACTED] failed');
    // A run stored without options (as by a version before they were kept) reads as a normal run.
    expect(run.body.options).toEqual(NO_OPTIONS);
    const sync = await api(`/api/v1/syncs/${SYNC}`);
    expect(sync.body).toMatchObject({ health: 'failed', last_run: { run_id: 'rsecret', error: expect.stringContaining('[REDACTED]') } });
  });

  it('exposes Prometheus metrics prefixed panelsync_ for runs, rows, API calls and run duration', async () => {
    const before = await api('/metrics');
    expect(before.text).toContain(`panelsync_runs_total{sync="${SYNC}",status="success"} 0`);

    const trigger = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    await finished(trigger.body.run_id);
    const metrics: ApiResponse = await waitFor(async () => {
      const response = await api('/metrics');
      return response.text.includes(`panelsync_runs_in_progress{sync="${SYNC}"} 0`) ? response : undefined;
    });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = metrics.text;
    expect(text).toContain(`panelsync_runs_total{sync="${SYNC}",status="success"} 1`);
    expect(text).toContain(`panelsync_runs_total{sync="${SYNC}",status="failed"} 0`);
    expect(text).toContain(`panelsync_rows_total{sync="${SYNC}",result="succeeded"} 59`);
    expect(text).toContain(`panelsync_rows_total{sync="${SYNC}",result="rejected"} 0`);
    expect(text).toContain(`panelsync_api_calls_total{sync="${SYNC}",status="200"} 2`);
    expect(text).toContain(`panelsync_run_duration_seconds_count{sync="${SYNC}",status="success"} 1`);
    expect(text).toMatch(/^panelsync_run_duration_seconds_bucket\{le="1",sync="customers-to-panel",status="success"\} 1$/m);
    expect(text).toContain('# TYPE panelsync_run_duration_seconds histogram');
    // Every metric name is prefixed.
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(5);
    expect(names.every((n) => n.startsWith('panelsync_'))).toBe(true);
    expect((await api('/api/v1/metrics')).text).toContain(`panelsync_runs_total{sync="${SYNC}",status="success"} 1`);
  });

  it('serves the web UI at / without a token', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).not.toContain(API_TOKEN);
  });
});
