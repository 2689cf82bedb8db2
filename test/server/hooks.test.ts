/**
 * Inbound webhooks and waiting from a script, over real HTTP against `panelsync serve` and the
 * emulator: a call signed as docs/http-api.md says runs the hook's syncs (no API token needed) and
 * its run records the hook; a wrong signature, a stale time or no signature answers 401 and runs
 * nothing; dbt Cloud's own "job run completed" webhook, signed as dbt Cloud signs it, runs the
 * syncs of its job; `GET /api/v1/runs/{id}?wait=` answers when the run ends, or when the wait is
 * over with the run still going.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DBT_SECRET, HOOK_SECRET, serveOrchestration } from './orchestration-project.ts';
import { API_TOKEN } from './server-fixture.ts';

/** The panelsync scheme, written out here independently of the server's code. */
function panelsyncSignature(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** A dbt Cloud `job.run.completed` payload as https://docs.getdbt.com/docs/deploy/webhooks shows it. */
function dbtCompleted(jobId: string, runStatus: string, timestamp = new Date().toISOString()): string {
  return JSON.stringify({
    accountId: 1,
    eventId: 'wev_2L6ZDoilyiWzKkSA59Gmc2d7FDD',
    timestamp,
    eventType: 'job.run.completed',
    webhookName: 'panelsync',
    data: {
      jobId,
      jobName: 'Daily Job (dbt build)',
      runId: '12345',
      environmentId: '1234',
      environmentName: 'Production',
      dbtVersion: '',
      projectName: 'Analytics',
      runReason: '',
      runStartedAt: '2023-01-31T19:28:07Z',
      runFinishedAt: '2023-01-31T19:29:32Z',
      runStatus,
      runStatusMessage: 'None',
    },
  });
}

describe('inbound webhooks and ?wait', () => {
  let served: Awaited<ReturnType<typeof serveOrchestration>> | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${served!.server.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }).then(async (r) => {
      const text = await r.text();
      served!.seen.push(text);
      return { status: r.status, body: JSON.parse(text) };
    });

  it('runs the syncs of a signed call, and refuses a wrong, stale or missing signature with 401 and no run', async () => {
    served = await serveOrchestration(
      { orders: {}, refunds: {} },
      { 'after-dbt': { secret: '${HOOK_SECRET}', syncs: ['orders', 'refunds'] } },
    );
    const { api, runs } = served;
    const body = '{"source": "airflow"}';
    const now = Math.floor(Date.now() / 1000);
    const refused: Array<Record<string, string>> = [
      { 'X-Panelsync-Signature': panelsyncSignature('not-the-hook-secret-0000', body) },
      { 'X-Panelsync-Signature': panelsyncSignature(HOOK_SECRET, '{"source": "someone else"}') },
      { 'X-Panelsync-Signature': panelsyncSignature(HOOK_SECRET, body, now - 301) },
      { 'X-Panelsync-Signature': panelsyncSignature(HOOK_SECRET, body, now + 400) },
      { 'X-Panelsync-Signature': `t=${now}` },
      {},
      // The API token is no signature.
      { authorization: `Bearer ${API_TOKEN}` },
    ];
    for (const headers of refused) {
      const answer = await post('/api/v1/hooks/after-dbt', body, headers);
      expect(answer.status, JSON.stringify(headers)).toBe(401);
      expect(answer.body.error.code).toBe('UNAUTHORIZED');
    }
    expect((await post('/api/v1/hooks/after-dbt', body, { 'X-Panelsync-Signature': panelsyncSignature(HOOK_SECRET, body, now - 301) })).body.error.message).toMatch(
      /the signed time t=\d+ is 30\d s behind the server's clock \(at most 300 s\)/,
    );
    expect(await runs('orders')).toEqual([]);
    expect((await api('/api/v1/syncs')).body.syncs.map((s: { running: unknown; queued: boolean }) => [s.running, s.queued])).toEqual([[null, false], [null, false]]);
    expect((await post('/api/v1/hooks/nope', body, { 'X-Panelsync-Signature': panelsyncSignature(HOOK_SECRET, body) })).status).toBe(404);

    const accepted = await post('/api/v1/hooks/after-dbt', body, { 'X-Panelsync-Signature': panelsyncSignature(HOOK_SECRET, body) });
    expect(accepted).toEqual({
      status: 202,
      body: {
        hook: 'after-dbt',
        runs: [
          { sync: 'orders', run_id: expect.stringMatching(/^r/), queued: false },
          { sync: 'refunds', run_id: expect.stringMatching(/^r/), queued: false },
        ],
      },
    });
    // ?wait holds the answer until the run has ended.
    const runId = accepted.body.runs[0].run_id as string;
    const waited = await api(`/api/v1/runs/${runId}?wait=30`);
    expect(waited.body).toMatchObject({ run_id: runId, status: 'success', trigger: 'hook', triggered_by: { hook: 'after-dbt' } });
    expect((await api(`/api/v1/runs/${runId}?wait=301`)).body.error).toEqual({ code: 'BAD_REQUEST', message: 'wait must be a whole number from 0 to 300, got "301"' });
  });

  it("accepts dbt Cloud's job.run.completed webhook as dbt Cloud signs it, and starts only the syncs of a successful run of a listed job", async () => {
    served = await serveOrchestration(
      { orders: {}, refunds: {} },
      { dbt: { format: 'dbt-cloud', secret: '${DBT_SECRET}', jobs: { '123': ['refunds'] } } },
    );
    const { runs, ended } = served;
    const sign = (body: string, secret = DBT_SECRET) => ({ authorization: createHmac('sha256', secret).update(body).digest('hex') });

    const success = dbtCompleted('123', 'Success');
    expect((await post('/api/v1/hooks/dbt', success, sign(success, 'not-the-dbt-secret-00000'))).status).toBe(401);
    expect((await post('/api/v1/hooks/dbt', success, {})).status).toBe(401);
    const stale = dbtCompleted('123', 'Success', new Date(Date.now() - 10 * 60_000).toISOString());
    expect((await post('/api/v1/hooks/dbt', stale, sign(stale))).status).toBe(401);
    const errored = dbtCompleted('123', 'Errored');
    expect(await post('/api/v1/hooks/dbt', errored, sign(errored))).toEqual({
      status: 200,
      body: { hook: 'dbt', runs: [], ignored: 'dbt Cloud run of job 123 ended Errored, not Success' },
    });
    const otherJob = dbtCompleted('999', 'Success');
    expect((await post('/api/v1/hooks/dbt', otherJob, sign(otherJob))).body).toEqual({ hook: 'dbt', runs: [], ignored: 'job 999 is not under hooks.dbt.jobs' });
    expect(await runs('refunds')).toEqual([]);

    const accepted = await post('/api/v1/hooks/dbt', success, sign(success));
    expect(accepted).toEqual({ status: 202, body: { hook: 'dbt', runs: [{ sync: 'refunds', run_id: expect.any(String), queued: false }] } });
    const [run] = await ended('refunds');
    expect(run).toMatchObject({ run_id: accepted.body.runs[0].run_id, trigger: 'hook', triggered_by: { hook: 'dbt', dbt_job_id: '123', dbt_run_id: '12345' } });
    expect(await runs('orders')).toEqual([]);
  });

  it('?wait answers with the run still going when the wait is over, and at its end otherwise', async () => {
    served = await serveOrchestration({ orders: {} });
    const { api, chinook } = served;
    await chinook.knobs({ latency_ms: 2_500 });
    const runId = (await api('/api/v1/syncs/orders/trigger', { method: 'POST' })).body.run_id as string;
    let started = Date.now();
    const early = await api(`/api/v1/runs/${runId}?wait=1`);
    const earlyMs = Date.now() - started;
    expect(early.body.status).toBe('running');
    expect(earlyMs).toBeGreaterThanOrEqual(950);
    expect(earlyMs).toBeLessThan(2_000);
    started = Date.now();
    const done = await api(`/api/v1/runs/${runId}?wait=60`);
    expect(done.body.status).toBe('success');
    // It answered at the run's end (the emulator's latency: a few seconds), not after 60 s.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
