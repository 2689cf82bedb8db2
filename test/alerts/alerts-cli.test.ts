/**
 * The commands, in-process through `main`: `panelsync alerts test CHANNEL` for every channel type
 * (and a failing and an unknown channel), and `panelsync run`, which sends the run's notices
 * before it returns.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { ALERT_SECRETS, closedPort, createAlertProject, hostOf, PUBLIC_URL, type AlertProject } from './alert-project.ts';

/** Runs `panelsync ARGS` in-process with the project's variables set; returns exit code and output. */
async function cli(p: AlertProject, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const saved = { ...process.env };
  Object.assign(process.env, p.env);
  try {
    const code = await main(['node', 'panelsync', ...args, '--project', p.chinook.dir]);
    return { code, stdout, stderr };
  } finally {
    process.env = saved;
    out.mockRestore();
    err.mockRestore();
  }
}

describe('panelsync alerts test', () => {
  let p: AlertProject;
  beforeAll(async () => {
    p = await createAlertProject();
  });
  afterAll(() => p?.close());

  it('sends a test notification to each kind of channel', async () => {
    for (const [channel, type] of [['team-slack', 'slack'], ['data-oncall', 'pagerduty'], ['ops-sms', 'sms'], ['owners', 'email'], ['hook', 'webhook']]) {
      const { code, stdout } = await cli(p, 'alerts', 'test', channel!);
      expect(code).toBe(0);
      expect(stdout).toBe(`sent a test notification to "${channel}" (${type}) in 1 attempt\n`);
    }
    const title = '[panelsync] Test notification: a test notification for channel "team-slack": if you read this, alerts reach you here';
    expect(p.slack.received.map((r) => r.body.text)).toEqual([title]);
    // PagerDuty: an info trigger and its resolve, so that nothing stays open.
    expect(p.pagerduty.received.map((r) => r.body)).toMatchObject([
      { event_action: 'trigger', dedup_key: 'panelsync/test/data-oncall', payload: { severity: 'info', source: 'panelsync' }, links: [{ href: PUBLIC_URL }] },
      { event_action: 'resolve', dedup_key: 'panelsync/test/data-oncall' },
    ]);
    expect(p.twilio.received.map((r) => r.body.To)).toEqual(['+15550199', '+15550198']);
    expect(p.twilio.received[0]!.body.Body).toContain('Test notification');
    expect(p.smtp.received).toHaveLength(1);
    expect(p.smtp.received[0]!.subject).toContain('a test notification for channel "owners"');
    expect(p.webhook.received.map((r) => [r.body.kind, r.body.sync])).toEqual([['test', null]]);
    expect(p.invalidRequests()).toEqual([]);
  });

  it('reports why a notification was not delivered (exit 1), as JSON too', async () => {
    p.slack.failNext(3, 500);
    const text = await cli(p, 'alerts', 'test', 'team-slack');
    expect(text.code).toBe(1);
    // Each attempt is announced as it starts and fails, then the outcome (alert-project's delivery:
    // 3 attempts of at most 5 s, backoff 20 ms doubling).
    const slackAt = hostOf(p.slack.origin);
    expect(text.stderr.split('\n')).toEqual([
      `sending a test notification to "team-slack" at ${slackAt} (attempt 1 of 3); waiting up to 5 s for its answer…`,
      `attempt 1 of 3 failed: the Slack webhook at ${slackAt} answered HTTP 500: injected failure 500; trying again in 20 ms`,
      `sending a test notification to "team-slack" at ${slackAt} (attempt 2 of 3); waiting up to 5 s for its answer…`,
      `attempt 2 of 3 failed: the Slack webhook at ${slackAt} answered HTTP 500: injected failure 500; trying again in 40 ms`,
      `sending a test notification to "team-slack" at ${slackAt} (attempt 3 of 3); waiting up to 5 s for its answer…`,
      `attempt 3 of 3 failed: the Slack webhook at ${slackAt} answered HTTP 500: injected failure 500`,
      `error: the test notification to "team-slack" (slack) was not delivered after 3 attempts: the Slack webhook at ${slackAt} answered HTTP 500: injected failure 500`,
      '',
    ]);

    p.twilio.failNext(1, 401);
    const json = await cli(p, 'alerts', 'test', 'ops-sms', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ channel: 'ops-sms', type: 'sms', ok: false, attempts: 1, error: `the Twilio Messages API at ${hostOf(p.twilio.origin)} answered HTTP 401: injected failure 401` });
    // With --json the error is in the object only: nothing on stderr.
    expect(json.stderr).toBe('');
    expect(json.stdout).not.toContain(ALERT_SECRETS.TWILIO_TOKEN);

    // A redirect is not followed (the notification and its headers go to the configured URL only).
    p.webhook.failNext(1, 302);
    const redirected = await cli(p, 'alerts', 'test', 'hook');
    expect(redirected.code).toBe(1);
    expect(redirected.stderr).toContain(`after 1 attempt: the webhook at ${hostOf(p.webhook.origin)} answered HTTP 302: redirects are not followed; configure the URL it redirects to`);
  });

  it('refuses an unknown channel with the known ones (exit 2)', async () => {
    const { code, stderr } = await cli(p, 'alerts', 'test', 'nope');
    expect(code).toBe(2);
    expect(stderr).toBe('error: unknown alert channel "nope" (known: team-slack, data-oncall, ops-sms, owners, hook)\n');
    const json = await cli(p, 'alerts', 'test', 'nope', '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'ALERT_CHANNEL_UNKNOWN', message: 'unknown alert channel "nope" (known: team-slack, data-oncall, ops-sms, owners, hook)' } });
    expect(json.stderr).toBe('');
  });

  it('panelsync run sends the notices of its run before it exits', async () => {
    await p.chinook.knobs({ fail_next: [{ status: 401 }] });
    const before = p.slack.received.length;
    const { code, stdout } = await cli(p, 'run', SYNC, '--json');
    expect(code).toBe(1);
    const summary = JSON.parse(stdout) as { run_id: string; status: string };
    expect(summary.status).toBe('failed');
    expect(p.slack.received.slice(before).map((r) => r.body.text)).toEqual([`[panelsync] CRITICAL ${SYNC}: the run failed`]);
    expect(p.pagerduty.received.at(-1)!.body).toMatchObject({ event_action: 'trigger', links: [{ href: `${PUBLIC_URL}/runs/${summary.run_id}` }] });
  });
});

