/**
 * A channel counts as told of an alert only once the alert was delivered. Real runs against the
 * emulator, the webhook a real local HTTP server that is down (connections refused), then up:
 * - the alert it missed is sent at the next run that finds the state unchanged, once, and the
 *   recovery follows when the state clears; a channel that never got the alert gets no recovery;
 * - an alert still being retried when the next run clears the state is followed by its recovery
 *   (never overtaken), or, when it is given up, by nothing (watchers of one store, as the server);
 * - `panelsync serve` logs an undelivered notice at pino's warn level.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchRun, type RunWatcher } from '../../src/alerts/index.ts';
import type { Project } from '../../src/config/load-project.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import type { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { apiClient, spawnServe, waitFor, writeServerProject } from '../server/server-fixture.ts';
import { closedPort, createAlertProject, hostOf, openStore, runWithAlerts, type AlertProject } from './alert-project.ts';

const BOTH_LEVELS = ['warning', 'critical'];

describe('a channel whose alert was not delivered', () => {
  let p: AlertProject;
  beforeEach(async () => {
    p = await createAlertProject();
    // Slack and the webhook hear of every level; the other channels are left out.
    p.writeAlerts({
      defaults: {
        recipients: [
          { channel: 'team-slack', levels: BOTH_LEVELS },
          { channel: 'hook', levels: BOTH_LEVELS },
        ],
        rejected_rows: { warning: 0.01, critical: 0.2 },
      },
    });
  });
  afterEach(() => p?.close());

  const hooks = () => p.webhook.received.map((r) => [r.body.kind, r.body.level, r.body.from, r.body.to]);
  const slackTexts = () => p.slack.received.map((r) => r.body.text);
  const refused = () => `the webhook at ${hostOf(p.webhook.origin)} could not be reached: ECONNREFUSED`;

  /** Syncs everything (ok), then gets 2 of 59 rows rejected on every run from now on (warning). */
  async function startRejecting() {
    const first = await runWithAlerts(p);
    expect(first.summary.status).toBe('success');
    await p.chinook.knobs({ reject_email_pattern: '^(luisg@embraer\\.com\\.br|leonekohler@surfeu\\.de)$' });
    p.chinook.db.prepare("UPDATE Customer SET City = City || '.' WHERE CustomerId <= 2").run();
  }

  async function toldChannels(): Promise<string[]> {
    const project = await p.load();
    const store = openStore(project);
    try {
      return store.alertStates(SYNC).find((s) => s.trigger === 'rejected_rows')!.notifiedChannels.map((n) => n.channel);
    } finally {
      store.close();
    }
  }

  it('is alerted at the next run once the server is back, not again while the state holds, and hears the recovery', async () => {
    await startRejecting();
    await p.webhook.goDown();
    let run = await runWithAlerts(p);
    expect(run.summary.status).toBe('warning');
    expect(run.summary.rejected.changed).toBe(2);
    expect(run.logged).toEqual([
      {
        level: 'warn',
        line: expect.stringContaining(
          `the warning alert on rejected rows for sync "${SYNC}" was not delivered to channel "hook" (webhook) after 3 attempts: ${refused()}`,
        ),
      },
    ]);
    expect(slackTexts()).toHaveLength(1);
    expect(await toldChannels()).toEqual(['team-slack']);

    // The server is back; the next run finds the rows rejected again: the webhook gets its alert now.
    await p.webhook.comeUp();
    run = await runWithAlerts(p);
    expect(run.summary.rejected.changed).toBe(2);
    expect(run.log).toEqual([]);
    expect(hooks()).toEqual([['alert', 'warning', 'warning', 'warning']]);
    expect(p.webhook.received[0]!.body.reason).toMatch(/^2 of 59 rows/);
    expect(slackTexts()).toHaveLength(1);
    expect(await toldChannels()).toEqual(['hook', 'team-slack']);

    // Still warning: nobody is told again.
    run = await runWithAlerts(p);
    expect(run.summary.rejected.changed).toBe(2);
    expect(hooks()).toHaveLength(1);
    expect(slackTexts()).toHaveLength(1);

    await p.chinook.knobs({ reject_email_pattern: null });
    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('success');
    expect(hooks()).toEqual([
      ['alert', 'warning', 'warning', 'warning'],
      ['recovery', 'warning', 'warning', 'ok'],
    ]);
    expect(slackTexts()).toEqual([expect.stringMatching(/^\[panelsync\] WARNING /), `[panelsync] RECOVERED ${SYNC}: rejected rows back to ok`]);
    expect(await toldChannels()).toEqual([]);
    expect(p.invalidRequests()).toEqual([]);
  });

  it('gets no recovery of an alert it never received', async () => {
    await startRejecting();
    await p.webhook.goDown();
    let run = await runWithAlerts(p);
    expect(run.summary.status).toBe('warning');
    // Still down at the next run: the alert is tried again, and fails again.
    run = await runWithAlerts(p);
    expect(run.summary.rejected.changed).toBe(2);
    expect(run.logged).toEqual([{ level: 'warn', line: expect.stringContaining(`channel "hook" (webhook) after 3 attempts: ${refused()}`) }]);

    await p.webhook.comeUp();
    await p.chinook.knobs({ reject_email_pattern: null });
    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('success');
    expect(p.webhook.arrivals).toBe(0);
    expect(slackTexts()).toEqual([expect.stringMatching(/^\[panelsync\] WARNING /), `[panelsync] RECOVERED ${SYNC}: rejected rows back to ok`]);
    expect(await toldChannels()).toEqual([]);
  });
});

