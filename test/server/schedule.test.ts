/**
 * Schedules: parsing and validation of `syncs.NAME.schedule`, and the scheduler of `panelsync
 * serve` over real HTTP against the emulator — an overdue sync runs once at start however many
 * slots it missed, an interval fires, a cron slot fires once (with an injected clock), and a sync
 * never runs twice at once. A due run that cannot be fired is tried again after a backoff, not at
 * its next slot.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateProject } from '../../src/config/validate-project.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import { Scheduler, type ScheduledLauncher } from '../../src/scheduler/scheduler.ts';
import { parseCron, parseInterval, parseSchedule, ScheduleError } from '../../src/scheduler/sync-schedule.ts';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { apiClient, loadServerProject, ManualClock, startTestServer, waitFor, writeServerProject } from './server-fixture.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('schedule parsing', () => {
  it('reads intervals in s, m, h and d', () => {
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval('15m')).toBe(900_000);
    expect(parseInterval('6h')).toBe(6 * HOUR);
    expect(parseInterval('1d')).toBe(DAY);
    for (const bad of ['0m', '15', '15x', '1.5h', 'm', ' 15m', '15M', '-1s']) {
      expect(() => parseInterval(bad), bad).toThrow(ScheduleError);
    }
  });

  it('reads five-field cron expressions in UTC and refuses the rest with what to write', () => {
    const cron = parseCron('0 6 * * *');
    expect(cron.nextRun(new Date('2025-03-01T05:59:59Z'))?.toISOString()).toBe('2025-03-01T06:00:00.000Z');
    expect(cron.nextRun(new Date('2025-03-01T06:00:00Z'))?.toISOString()).toBe('2025-03-02T06:00:00.000Z');
    expect(parseCron('*/15 9-17 * * MON-FRI').nextRun(new Date('2025-03-01T00:00:00Z'))?.toISOString()).toBe('2025-03-03T09:00:00.000Z');
    expect(() => parseCron('61 * * * *')).toThrow(/cron expression "61 \* \* \* \*" does not parse \(.*minute.*\); write five fields/);
    expect(() => parseCron('0 6 * * * *')).toThrow(/does not parse/);
    expect(() => parseCron('every day')).toThrow(/does not parse/);
    expect(() => parseCron('0 0 31 2 *')).toThrow(/never matches a date/);
  });

  it('is due from the last run start: at once for a new interval sync, at the next slot for a new cron sync, once when overdue', () => {
    const since = new Date('2025-03-01T12:34:00Z');
    const interval = parseSchedule({ interval: '15m' });
    expect(interval.nextDue(null, since)).toEqual(since);
    expect(interval.nextDue(new Date('2025-03-01T12:30:00Z'), since)?.toISOString()).toBe('2025-03-01T12:45:00.000Z');
    const cron = parseSchedule({ cron: '0 6 * * *' });
    expect(cron.nextDue(null, since)?.toISOString()).toBe('2025-03-02T06:00:00.000Z');
    // Down for three days: one due time in the past (run once now), not three.
    expect(cron.nextDue(new Date('2025-02-26T06:00:00Z'), since)?.toISOString()).toBe('2025-02-27T06:00:00.000Z');
    expect(() => parseSchedule({})).toThrow(/exactly one of interval or cron \(found neither\)/);
    expect(() => parseSchedule({ interval: '1h', cron: '0 * * * *' })).toThrow(/found both/);
  });
});

