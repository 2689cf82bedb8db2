/**
 * Recipients added to a sync that is already alerting, with real runs against the emulator and
 * notices received by the local fake services: the next run that finds the trigger still in its
 * state tells the new recipient once; a recovery goes only to channels that were told of the alert.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncAlertStatus } from '../../src/alerts/index.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { createAlertProject, openStore, runWithAlerts, type AlertProject } from './alert-project.ts';

type Recipient = { channel: string; levels: string[] };

describe('recipients added while a trigger is already alerting', () => {
  let p: AlertProject;
  beforeEach(async () => {
    p = await createAlertProject();
  });
  afterEach(() => p?.close());

  const recipients = (list: Recipient[]) => p.writeAlerts({ defaults: { recipients: list, rejected_rows: { warning: 0.01, critical: 0.2 } } });
  const hook = { channel: 'hook', levels: ['warning', 'critical'] };
  const hooks = () => p.webhook.received.map((r) => [r.body.kind, r.body.trigger, r.body.level, r.body.from, r.body.to]);

  async function storedTrigger(trigger: string) {
    const project = await p.load();
    const store = openStore(project);
    try {
      return syncAlertStatus(project, store, SYNC).triggers.find((t) => t.trigger === trigger)!;
    } finally {
      store.close();
    }
  }

  it('rejected rows critical since the first run: a webhook added later is alerted once, then hears the recovery', async () => {
    recipients([]);
    // 30 of the 59 customers are refused by the API on every run: 50.8% rejected, critical.
    const emails = (p.chinook.db.prepare('SELECT Email FROM Customer ORDER BY CustomerId LIMIT 30').pluck().all() as string[]).map((e) =>
      e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    );
    await p.chinook.knobs({ reject_email_pattern: `^(${emails.join('|')})$` });

    let run = await runWithAlerts(p);
    expect(run.summary.rejected.added).toBe(30);
    expect(await storedTrigger('rejected_rows')).toMatchObject({ state: 'critical', notified_at: null });

    recipients([hook]);
    run = await runWithAlerts(p);
    expect(run.summary.rejected.added).toBe(30);
    expect(hooks()).toEqual([['alert', 'rejected_rows', 'critical', 'critical', 'critical']]);
    expect(p.webhook.received[0]!.body.reason).toMatch(/^30 of 59 rows \(50.8%\)/);

    // No repeat while the state holds; a channel added now is told, the webhook is not told again.
    run = await runWithAlerts(p);
    expect(hooks()).toHaveLength(1);
    recipients([hook, { channel: 'team-slack', levels: ['critical'] }]);
    run = await runWithAlerts(p);
    expect(hooks()).toHaveLength(1);
    expect(p.slack.received.map((r) => r.body.text)).toEqual([expect.stringMatching(/^\[panelsync\] CRITICAL customers-to-panel: 30 of 59 rows/)]);
    const details = (p.slack.received[0]!.body.blocks![1]!.text as { text: string }).text;
    expect(details).toContain('Trigger: rejected rows (still critical)');

    await p.chinook.knobs({ reject_email_pattern: null });
    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('success');
    expect(hooks()).toEqual([
      ['alert', 'rejected_rows', 'critical', 'critical', 'critical'],
      ['recovery', 'rejected_rows', 'critical', 'critical', 'ok'],
    ]);
    expect(p.slack.received.map((r) => r.body.text)).toHaveLength(2);
    // Channels that were never recipients heard nothing.
    expect([p.pagerduty.received.length, p.twilio.received.length, p.smtp.received.length]).toEqual([0, 0, 0]);
    expect(p.invalidRequests()).toEqual([]);
  });

  it('failed runs: a webhook added while runs keep failing is alerted at the next failed run; one added just before a success hears nothing', async () => {
    recipients([]);
    await p.chinook.knobs({ fail_next: [{ status: 401 }] });
    let run = await runWithAlerts(p);
    expect(run.summary.status).toBe('failed');

    recipients([hook]);
    await p.chinook.knobs({ fail_next: [{ status: 401 }] });
    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('failed');
    expect(hooks()).toEqual([['alert', 'failed_run', 'critical', 'critical', 'critical']]);

    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('success');
    expect(hooks()).toEqual([
      ['alert', 'failed_run', 'critical', 'critical', 'critical'],
      ['recovery', 'failed_run', 'critical', 'critical', 'ok'],
    ]);

    // Failing again before any recipient, then a recipient added just before a run that succeeds.
    recipients([]);
    await p.chinook.knobs({ fail_next: [{ status: 401 }] });
    await runWithAlerts(p);
    recipients([hook]);
    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('success');
    expect(hooks()).toHaveLength(2);
    expect(await storedTrigger('failed_run')).toMatchObject({ state: 'ok' });
  });
});
