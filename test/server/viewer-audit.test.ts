/**
 * The viewer token and the audit log over real HTTP (loopback), against the emulator and a fake
 * webhook receiver: a viewer reads every route but never a body, an email or another participant
 * value; every action it asks for is 403 and recorded as denied; operator actions (trigger, full
 * resync, alert test) are recorded with who, what and how it went.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load-project.ts';
import { validateProject } from '../../src/config/validate-project.ts';
import { hookAuditEntry } from '../../src/server/hook-audit.ts';
import { startServer, type RunningServer } from '../../src/server/start-server.ts';
import { SqliteAuditLog } from '../../src/state/sqlite-audit-log.ts';
import Database from 'better-sqlite3';
import { startFakeWebhook, type FakeService } from '../alerts/fake-services.ts';
import { createChinookProject, CHINOOK_SQLITE_MODEL, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { API_TOKEN, apiClient, waitFor } from './server-fixture.ts';

const VIEWER_TOKEN = 'test-viewer-token-3a9f2e61';
const HOOK_TOKEN = 'h00k-t0ken-viewer-5a4b';
/** Customer 2's email made invalid: its reason quotes it. */
const BAD_EMAIL = 'leonie..k@apple.de';

describe('panelsync serve: the viewer token and the audit log', () => {
  let chinook: ChinookProject;
  let webhook: FakeService<Record<string, unknown>>;
  let server: RunningServer;
  let api: ReturnType<typeof apiClient>;
  let viewerSeen: string[];
  let viewer: ReturnType<typeof apiClient>;

  beforeEach(async () => {
    webhook = await startFakeWebhook(HOOK_TOKEN);
    chinook = await createChinookProject({
      sql: CHINOOK_SQLITE_MODEL.replace('c.Email,', `CASE c.CustomerId WHEN 2 THEN '${BAD_EMAIL}' ELSE c.Email END AS Email,`),
      // The emulator refuses some emails with an error of its own.
      emulator: { rejectEmailPattern: '@gmail\\.com$' },
    });
    const file = join(chinook.dir, 'panelsync.yml');
    const config = parse(readFileSync(file, 'utf8')) as Record<string, any>;
    config.server = { api_token: '${PANELSYNC_API_TOKEN}', viewer_token: '${PANELSYNC_VIEWER_TOKEN}' };
    config.alerts = { channels: { hook: { type: 'webhook', url: `${webhook.origin}/hooks/panelsync`, headers: { 'X-Token': '${HOOK_TOKEN}' } } } };
    writeFileSync(file, stringify(config));
    const env = { UI_API_KEY: TEST_API_KEY, PANELSYNC_API_TOKEN: API_TOKEN, PANELSYNC_VIEWER_TOKEN: VIEWER_TOKEN, HOOK_TOKEN };
    server = await startServer({ project: await loadProject({ projectDir: chinook.dir, env }), port: 0, log: () => {} });
    api = apiClient(server.url);
    viewerSeen = [];
    const asViewer = apiClient(server.url, viewerSeen);
    viewer = (path, options = {}) => asViewer(path, { token: VIEWER_TOKEN, ...options });
  });
  afterEach(async () => {
    await server.close();
    await chinook.close();
    await webhook.close();
  });

  const finished = (runId: string) =>
    waitFor(async () => {
      const run = await api(`/api/v1/runs/${runId}`);
      if (['running', 'queued'].includes(run.body?.status)) return undefined;
      const syncs = (await api('/api/v1/syncs')).body.syncs as Array<{ running: { run_id: string } | null }>;
      return syncs.some((sync) => sync.running?.run_id === runId) ? undefined : run.body;
    }, 20_000, `run ${runId} to end`);

  it('lets a viewer read syncs, runs, calls, rows and metrics without any body, email or participant value', async () => {
    const trigger = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    expect(trigger.status).toBe(202);
    const run = await finished(trigger.body.run_id);
    expect(run.status).toBe('warning');
    expect(run.summary.rows.invalid).toBe(1);
    expect(classTotal(run.summary.rejected)).toBeGreaterThan(0);

    const participants = await chinook.participants();
    expect(participants.length).toBeGreaterThan(40);
    // What the panel holds: the values a viewer must never read.
    const personal = [BAD_EMAIL, ...participants.flatMap((p) => [p.email, p.first_name, p.last_name, p.phone_number, p.id])].filter(
      (v): v is string => typeof v === 'string' && v.length >= 4,
    );
    const calls = (await api(`/api/v1/runs/${run.run_id}/calls`)).body.calls as Array<{ seq: number; tag: string | null }>;
    const write = calls.find((call) => call.tag?.startsWith('upsert'))!;
    const routes = [
      '/api/v1/session',
      '/api/v1/syncs',
      `/api/v1/syncs/${SYNC}`,
      `/api/v1/syncs/${SYNC}/runs`,
      `/api/v1/runs/${run.run_id}`,
      `/api/v1/runs/${run.run_id}/calls`,
      `/api/v1/runs/${run.run_id}/calls/${write.seq}`,
      `/api/v1/runs/${run.run_id}/rows`,
      `/api/v1/runs/${run.run_id}/rows?result=rejected,invalid`,
      '/api/v1/audit',
      '/metrics',
    ];
    const operatorTexts: string[] = [];
    for (const route of routes) {
      const asViewer = await viewer(route);
      expect(asViewer.status, route).toBe(200);
      const asOperator = await api(route);
      expect(asOperator.status, route).toBe(200);
      operatorTexts.push(asOperator.text);
    }
    // The operator reads bodies, emails and row errors: the same routes hold what the viewer is spared.
    expect(personal.filter((value) => operatorTexts.some((text) => text.includes(value))).length).toBeGreaterThan(personal.length / 2);
    const leaked = personal.filter((value) => viewerSeen.some((text) => text.includes(value)));
    expect(leaked).toEqual([]);
    expect(viewerSeen.join('\n')).not.toMatch(/[^\s"]+@[^\s"]+\.[a-z]{2,}/i);

    expect((await viewer('/api/v1/session')).body).toEqual({ token_kind: 'viewer' });
    expect((await api('/api/v1/session')).body).toEqual({ token_kind: 'operator' });
    const detail = (await viewer(`/api/v1/runs/${run.run_id}/calls/${write.seq}`)).body;
    const full = (await api(`/api/v1/runs/${run.run_id}/calls/${write.seq}`)).body;
    expect(full.request_body).toContain('@');
    expect(detail).toMatchObject({ seq: write.seq, status: full.status, request_body: null, response_body: null, request_bytes: full.request_bytes });
    expect(detail.pks).toEqual(full.pks); // numeric primary keys stay: they identify the row, not the person
    const rows = (await viewer(`/api/v1/runs/${run.run_id}/rows?result=invalid`)).body.rows;
    expect(rows).toEqual([expect.objectContaining({ pk: '2', result: 'invalid', participant_id: null, error: expect.stringContaining('[value]') })]);
    const failing = (await viewer(`/api/v1/syncs/${SYNC}`)).body.failing_rows;
    expect(failing.total).toBe(run.summary.rows.invalid + classTotal(run.summary.rejected));
  });

  it('answers every action of a viewer 403 FORBIDDEN, starts nothing, sends nothing, and records it as denied', async () => {
    for (const body of [undefined, '{"full_resync": true}']) {
      const response = await viewer(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body });
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.stringContaining('server.api_token') } });
    }
    expect((await viewer('/api/v1/alerts/channels/hook/test', { method: 'POST' })).status).toBe(403);
    expect((await viewer('/api/v1/syncs', { method: 'DELETE' })).status).toBe(403);
    expect(await chinook.stats()).toEqual({});
    expect(webhook.arrivals).toBe(0);
    expect((await api(`/api/v1/syncs/${SYNC}/runs`)).body.runs).toEqual([]);

    const entries = (await viewer('/api/v1/audit')).body.entries;
    expect(entries.map((e: Record<string, unknown>) => [e.token_kind, e.action, e.sync, e.target, e.result])).toEqual([
      ['viewer', 'alert_test', null, 'hook', 'denied'],
      ['viewer', 'trigger', SYNC, null, 'denied'],
      ['viewer', 'trigger', SYNC, null, 'denied'],
    ]);
  });

  it('records operator actions with who, when, what and how it went, newest first, page by page', async () => {
    const before = new Date().toISOString();
    const first = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST', body: '{"full_resync": true}' });
    const queued = await api(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    expect(queued.body.queued).toBe(true);
    await finished(first.body.run_id);
    await finished(queued.body.run_id);
    const test = await api('/api/v1/alerts/channels/hook/test', { method: 'POST' });
    expect(test.body).toMatchObject({ channel: 'hook', type: 'webhook', ok: true, attempts: 1, error: null });
    expect(webhook.received).toHaveLength(1);
    expect((await api('/api/v1/alerts/channels/nope/test', { method: 'POST' })).body.error.message).toContain('known: hook');

    const entries = (await api('/api/v1/audit')).body.entries as Array<Record<string, unknown>>;
    expect(entries.map((e) => [e.token_kind, e.action, e.sync, e.target, e.run_id, e.result])).toEqual([
      ['operator', 'alert_test', null, 'hook', null, 'succeeded'],
      ['operator', 'trigger', SYNC, null, queued.body.run_id, 'queued'],
      ['operator', 'full_resync', SYNC, null, first.body.run_id, 'started'],
    ]);
    for (const e of entries) expect(e.at as string >= before).toBe(true);
    const page = (await api(`/api/v1/audit?limit=1&before=${entries[1]!.id}`)).body.entries;
    expect(page).toEqual([entries[2]]);
    expect((await api(`/api/v1/audit?sync=${SYNC}`)).body.entries).toEqual(entries.slice(1));
    expect((await api('/api/v1/audit?limit=0')).status).toBe(400);

    // The hook route's record (hookAuditEntry), written by whatever holds the state database.
    const db = new Database(join(chinook.dir, 'state', 'state.db'));
    try {
      new SqliteAuditLog(db).record(hookAuditEntry({ hook: 'after-dbt', sync: null, runId: null, result: 'refused', detail: 'the signature is more than 5 minutes old' }));
    } finally {
      db.close();
    }
    expect((await viewer('/api/v1/audit?limit=1')).body.entries).toEqual([
      expect.objectContaining({ token_kind: 'hook', action: 'hook', target: 'after-dbt', sync: null, result: 'refused', detail: 'the signature is more than 5 minutes old' }),
    ]);
  });

  it('refuses a viewer token equal to the API token, naming the key', () => {
    const raw = parse(readFileSync(join(chinook.dir, 'panelsync.yml'), 'utf8')) as Record<string, any>;
    raw.server = { api_token: API_TOKEN, viewer_token: API_TOKEN };
    const { issues } = validateProject(raw, { UI_API_KEY: TEST_API_KEY, HOOK_TOKEN }, { projectDir: chinook.dir });
    expect(issues).toEqual([{ path: 'server.viewer_token', message: expect.stringContaining('must differ from server.api_token') }]);
  });
});

function classTotal(counts: { added: number; changed: number; removed: number }): number {
  return counts.added + counts.changed + counts.removed;
}