describe('panelsync alerts test, a channel that cannot be reached', () => {
  let p: AlertProject;
  let port: number;
  const secretParts = ['s3cretPathT0ken', 'qu3rySecret', 'hookuser', 'h00kpa55', 'T000/B000', 'mailuser', 'smtp-pw-9z'];

  beforeAll(async () => {
    p = await createAlertProject();
    port = await closedPort();
    p.env.NOWHERE_URL = `http://127.0.0.1:${port}/hooks/s3cretPathT0ken?sig=qu3rySecret`;
    p.env.SLACK_DOWN_URL = `http://127.0.0.1:${port}/services/T000/B000/s3cretPathT0ken`;
    p.env.MAIL_DOWN_URL = `smtp://mailuser:smtp-pw-9z@127.0.0.1:${port}`;
    p.writeAlerts({
      channels: {
        nowhere: { type: 'webhook', url: '${NOWHERE_URL}' },
        'slack-down': { type: 'slack', webhook_url: '${SLACK_DOWN_URL}' },
        'mail-down': { type: 'email', smtp_url: '${MAIL_DOWN_URL}', from: 'panelsync@example.com', to: ['data@example.com'] },
        'bad-port': { type: 'webhook', url: 'http://127.0.0.1:10080/hooks/s3cretPathT0ken' },
      },
      defaults: { recipients: [] },
    });
  });
  afterAll(() => p?.close());

  it('names the cause and host:port, never the secret parts of the URL', async () => {
    const refused = `127.0.0.1:${port} could not be reached: ECONNREFUSED (connection refused: nothing accepts connections on that port)`;
    const expected: Record<string, string> = {
      nowhere: `(webhook) was not delivered after 3 attempts: the webhook at ${refused}`,
      // A Slack webhook URL is a secret as a whole: only its host shows.
      'slack-down': `(slack) was not delivered after 3 attempts: the Slack webhook at ${refused}`,
      'mail-down': `(email) was not delivered after 3 attempts: the SMTP server at ${refused}`,
      // Configuration problems are not retried.
      'bad-port': `(webhook) was not delivered after 1 attempt: the webhook at 127.0.0.1:10080 could not be reached: bad port (fetch refuses to connect to this port`,
    };
    for (const [channel, text] of Object.entries(expected)) {
      const { code, stderr } = await cli(p, 'alerts', 'test', channel);
      expect(code).toBe(1);
      expect(stderr).toContain(`error: the test notification to "${channel}" ${text}`);
      for (const part of secretParts) expect(stderr).not.toContain(part);
    }

    const json = await cli(p, 'alerts', 'test', 'nowhere', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ channel: 'nowhere', ok: false, attempts: 3, error: `the webhook at ${refused}` });
  });
});