describe('schedule and server in the project file', () => {
  const project = (sync: Record<string, unknown>, server?: Record<string, unknown>) => ({
    version: 1,
    sources: { db: { type: 'sqlite', path: 'x.sqlite' } },
    destinations: { panel: { type: 'user-interviews', api_key: 'a-test-api-key-4411', environment: 'production' } },
    models: { people: { source: 'db', primary_key: 'id', sql: 'SELECT 1' } },
    syncs: { people: { model: 'people', destination: 'panel', match: 'email', ...sync } },
    ...(server ? { server } : {}),
  });
  const issues = (raw: unknown, env = {}) => validateProject(raw, env).issues;

  it('accepts an interval, a cron expression or no schedule', () => {
    expect(issues(project({ schedule: { interval: '15m' } }))).toEqual([]);
    expect(issues(project({ schedule: { cron: '0 6 * * *' } }))).toEqual([]);
    expect(validateProject(project({})).project?.syncs.people?.schedule).toBeUndefined();
  });

  it('says what to fix in a bad schedule', () => {
    expect(issues(project({ schedule: { interval: '15x' } }))).toEqual([
      { path: 'syncs.people.schedule.interval', message: 'must be a whole number above 0 and a unit s, m, h or d, e.g. "15m"' },
    ]);
    expect(issues(project({ schedule: { interval: 15 } }))).toEqual([{ path: 'syncs.people.schedule.interval', message: 'expected a string, got a number' }]);
    expect(issues(project({ schedule: { cron: '0 25 * * *' } }))).toEqual([
      { path: 'syncs.people.schedule.cron', message: expect.stringMatching(/^cron expression "0 25 \* \* \*" does not parse \(.*hour.*\); write five fields, minute hour day-of-month month day-of-week, in UTC, e.g. "0 6 \* \* \*"$/) },
    ]);
    expect(issues(project({ schedule: { interval: '1h', cron: '0 6 * * *' } }))).toEqual([
      { path: 'syncs.people.schedule', message: expect.stringContaining('give exactly one of interval or cron (found both)') },
    ]);
    expect(issues(project({ schedule: {} }))).toEqual([
      { path: 'syncs.people.schedule', message: expect.stringContaining('(found neither)') },
    ]);
    expect(issues(project({ schedule: { every: '1h' } }))).toContainEqual({
      path: 'syncs.people.schedule.every',
      message: 'unknown key "every"; remove it or check its spelling (known: interval, cron, after, on)',
    });
  });

  it('takes server.api_token as a secret and refuses a short one', () => {
    const token = 'f00dfeedf00dfeed1234';
    const literal = validateProject(project({}, { api_token: token, port: 9090 }));
    expect(literal.issues).toEqual([]);
    expect(literal.project?.server).toEqual({ api_token: token, port: 9090 });
    expect(literal.project?.secrets).toContain(token);
    const fromEnv = validateProject(project({}, { api_token: '${PANELSYNC_API_TOKEN}' }), { PANELSYNC_API_TOKEN: token });
    expect(fromEnv.project?.secrets).toContain(token);
    const short = issues(project({}, { api_token: 'abc123' }));
    expect(short).toEqual([{ path: 'server.api_token', message: expect.stringContaining('at least 16 characters') }]);
    expect(JSON.stringify(short)).not.toContain('abc123');
    expect(issues(project({}, { api_token: 'has spaces in it, 12345' }))).toEqual([
      { path: 'server.api_token', message: expect.stringContaining('as in a bearer token (RFC 6750)') },
    ]);
    expect(issues(project({}, { port: 8080 }))[0]).toMatchObject({ path: 'server.api_token', message: expect.stringContaining('missing') });
  });
});

describe('the scheduler when a due run cannot be fired', () => {
  const DAILY = '0 6 * * *';
  /** A scheduler of one daily sync on a clock moved by hand, over a launcher whose triggers throw while `failing` > 0. */
  function dailyScheduler(options: { failingTriggers?: number; lastStartedAt: () => Date | null }) {
    const clock = new ManualClock(Date.parse('2025-03-01T12:00:00Z'));
    const fired: number[] = [];
    const errors: Array<[string, string, number]> = [];
    let failing = options.failingTriggers ?? 0;
    const launcher: ScheduledLauncher = {
      trigger: () => {
        if (failing-- > 0) throw new Error('database is locked');
        fired.push(clock.now());
      },
      busy: () => false,
      onRun: () => () => {},
    };
    const scheduler = new Scheduler({
      schedules: new Map([[SYNC, parseSchedule({ cron: DAILY })]]),
      launcher,
      clock,
      lastStartedAt: options.lastStartedAt,
      onError: (sync, error, retryInMs) => errors.push([sync, error.message, retryInMs]),
    });
    return { clock, scheduler, fired, errors, slot: Date.parse('2025-03-02T06:00:00Z') };
  }

  it('tries a refused trigger again after 1 s, 2 s… instead of at the next slot', () => {
    const { clock, scheduler, fired, errors, slot } = dailyScheduler({ failingTriggers: 2, lastStartedAt: () => null });
    scheduler.start();
    clock.advanceTo(slot);
    expect(errors).toEqual([[SYNC, 'database is locked', 1_000]]);
    clock.advanceTo(slot + 999);
    expect(errors).toHaveLength(1);
    clock.advanceTo(slot + 1_000);
    expect(errors).toEqual([[SYNC, 'database is locked', 1_000], [SYNC, 'database is locked', 2_000]]);
    expect(scheduler.nextRunAt(SYNC)?.getTime()).toBe(slot); // still due
    clock.advanceTo(slot + 3_000);
    expect(fired).toEqual([slot + 3_000]);
    expect(scheduler.nextRunAt(SYNC)?.getTime()).toBe(slot + DAY);
    scheduler.stop();
  });

  it('never throws out of its timers when reading when a sync last ran fails, and fires once the read works', () => {
    let reads = 0;
    const { clock, scheduler, fired, errors } = dailyScheduler({
      lastStartedAt: () => {
        if (++reads <= 2) throw new Error('disk I/O error');
        return new Date('2025-02-20T06:00:00Z'); // overdue
      },
    });
    const start = clock.now();
    expect(() => scheduler.start()).not.toThrow();
    expect(errors).toEqual([[SYNC, 'disk I/O error', 1_000]]);
    expect(() => clock.advanceTo(start + 1_000)).not.toThrow();
    expect(errors.map((e) => e[2])).toEqual([1_000, 2_000]);
    clock.advanceTo(start + 3_000);
    expect(fired).toEqual([start + 3_000]);
    scheduler.stop();
  });
});

