/**
 * Delivery against real local servers: a channel that is down or hangs neither fails nor slows the
 * run, is retried, logged without secrets and recorded on the sync; a transient failure is retried
 * until delivered; a failed run alerts as critical and resolves when the next run succeeds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncAlertStatus } from '../../src/alerts/index.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { SLACK_WEBHOOK_PATH } from './fake-services.ts';
import { ALERT_SECRETS, closedPort, createAlertProject, hostOf, openStore, runWithAlerts, type AlertProject } from './alert-project.ts';

describe('alert delivery', () => {
  let p: AlertProject;
  beforeEach(async () => {
    p = await createAlertProject();
  });
  afterEach(() => p?.close());

  /** A first run that syncs everything, then a change that gets 2 of 59 rows rejected (warning). */
  async function warningRun() {
    const first = await runWithAlerts(p);
    expect(first.summary.status).toBe('success');
    await p.chinook.knobs({ reject_email_pattern: '^(luisg@embraer\\.com\\.br|leonekohler@surfeu\\.de)$' });
    p.chinook.db.prepare("UPDATE Customer SET City = City || '.' WHERE CustomerId <= 2").run();
    return runWithAlerts(p);
  }

  it('a channel that is down or hangs does not fail or slow the run; it is retried, logged and recorded', async () => {
    const port = await closedPort();
    const timeoutMs = 500;
    p.env.SLACK_WEBHOOK_URL = `http://127.0.0.1:${port}${SLACK_WEBHOOK_PATH}`;
    p.writeAlerts({
      delivery: { max_attempts: 3, retry_backoff_ms: 20, timeout_ms: timeoutMs },
      defaults: {
        recipients: [
          { channel: 'team-slack', levels: ['warning'] },
          { channel: 'hook', levels: ['warning'] },
          { channel: 'data-oncall', levels: ['warning'] },
        ],
        rejected_rows: { warning: 0.01 },
      },
    });
    p.webhook.hangNext(3);

    const run = await warningRun();
    expect(run.summary.status).toBe('warning');
    expect(run.summary.rejected.changed).toBe(2);
    // The hanging webhook takes 3 attempts of 500 ms: the run itself returned long before.
    expect(run.settledMs).toBeGreaterThanOrEqual(3 * timeoutMs);
    expect(run.runMs).toBeLessThan(run.settledMs - 2 * timeoutMs);
    expect(p.webhook.arrivals).toBe(3);
    // The healthy channel got its notice.
    expect(p.pagerduty.received.map((r) => r.body.payload?.severity)).toEqual(['warning']);

    expect(run.log).toHaveLength(2);
    expect(run.logged.map((l) => l.level)).toEqual(['warn', 'warn']);
    const slackLine = run.log.find((l) => l.includes('"team-slack"'))!;
    const refused = `the Slack webhook at 127.0.0.1:${port} could not be reached: ECONNREFUSED (connection refused: nothing accepts connections on that port)`;
    expect(slackLine).toContain(
      `the warning alert on rejected rows for sync "customers-to-panel" was not delivered to channel "team-slack" (slack) after 3 attempts: ${refused}`,
    );
    const hookLine = run.log.find((l) => l.includes('"hook"'))!;
    expect(hookLine).toContain(`after 3 attempts: the webhook at ${hostOf(p.webhook.origin)} did not answer: timeout after ${timeoutMs} ms`);
    for (const line of run.log) {
      expect(line).not.toContain('s3cretSlackPathXyz');
      expect(line).not.toContain(ALERT_SECRETS.HOOK_TOKEN);
    }

    const project = await p.load();
    const store = openStore(project);
    try {
      const deliveries = syncAlertStatus(project, store, SYNC).deliveries;
      expect(deliveries.map((d) => [d.channel, d.last_status, d.attempts])).toEqual([
        ['data-oncall', 'delivered', 1],
        ['hook', 'failed', 3],
        ['team-slack', 'failed', 3],
      ]);
      expect(deliveries.find((d) => d.channel === 'team-slack')!.last_error).toBe(refused);
      expect(JSON.stringify(deliveries)).not.toContain('s3cretSlackPathXyz');
    } finally {
      store.close();
    }
  });

  it('retries a transient failure with backoff until delivered, and keeps the last error on the sync', async () => {
    p.writeAlerts({ delivery: { max_attempts: 3, retry_backoff_ms: 50, timeout_ms: 1_000 } });
    p.slack.failNext(2, 503);
    const run = await warningRun();
    expect(run.log).toEqual([]);
    expect(p.slack.arrivals).toBe(3);
    expect(p.slack.received).toHaveLength(1);
    // Backoff 50 ms, then 100 ms, between the three attempts.
    const [t0, t1, t2] = p.slack.arrivalTimes;
    expect(t1! - t0!).toBeGreaterThanOrEqual(50);
    expect(t2! - t1!).toBeGreaterThanOrEqual(100);

    // A permanent refusal is not retried; the sync keeps that error after the next success.
    p.slack.failNext(1, 404);
    await p.chinook.knobs({ reject_email_pattern: null });
    const recovered = await runWithAlerts(p);
    expect(recovered.summary.status).toBe('success');
    expect(p.slack.arrivals).toBe(4);
    const refusal = `the Slack webhook at ${hostOf(p.slack.origin)} answered HTTP 404: injected failure 404`;
    expect(recovered.log).toEqual([expect.stringContaining(`after 1 attempt: ${refusal}`)]);

    const project = await p.load();
    const store = openStore(project);
    try {
      const slack = syncAlertStatus(project, store, SYNC).deliveries.find((d) => d.channel === 'team-slack')!;
      expect(slack).toMatchObject({ last_status: 'failed', attempts: 1, last_error: refusal });
    } finally {
      store.close();
    }
  });

  it('a failed run is critical at once; PagerDuty gets a trigger, then its resolve when a run succeeds', async () => {
    await p.chinook.knobs({ fail_next: [{ status: 401 }] });
    const failed = await runWithAlerts(p);
    expect(failed.summary.status).toBe('failed');
    expect(p.pagerduty.received.map((r) => r.body)).toMatchObject([
      { event_action: 'trigger', dedup_key: `panelsync/${SYNC}/failed_run`, payload: { severity: 'critical', summary: `CRITICAL ${SYNC}: the run failed` } },
    ]);
    expect(p.pagerduty.received[0]!.body.payload!.custom_details!.error).toMatch(/refused with HTTP 401/);
    expect(p.slack.received[0]!.body.text).toBe(`[panelsync] CRITICAL ${SYNC}: the run failed`);
    expect(p.twilio.received).toHaveLength(2);

    const ok = await runWithAlerts(p);
    expect(ok.summary.status).toBe('success');
    expect(p.pagerduty.received.map((r) => [r.body.event_action, r.body.dedup_key])).toEqual([
      ['trigger', `panelsync/${SYNC}/failed_run`],
      ['resolve', `panelsync/${SYNC}/failed_run`],
    ]);
    expect(p.slack.received.map((r) => r.body.text)).toEqual([
      `[panelsync] CRITICAL ${SYNC}: the run failed`,
      `[panelsync] RECOVERED ${SYNC}: failed runs back to ok`,
    ]);
    expect(p.invalidRequests()).toEqual([]);
  });

  it('without public_url, notices carry no link', async () => {
    p.writeAlerts({}, null);
    await p.chinook.knobs({ fail_next: [{ status: 401 }] });
    await runWithAlerts(p);
    const slack = p.slack.received[0]!.body;
    expect(slack.blocks!.map((b) => b.type)).toEqual(['section', 'section']);
    expect(p.webhook.received[0]!.body.run_url).toBeNull();
    expect(p.pagerduty.received[0]!.body.links).toBeUndefined();
    expect(p.smtp.received[0]!.text).not.toContain('Run details');
  });
});