describe('panelsync alerts test, an endpoint that never answers', () => {
  let p: AlertProject;
  let hang: Server;
  let port: number;
  beforeAll(async () => {
    p = await createAlertProject();
    // Accepts connections and reads requests, never answers.
    hang = createServer(() => undefined);
    port = await new Promise<number>((resolve) => hang.listen(0, '127.0.0.1', () => resolve((hang.address() as AddressInfo).port)));
    p.writeAlerts({ channels: { silent: { type: 'webhook', url: `http://127.0.0.1:${port}/hook` } }, defaults: { recipients: [] }, delivery: { max_attempts: 2, retry_backoff_ms: 100 } });
  });
  afterAll(async () => {
    hang?.closeAllConnections();
    await new Promise((resolve) => hang?.close(resolve));
    await p?.close();
  });

  it('says at once what it waits for, and gives up after --timeout-ms per attempt', async () => {
    const started = Date.now();
    const { code, stderr } = await cli(p, 'alerts', 'test', 'silent', '--timeout-ms', '400');
    const elapsed = Date.now() - started;
    expect(code).toBe(1);
    expect(stderr.split('\n')).toEqual([
      `sending a test notification to "silent" at 127.0.0.1:${port} (attempt 1 of 2); waiting up to 400 ms for its answer…`,
      `attempt 1 of 2 failed: the webhook at 127.0.0.1:${port} did not answer: timeout after 400 ms; trying again in 100 ms`,
      `sending a test notification to "silent" at 127.0.0.1:${port} (attempt 2 of 2); waiting up to 400 ms for its answer…`,
      `attempt 2 of 2 failed: the webhook at 127.0.0.1:${port} did not answer: timeout after 400 ms`,
      `error: the test notification to "silent" (webhook) was not delivered after 2 attempts: the webhook at 127.0.0.1:${port} did not answer: timeout after 400 ms`,
      '',
    ]);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('with --json, prints the outcome on stdout only', async () => {
    const { code, stdout, stderr } = await cli(p, 'alerts', 'test', 'silent', '--timeout-ms', '200', '--json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ channel: 'silent', type: 'webhook', ok: false, attempts: 2 });
    expect(stderr).toBe('');
  });
});

describe('panelsync validate, a webhook URL with a user name and password', () => {
  let p: AlertProject;
  beforeAll(async () => {
    p = await createAlertProject();
  });
  afterAll(() => p?.close());

  it('is refused, pointing to headers, without showing the password', async () => {
    p.env.LOGIN_HOOK_URL = 'https://hookuser:h00kpa55@hooks.example.com/in';
    p.writeAlerts({
      channels: {
        'with-login': { type: 'webhook', url: '${LOGIN_HOOK_URL}' },
        'literal-login': { type: 'webhook', url: 'https://hookuser:h00kpa55@hooks.example.com/in' },
        'slack-login': { type: 'slack', webhook_url: 'https://u:h00kpa55@hooks.slack.com/services/T0/B0/x' },
      },
      defaults: { recipients: [] },
    });
    const { code, stdout, stderr } = await cli(p, 'validate');
    expect(code).toBe(2);
    const output = stdout + stderr;
    expect(output).toMatch(/alerts\.channels\.with-login\.url: must not hold a user name or password .*send credentials as a header under headers/);
    expect(output).toMatch(/alerts\.channels\.literal-login\.url: must not hold a user name or password/);
    expect(output).toMatch(/alerts\.channels\.slack-login\.webhook_url: must not hold a user name or password/);
    expect(output).not.toContain('h00kpa55');
    // The same URL without its user info passes.
    p.writeAlerts({ channels: { 'with-login': { type: 'webhook', url: 'https://hooks.example.com/in', headers: { Authorization: 'Basic ${HOOK_TOKEN}' } } }, defaults: { recipients: [] } });
    expect((await cli(p, 'validate')).code).toBe(0);
  });
});