describe('the scheduler of panelsync serve', () => {
  let chinook: ChinookProject | undefined;
  let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
  afterEach(async () => {
    await server?.close();
    await chinook?.close();
    server = chinook = undefined;
  });

  type Run = { run_id: string; trigger: string; status: string; started_at: string; finished_at: string | null };
  const runsOf = async (api: ReturnType<typeof apiClient>): Promise<Run[]> => (await api(`/api/v1/syncs/${SYNC}/runs?limit=100`)).body.runs;

  it('runs a sync that missed its slots while the server was down once at start, not once per missed slot', async () => {
    chinook = await createChinookProject();
    writeServerProject(chinook, { cron: '0 6 * * *' });
    const first = await runSync({ project: await loadServerProject(chinook), sync: SYNC });
    // The last run started three days and a bit ago: three 06:00 slots were missed.
    const db = new Database(join(chinook.dir, 'state/state.db'));
    const longAgo = new Date(Date.now() - 3 * DAY - HOUR).toISOString();
    db.prepare('UPDATE runs SET started_at = ?, finished_at = ? WHERE id = ?').run(longAgo, longAgo, first.run_id);
    db.close();

    server = await startTestServer(chinook);
    const api = apiClient(server.url);
    const scheduled = await waitFor(async () => {
      const run = (await runsOf(api)).find((r) => r.trigger === 'schedule');
      return run?.status === 'success' ? run : undefined;
    }, 15_000, 'the scheduled run');
    await new Promise((resolve) => setTimeout(resolve, 700)); // room for a wrong second run
    const runs = await runsOf(api);
    expect(runs.filter((r) => r.trigger === 'schedule')).toHaveLength(1);
    expect(runs).toHaveLength(2);
    const sync = (await api('/api/v1/syncs')).body.syncs[0];
    expect(sync).toMatchObject({ schedule: { cron: '0 6 * * *' }, last_run: { run_id: scheduled.run_id }, health: 'ok' });
    expect(sync.next_run_at).toBe(parseCron('0 6 * * *').nextRun(new Date(scheduled.started_at))!.toISOString());
    expect(Date.parse(sync.next_run_at)).toBeGreaterThan(Date.now());
  });

  it('waits for the first slot of a cron sync that never ran, then fires each slot once (injected clock)', async () => {
    chinook = await createChinookProject();
    writeServerProject(chinook, { cron: '0 6 * * *' });
    const clock = new ManualClock(Date.now());
    server = await startTestServer(chinook, { clock });
    const api = apiClient(server.url);
    const slot = parseCron('0 6 * * *').nextRun(new Date(clock.now()))!.getTime();
    expect((await api('/api/v1/syncs')).body.syncs[0].next_run_at).toBe(new Date(slot).toISOString());

    clock.advanceTo(slot - 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await runsOf(api)).toEqual([]);

    clock.advanceTo(slot + 5);
    const first = await waitFor(async () => (await runsOf(api)).find((r) => r.status === 'success'), 15_000, 'the 06:00 run');
    expect(first.trigger).toBe('schedule');
    clock.advanceTo(slot + 60_000); // a minute later: nothing more is due
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await runsOf(api)).toHaveLength(1);
    expect((await api('/api/v1/syncs')).body.syncs[0].next_run_at).toBe(new Date(slot + DAY).toISOString());

    clock.advanceTo(slot + DAY);
    await waitFor(async () => (await runsOf(api)).filter((r) => r.status === 'success').length === 2, 15_000, 'the next day\'s run');
    expect((await runsOf(api)).every((r) => r.trigger === 'schedule')).toBe(true);
  });

  it('fires an interval schedule from the last start, and never starts a run of a sync while one runs', async () => {
    chinook = await createChinookProject();
    writeServerProject(chinook, { interval: '1s' });
    await chinook.knobs({ latency_ms: 700 }); // the first run (2 calls) outlasts the interval
    server = await startTestServer(chinook);
    const api = apiClient(server.url);
    const runs = await waitFor(async () => {
      const list = await runsOf(api);
      return list.filter((r) => r.status === 'success').length >= 3 ? list.reverse() : undefined;
    }, 20_000, 'three scheduled runs');
    const done = runs.filter((r) => r.status === 'success').slice(0, 3);
    expect(done.every((r) => r.trigger === 'schedule')).toBe(true);
    for (let i = 1; i < done.length; i++) {
      const previous = done[i - 1]!;
      const start = Date.parse(done[i]!.started_at);
      // Never two at once, and at least the interval after the previous start.
      expect(start).toBeGreaterThanOrEqual(Date.parse(previous.finished_at!));
      expect(start - Date.parse(previous.started_at)).toBeGreaterThanOrEqual(1_000);
    }
    // The first run took longer than the interval: the next one started right after it ended.
    expect(Date.parse(done[1]!.started_at) - Date.parse(done[0]!.finished_at!)).toBeLessThan(500);
  });
});
