/**
 * Real runs against the emulator, notices received by the local fake services: a sequence of runs
 * (ok, warning, warning, critical, ok) gives exactly one notice per change of state to each
 * recipient that listens to the level, and a recovery when it clears; the notices carry the sync,
 * what happened, counts, first errors and the run link, and no participant data or secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncAlertStatus } from '../../src/alerts/index.ts';
import { TEST_API_KEY } from '../helpers/chinook-project.ts';
import { expectAddsUp, SYNC } from '../helpers/run-helpers.ts';
import { ALERT_SECRETS, createAlertProject, openStore, PUBLIC_URL, runWithAlerts, type AlertProject } from './alert-project.ts';

interface Customer {
  CustomerId: number;
  Email: string;
  Phone: string | null;
  FirstName: string;
  LastName: string;
}

const BAD_EMAIL = 'maria.bad(at)example.com';
const DEDUP_KEY = `panelsync/${SYNC}/rejected_rows`;

describe('alerts over a sequence of runs (ok, warning, warning, critical, ok)', () => {
  let p: AlertProject;
  let customers: Customer[];
  const runIds: string[] = [];

  const rejectFirst = (n: number) =>
    p.chinook.knobs({
      reject_email_pattern: `^(${customers
        .slice(0, n)
        .map((c) => c.Email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|')})$`,
    });
  const touchFirst = (n: number) => p.chinook.db.prepare("UPDATE Customer SET City = City || '.' WHERE CustomerId <= ?").run(n);
  const counts = () => ({
    slack: p.slack.received.length,
    pagerduty: p.pagerduty.received.length,
    sms: p.twilio.received.length,
    email: p.smtp.received.length,
    webhook: p.webhook.received.length,
  });

  beforeAll(async () => {
    p = await createAlertProject();
    customers = p.chinook.db.prepare('SELECT CustomerId, Email, Phone, FirstName, LastName FROM Customer ORDER BY CustomerId').all() as Customer[];
  });
  afterAll(() => p?.close());

  it('sends exactly the expected notices', async () => {
    // 1: every row synced: ok, nothing sent.
    let run = await runWithAlerts(p);
    expect(run.summary.status).toBe('success');
    expectAddsUp(run.summary);
    runIds.push(run.summary.run_id);
    expect(counts()).toEqual({ slack: 0, pagerduty: 0, sms: 0, email: 0, webhook: 0 });

    // 2: 3 rows rejected by the API + 1 invalid row = 4 of 59 (6.8%): warning.
    await rejectFirst(3);
    touchFirst(3);
    p.chinook.db.prepare('UPDATE Customer SET Email = ? WHERE CustomerId = 20').run(BAD_EMAIL);
    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('warning');
    expect(run.summary.rejected.changed).toBe(3);
    expect(run.summary.rows.invalid).toBe(1);
    runIds.push(run.summary.run_id);
    expect(counts()).toEqual({ slack: 1, pagerduty: 0, sms: 0, email: 1, webhook: 1 });

    // 3: the rejected rows are retried and rejected again: still warning, nothing sent.
    run = await runWithAlerts(p);
    expect(run.summary.rejected.changed).toBe(3);
    expect(run.summary.rows.invalid).toBe(1);
    runIds.push(run.summary.run_id);
    expect(counts()).toEqual({ slack: 1, pagerduty: 0, sms: 0, email: 1, webhook: 1 });

    // 4: 15 rejected of 59 (25.4%; the invalid row is the same as last run's, no new problem): critical;
    // pagerduty and sms hear of it now.
    await rejectFirst(15);
    touchFirst(15);
    run = await runWithAlerts(p);
    expect(run.summary.rejected.changed).toBe(15);
    runIds.push(run.summary.run_id);
    expect(counts()).toEqual({ slack: 2, pagerduty: 1, sms: 2, email: 2, webhook: 2 });

    // 5: the API accepts them again and the email is fixed: ok; one recovery to every channel that heard.
    await p.chinook.knobs({ reject_email_pattern: null });
    p.chinook.db.prepare('UPDATE Customer SET Email = ? WHERE CustomerId = 20').run(customers[19]!.Email);
    run = await runWithAlerts(p);
    expect(run.summary.status).toBe('success');
    expect(run.summary.succeeded.changed).toBe(15);
    runIds.push(run.summary.run_id);
    expect(counts()).toEqual({ slack: 3, pagerduty: 2, sms: 4, email: 3, webhook: 3 });

    expect(p.invalidRequests()).toEqual([]);
    expect(p.smtp.refusedLogins).toBe(0);
  });

  it('says which sync, what happened, the counts, the first errors and links the run', () => {
    const [warning, critical, recovery] = p.slack.received.map((r) => r.body);
    expect(warning!.text).toBe(`[panelsync] WARNING ${SYNC}: 4 of 59 rows (6.8%) were rejected or invalid (warning at 1%, critical at 20%)`);
    const details = (warning!.blocks![1]!.text as { text: string }).text;
    expect(details).toContain(`Sync: ${SYNC}`);
    expect(details).toContain('Trigger: rejected rows (ok -&gt; warning)');
    expect(details).toContain(`Run: ${runIds[1]} (warning,`);
    expect(details).toContain('Rows: 59 queried; added 0; changed 3 (0 succeeded, 3 rejected); removed 0; unchanged 55; invalid 1');
    expect(details).toContain('- primary key 1 (rejected): email: email is not deliverable');
    expect(details).toContain('- primary key 3 (rejected): email: email is not deliverable');
    // Our own validation quotes the bad value: it is scrubbed, the reason stays.
    expect(details).toContain('- primary key 20 (invalid): email "[value]" is not a valid email address');
    expect(warning!.blocks![2]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${PUBLIC_URL}/runs/${runIds[1]}|Open the run in panelsync>` }] });
    expect(critical!.text).toMatch(new RegExp(`^\\[panelsync\\] CRITICAL ${SYNC}: 15 of 59 rows \\(25.4%\\).*; 1 more invalid row was already invalid in the previous run`));
    expect(recovery!.text).toBe(`[panelsync] RECOVERED ${SYNC}: rejected rows back to ok`);

    // PagerDuty: a trigger, then a resolve of the same dedup key.
    const [trigger, resolve] = p.pagerduty.received.map((r) => r.body);
    expect(trigger).toMatchObject({
      routing_key: ALERT_SECRETS.PD_ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: DEDUP_KEY,
      payload: { severity: 'critical', source: `panelsync sync ${SYNC}` },
      links: [{ href: `${PUBLIC_URL}/runs/${runIds[3]}` }],
    });
    expect(trigger!.payload!.summary).toMatch(/^CRITICAL customers-to-panel: 15 of 59 rows/);
    expect(trigger!.payload!.custom_details).toMatchObject({ run_id: runIds[3], trigger: 'rejected_rows', state: 'warning -> critical' });
    expect(resolve).toEqual({ routing_key: ALERT_SECRETS.PD_ROUTING_KEY, event_action: 'resolve', dedup_key: DEDUP_KEY });

    // SMS: each number once per notice; the title and the link.
    const texts = p.twilio.received.map((r) => r.body);
    expect(texts.map((t) => t.To)).toEqual(['+15550199', '+15550198', '+15550199', '+15550198']);
    expect(texts.every((t) => t.From === '+15550100')).toBe(true);
    expect(texts[0]!.Body).toMatch(new RegExp(`^\\[panelsync\\] CRITICAL ${SYNC}: .*\\n${PUBLIC_URL}/runs/${runIds[3]}$`, 's'));
    expect(texts[2]!.Body).toBe(`[panelsync] RECOVERED ${SYNC}: rejected rows back to ok\n${PUBLIC_URL}/runs/${runIds[4]}`);

    // Email: every address in one message, subject = title, the details in the text.
    const mails = p.smtp.received;
    expect(mails[0]!.to).toEqual(['data@example.com', 'lead@example.com']);
    expect(mails[0]!.from).toBe('panelsync@example.com');
    expect(mails[0]!.subject).toBe(warning!.text);
    expect(mails[0]!.text).toContain('- primary key 2 (rejected): email: email is not deliverable');
    expect(mails[0]!.text).toContain(`Run details: ${PUBLIC_URL}/runs/${runIds[1]}`);
    expect(mails[2]!.subject).toBe(recovery!.text);

    // Webhook: the notice as JSON, with the configured header.
    const hooks = p.webhook.received;
    expect(hooks.map((h) => [h.body.kind, h.body.level, h.body.from, h.body.to])).toEqual([
      ['alert', 'warning', 'ok', 'warning'],
      ['alert', 'critical', 'warning', 'critical'],
      ['recovery', 'critical', 'critical', 'ok'],
    ]);
    expect(hooks[0]!.body).toMatchObject({
      type: 'panelsync.alert',
      version: 1,
      sync: SYNC,
      trigger: 'rejected_rows',
      run_url: `${PUBLIC_URL}/runs/${runIds[1]}`,
      dedup_key: DEDUP_KEY,
      run: { id: runIds[1], status: 'warning', rejected: { added: 0, changed: 3, removed: 0 } },
    });
    expect((hooks[1]!.body.first_errors as unknown[]).length).toBe(5);
  });

  it('carries no participant data beyond primary keys, and no secret', () => {
    const bodies = [
      ...p.slack.received.map((r) => JSON.stringify(r.body)),
      ...p.twilio.received.map((r) => JSON.stringify(r.body)),
      ...p.webhook.received.map((r) => JSON.stringify(r.body)),
      ...p.smtp.received.map((m) => m.raw),
    ];
    const pagerduty = p.pagerduty.received.map((r) => JSON.stringify(r.body));
    const personal = [BAD_EMAIL, ...customers.flatMap((c) => [c.Email, `${c.FirstName} ${c.LastName}`, ...(c.Phone ? [c.Phone] : [])])];
    for (const text of [...bodies, ...pagerduty]) {
      for (const value of personal) expect(text).not.toContain(value);
      for (const secret of [TEST_API_KEY, ALERT_SECRETS.TWILIO_TOKEN, ALERT_SECRETS.HOOK_TOKEN, ALERT_SECRETS.SMTP_PASSWORD, 's3cretSlackPathXyz']) {
        expect(text).not.toContain(secret);
      }
    }
    // The routing key goes to PagerDuty only (it is how PagerDuty routes the event).
    for (const text of bodies) expect(text).not.toContain(ALERT_SECRETS.PD_ROUTING_KEY);
  });

  it('keeps the trigger states and the last delivery per channel for the sync', async () => {
    const project = await p.load();
    const store = openStore(project);
    try {
      const status = syncAlertStatus(project, store, SYNC);
      expect(status.triggers).toEqual([
        { trigger: 'failed_run', state: 'ok', streak: 0, since: expect.any(String), run_id: runIds[4], notified_at: null },
        { trigger: 'rejected_rows', state: 'ok', streak: 0, since: expect.any(String), run_id: runIds[4], notified_at: expect.any(String) },
        { trigger: 'slow_run', state: 'ok', streak: 0, since: expect.any(String), run_id: runIds[4], notified_at: null },
      ]);
      expect(status.thresholds.rejected_rows).toEqual({ warning: 0.01, critical: 0.2 });
      expect(status.deliveries.map((d) => [d.channel, d.last_status, d.attempts, d.last_error])).toEqual([
        ['data-oncall', 'delivered', 1, null],
        ['hook', 'delivered', 1, null],
        ['ops-sms', 'delivered', 1, null],
        ['owners', 'delivered', 1, null],
        ['team-slack', 'delivered', 1, null],
      ]);
      expect(status.recipients.find((r) => r.channel === 'data-oncall')).toEqual({ channel: 'data-oncall', type: 'pagerduty', levels: ['critical'] });
    } finally {
      store.close();
    }
  });
});