describe('an alert still being delivered when the next run clears the state (watchers of one store)', () => {
  let p: AlertProject;
  let project: Project;
  let store: SqliteStateStore;
  const watchers: RunWatcher[] = [];

  beforeEach(async () => {
    p = await createAlertProject();
    // Only the webhook listens; each attempt gets 1 s.
    p.writeAlerts({
      delivery: { max_attempts: 3, retry_backoff_ms: 20, timeout_ms: 1_000 },
      defaults: { recipients: [{ channel: 'hook', levels: BOTH_LEVELS }], rejected_rows: { warning: 0.01, critical: 0.2 } },
    });
    project = await p.load();
    store = openStore(project);
  });
  afterEach(async () => {
    await Promise.all(watchers.splice(0).map((w) => w.settled({ timeoutMs: 5_000 })));
    store?.close();
    await p?.close();
  });

  /** One run watched by a watcher of its own on the shared store, as `panelsync serve` does; deliveries go on. */
  async function watchedRun() {
    const events = new SyncEvents();
    const watcher = watchRun({ project, store, events, log: () => {} });
    watchers.push(watcher);
    const summary = await runSync({ project, sync: SYNC, events, store });
    watcher.stop();
    return summary;
  }

  /** An ok run, then a warning run whose alert to the webhook is in flight when this returns. */
  async function warningInFlight() {
    expect((await watchedRun()).status).toBe('success');
    await p.chinook.knobs({ reject_email_pattern: '^(luisg@embraer\\.com\\.br|leonekohler@surfeu\\.de)$' });
    p.chinook.db.prepare("UPDATE Customer SET City = City || '.' WHERE CustomerId <= 2").run();
    expect((await watchedRun()).status).toBe('warning');
    await p.chinook.knobs({ reject_email_pattern: null });
  }

  it('its recovery waits for it and follows it', async () => {
    p.webhook.hangNext(2); // the alert is delivered at the third attempt, after 2 s
    await warningInFlight();
    const cleared = await watchedRun();
    expect(cleared.status).toBe('success');
    expect(p.webhook.received).toHaveLength(0); // the recovery did not go ahead of the alert
    await Promise.all(watchers.map((w) => w.settled()));
    expect(p.webhook.received.map((r) => [r.body.kind, r.body.level, r.body.to])).toEqual([
      ['alert', 'warning', 'warning'],
      ['recovery', 'warning', 'ok'],
    ]);
    expect(p.webhook.arrivals).toBe(4);
    // The alert took its 3 attempts (the two hangs); the recovery, sent after it, went through at once.
    expect(store.alertDeliveries(SYNC).map((d) => [d.channel, d.lastStatus, d.attempts])).toEqual([['hook', 'delivered', 1]]);
  });

  it('its recovery is not sent when it is given up', async () => {
    p.webhook.hangNext(3); // every attempt of the alert times out
    await warningInFlight();
    expect((await watchedRun()).status).toBe('success');
    await Promise.all(watchers.map((w) => w.settled()));
    expect(p.webhook.arrivals).toBe(3);
    expect(p.webhook.received).toEqual([]);
    expect(store.alertStates(SYNC).find((s) => s.trigger === 'rejected_rows')!.notifiedChannels).toEqual([]);
  });
});

describe('panelsync serve', () => {
  let p: AlertProject | undefined;
  let stopChild: (() => void) | undefined;
  afterEach(async () => {
    stopChild?.();
    await p?.close();
    p = stopChild = undefined;
  });

  it('logs a notice not delivered at the warn level', async () => {
    p = await createAlertProject();
    const port = await closedPort();
    p.writeAlerts({
      channels: { down: { type: 'webhook', url: `http://127.0.0.1:${port}/hooks/panelsync` } },
      defaults: { recipients: [{ channel: 'down', levels: BOTH_LEVELS }] },
    });
    writeServerProject(p.chinook);
    await p.chinook.knobs({ fail_next: [{ status: 401 }] });
    const serve = await spawnServe(p.chinook);
    stopChild = () => serve.child.kill('SIGKILL');

    const trigger = await apiClient(serve.url)(`/api/v1/syncs/${SYNC}/trigger`, { method: 'POST' });
    expect(trigger.status).toBe(202);
    const logLines = () =>
      serve
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string });
    await waitFor(() => logLines().some((l) => l.msg.includes('was not delivered')), 15_000, 'the delivery failure line');
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    // Read once the server has stopped: the run's own "ended" line may come after the delivery's.
    const lines = logLines();

    // pino's levels: 30 info, 40 warn.
    const failure = lines.find((l) => l.msg.includes('was not delivered'))!;
    expect(failure.level).toBe(40);
    expect(failure.msg).toContain(`the critical alert on failed runs for sync "${SYNC}" was not delivered to channel "down" (webhook) after 3 attempts`);
    expect(lines.find((l) => l.msg.includes('ended failed'))!.level).toBe(30);
  });
});
