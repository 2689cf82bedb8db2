/**
 * Run-after chains in `panelsync serve`, over real HTTP against the emulator: a sync with `after`
 * runs once the syncs it follows have ended (`on: success`: not after a failed run; `on:
 * completion`: after any end, once every followed sync ended), and its run records the runs it
 * followed (API, `panelsync runs`). A cycle of chains is refused by `validate` with its path.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatRuns } from '../../src/cli/runs-command.ts';
import { validateProject } from '../../src/config/validate-project.ts';
import { serveOrchestration } from './orchestration-project.ts';

describe('run-after chains', () => {
  let served: Awaited<ReturnType<typeof serveOrchestration>> | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  it('fire on success and not on failure with on: success, and on any end of every followed sync with on: completion', async () => {
    served = await serveOrchestration({
      'up-ok': {},
      'up-bad': { destination: 'refused' },
      'after-ok': { schedule: { after: ['up-ok'] } },
      'after-bad': { schedule: { after: ['up-bad'], on: 'success' } },
      'after-both': { schedule: { after: ['up-ok', 'up-bad'], on: 'completion' } },
    });
    const { api, runs, ended } = served;
    // Nothing runs before the followed syncs do.
    expect(await runs('after-ok')).toEqual([]);
    const ok = (await api('/api/v1/syncs/up-ok/trigger', { method: 'POST' })).body.run_id as string;
    expect((await ended('up-ok'))[0]).toMatchObject({ run_id: ok, status: 'success' });
    const [afterOk] = await ended('after-ok');
    expect(afterOk).toMatchObject({ trigger: 'after', status: 'success', triggered_by: { after: [{ sync: 'up-ok', run_id: ok, status: 'success' }] } });
    // up-bad has not ended yet: after-both waits for it.
    expect(await runs('after-both')).toEqual([]);

    const bad = (await api('/api/v1/syncs/up-bad/trigger', { method: 'POST' })).body.run_id as string;
    expect((await ended('up-bad'))[0]).toMatchObject({ run_id: bad, status: 'failed' });
    const [afterBoth] = await ended('after-both');
    expect(afterBoth).toMatchObject({
      trigger: 'after',
      status: 'success',
      triggered_by: { after: [{ sync: 'up-ok', run_id: ok, status: 'success' }, { sync: 'up-bad', run_id: bad, status: 'failed' }] },
    });
    // The chains of up-bad's end were decided together: after-both ran, after-bad (on: success) did not.
    expect(await runs('after-bad')).toEqual([]);
    // Each followed run fires a chain once: after-ok and after-both ran once each.
    expect(await runs('after-ok')).toHaveLength(1);
    expect(await runs('after-both')).toHaveLength(1);
    // The detail, and `panelsync runs`, say what started the run.
    expect((await api(`/api/v1/runs/${afterOk!.run_id}`)).body.triggered_by).toEqual({ after: [{ sync: 'up-ok', run_id: ok, status: 'success' }] });
    const text = formatRuns([afterBoth as never], undefined, (command) => `panelsync ${command}`);
    expect(text).toContain(`after up-ok ${ok} (success), up-bad ${bad} (failed)`);
    // The sync's schedule, as the API shows it.
    expect((await api('/api/v1/syncs/after-both')).body).toMatchObject({ schedule: { after: ['up-ok', 'up-bad'], on: 'completion' }, next_run_at: null });
  });

  it('are refused by validate when they form a cycle, with its path', () => {
    const sync = (schedule?: Record<string, unknown>) => ({ model: 'people', destination: 'panel', match: 'email', ...(schedule ? { schedule } : {}) });
    const { issues } = validateProject({
      version: 1,
      sources: { db: { type: 'sqlite', path: 'x.sqlite' } },
      destinations: { panel: { type: 'user-interviews', api_key: 'a-test-api-key-4411', environment: 'production' } },
      models: { people: { source: 'db', primary_key: 'id', sql: 'SELECT 1' } },
      syncs: {
        orders: sync({ after: ['refunds'] }),
        customers: sync({ interval: '1h' }),
        invoices: sync({ after: ['orders', 'customers'] }),
        refunds: sync({ after: ['invoices'], on: 'completion' }),
        self: sync({ after: ['self'] }),
        typo: sync({ after: ['custmers'] }),
      },
    });
    expect(issues).toEqual([
      { path: 'syncs.typo.schedule.after[0]', message: 'unknown sync "custmers" (known: orders, customers, invoices, refunds, self, typo)' },
      {
        path: 'syncs.orders.schedule.after',
        message:
          'run-after chains form a cycle: orders → refunds → invoices → orders (each runs after the next), so none of them would ever start; remove one of these syncs from an after list',
      },
      { path: 'syncs.self.schedule.after', message: 'sync "self" runs after itself (self → self); remove it from its own after list' },
    ]);
  });

  it('need no variable of plan and run: a hook secret unset, a followed sync whose destination is unset', () => {
    const raw = {
      version: 1,
      sources: { db: { type: 'sqlite', path: 'x.sqlite' } },
      destinations: {
        panel: { type: 'user-interviews', api_key: 'a-test-api-key-4411', environment: 'production' },
        other: { type: 'user-interviews', api_key: '${OTHER_API_KEY}', environment: 'production' },
      },
      models: { people: { source: 'db', primary_key: 'id', sql: 'SELECT 1' } },
      syncs: {
        refunds: { model: 'people', destination: 'other', match: 'email' },
        orders: { model: 'people', destination: 'panel', match: 'email', schedule: { after: ['refunds'] } },
      },
      hooks: { 'after-dbt': { secret: '${HOOK_SECRET}', syncs: ['refunds', 'orders'] } },
    };
    const run = validateProject(raw, {}, { use: { sync: 'orders', alerts: true } });
    expect(run.issues).toEqual([]);
    expect(run.project?.hooks).toBeUndefined();
    expect(run.project?.syncs.orders?.schedule).toBeUndefined();
    // validate (and serve) still need them.
    expect(validateProject(raw, {}).issues.map((i) => i.path)).toEqual(['destinations.other.api_key', 'hooks.after-dbt.secret']);
  });
});
