/**
 * The pure parts of alerts: the project file's `alerts` rules, trigger evaluation, the state
 * machine (who hears of which change), and the scrubbing of personal data from row errors.
 */
import { describe, expect, it } from 'vitest';
import { alertPolicy, type AlertPolicy } from '../../src/alerts/alert-policy.ts';
import { alertStateMachine, levelAtTurn } from '../../src/alerts/alert-state-machine.ts';
import { channelEndpoint, networkCause } from '../../src/alerts/channels/network-failure.ts';
import { evaluateTriggers } from '../../src/alerts/evaluate-triggers.ts';
import { scrubPersonalData } from '../../src/alerts/scrub-personal-data.ts';
import { validateProject } from '../../src/config/validate-project.ts';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import type { AlertState, AlertStateRecord } from '../../src/state/state-store.ts';
import { EXAMPLE_ENV, exampleRaw } from '../config/example-project.ts';

const SYNC = 'customers-to-panel';

function summary(overrides: Partial<RunSummary> & { rejected?: RunSummary['rejected'] } = {}): RunSummary {
  return {
    run_id: 'r1',
    sync: SYNC,
    status: 'success',
    rows: { queried: 100, added: 10, changed: 0, removed: 0, unchanged: 90, invalid: 0 },
    succeeded: { added: 10, changed: 0, removed: 0 },
    rejected: { added: 0, changed: 0, removed: 0 },
    skipped: { added: 0, changed: 0, removed: 0 },
    unsent: { added: 0, changed: 0, removed: 0 },
    api_calls: 1,
    duration_ms: 1_000,
    model_read: true,
    in_sync: 100,
    known_invalid: 0,
    first_sync: false,
    ...overrides,
  };
}

const POLICY: AlertPolicy = {
  recipients: [
    { channel: 'slack', levels: ['warning', 'critical'] },
    { channel: 'pd', levels: ['critical'] },
  ],
  rejectedRows: { warning: 0.01, critical: 0.2 },
  failedRuns: { warning: 2, critical: 3 },
  slowRunMinutes: 1,
  missedSchedule: null,
  emptyModel: null,
  volumeChange: null,
  fullResync: null,
};

/** Feeds summaries through evaluate + state machine as watchRun does; returns the sends per run. */
function replay(summaries: RunSummary[], policy = POLICY) {
  return replaySteps(summaries.map((s) => ({ summary: s, recipients: policy.recipients })), policy);
}

type Recipients = AlertPolicy['recipients'];

/**
 * Like {@link replay}, each run with its own recipients (the project file changed between runs); a
 * send shows its level. Each send is then delivered as watchRun does it ({@link levelAtTurn} on the
 * channel's told alert, which a delivered alert sets and a recovery clears), except that the
 * deliveries to a step's `down` channels fail: those sends show `(not delivered)`.
 */
function replaySteps(steps: Array<{ summary: RunSummary; recipients: Recipients; down?: string[] }>, policy = POLICY, withLevel = false) {
  let stored: AlertStateRecord[] = [];
  return steps.map(({ summary: s, recipients, down = [] }, i) => {
    const at = `2026-01-01T00:00:0${i}Z`;
    const results = evaluateTriggers(s, policy, (t) => stored.find((r) => r.trigger === t)?.streak ?? 0);
    const { states, changes } = alertStateMachine({ sync: SYNC, runId: `r${i}`, at, results, previous: stored, recipients });
    stored = [
      ...stored.filter((r) => !states.some((s2) => s2.trigger === r.trigger)),
      ...states.map((state) => ({ ...state, notifiedChannels: stored.find((r) => r.trigger === state.trigger)?.notifiedChannels ?? [] })),
    ];
    const sent: string[] = [];
    for (const c of changes) {
      const record = stored.find((r) => r.trigger === c.trigger)!;
      for (const send of c.sends) {
        const others = record.notifiedChannels.filter((n) => n.channel !== send.channel);
        const level = levelAtTurn(send, record.notifiedChannels.find((n) => n.channel === send.channel));
        if (level === null) continue;
        const failed = down.includes(send.channel);
        sent.push(`${c.trigger} ${c.from}->${c.to}: ${send.channel} ${send.kind}${withLevel ? ` ${level}` : ''}${failed ? ' (not delivered)' : ''}`);
        if (send.kind === 'recovery') record.notifiedChannels = others;
        else if (!failed) record.notifiedChannels = [...others, { channel: send.channel, level, at }];
      }
    }
    return sent;
  });
}

const rejected = (n: number) => summary({ status: 'warning', rejected: { added: n, changed: 0, removed: 0 }, succeeded: { added: 10 - Math.min(n, 10), changed: 0, removed: 0 } });

describe('trigger evaluation and the state machine', () => {
  it('one notice per change of state, to the recipients that listen to the level, and recoveries', () => {
    expect(replay([summary(), rejected(2), rejected(3), rejected(25), rejected(5), summary()])).toEqual([
      [],
      ['rejected_rows ok->warning: slack alert'],
      [],
      ['rejected_rows warning->critical: slack alert', 'rejected_rows warning->critical: pd alert'],
      // A step down: slack still listens to warning; pagerduty's critical clears (a resolve).
      ['rejected_rows critical->warning: slack alert', 'rejected_rows critical->warning: pd recovery'],
      ['rejected_rows warning->ok: slack recovery'],
    ]);
  });

  it('counts failed runs in a row; a failed run leaves the other triggers as they were', () => {
    const failed = summary({ status: 'failed', error: 'boom' });
    expect(replay([rejected(2), failed, failed, failed, failed, summary()])).toEqual([
      ['rejected_rows ok->warning: slack alert'],
      [],
      ['failed_run ok->warning: slack alert'],
      ['failed_run warning->critical: slack alert', 'failed_run warning->critical: pd alert'],
      [],
      ['failed_run critical->ok: slack recovery', 'failed_run critical->ok: pd recovery', 'rejected_rows warning->ok: slack recovery'],
    ]);
  });

  it('a recipient added while a trigger alerts hears of it at the next run, once; the recovery goes to channels that heard', () => {
    const none: Recipients = [];
    const hook: Recipients = [{ channel: 'hook', levels: ['critical'] }];
    const both: Recipients = [...hook, { channel: 'slack', levels: ['warning', 'critical'] }];
    expect(
      replaySteps([
        { summary: rejected(30), recipients: none },
        { summary: rejected(30), recipients: hook },
        { summary: rejected(30), recipients: hook },
        { summary: rejected(30), recipients: both },
        { summary: rejected(30), recipients: both },
        { summary: summary(), recipients: both },
      ]),
    ).toEqual([
      [],
      ['rejected_rows critical->critical: hook alert'],
      [],
      ['rejected_rows critical->critical: slack alert'],
      [],
      ['rejected_rows critical->ok: hook recovery', 'rejected_rows critical->ok: slack recovery'],
    ]);
  });

  it('a recipient added while a trigger alerts gets no recovery when the next run clears it; failed runs alike', () => {
    const failed = summary({ status: 'failed', error: 'boom' });
    const policy: AlertPolicy = { ...POLICY, failedRuns: { warning: null, critical: 1 } };
    const pd: Recipients = [{ channel: 'pd', levels: ['critical'] }];
    expect(
      replaySteps(
        [
          { summary: rejected(30), recipients: [] },
          { summary: summary(), recipients: pd },
          { summary: failed, recipients: [] },
          { summary: failed, recipients: pd },
          { summary: failed, recipients: pd },
          { summary: summary(), recipients: pd },
        ],
        policy,
      ),
    ).toEqual([[], [], [], ['failed_run critical->critical: pd alert'], [], ['failed_run critical->ok: pd recovery']]);
  });

  it('recipients changing levels: told once of each state they listen to; a recovery only of what they were told', () => {
    const criticalOnly: Recipients = [{ channel: 'slack', levels: ['critical'] }];
    const warningToo: Recipients = [{ channel: 'slack', levels: ['warning', 'critical'] }];
    // Warning holds while slack begins to listen to warning, then stops; it heard, so it hears it clear.
    expect(
      replaySteps(
        [
          { summary: rejected(2), recipients: criticalOnly },
          { summary: rejected(2), recipients: warningToo },
          { summary: rejected(2), recipients: warningToo },
          { summary: rejected(2), recipients: criticalOnly },
          { summary: summary(), recipients: criticalOnly },
        ],
        POLICY,
        true,
      ),
    ).toEqual([[], ['rejected_rows warning->warning: slack alert warning'], [], [], ['rejected_rows warning->ok: slack recovery warning']]);
    // Told of warning, then critical-only before it escalates: the critical alert; the recovery clears critical.
    expect(
      replaySteps(
        [
          { summary: rejected(2), recipients: warningToo },
          { summary: rejected(2), recipients: criticalOnly },
          { summary: rejected(30), recipients: criticalOnly },
          { summary: summary(), recipients: criticalOnly },
        ],
        POLICY,
        true,
      ),
    ).toEqual([
      ['rejected_rows ok->warning: slack alert warning'],
      [],
      ['rejected_rows warning->critical: slack alert critical'],
      ['rejected_rows critical->ok: slack recovery critical'],
    ]);
    // A channel taken off the recipients keeps its open alert: it is resolved at the next change of state.
    expect(
      replaySteps([
        { summary: rejected(30), recipients: [...criticalOnly, { channel: 'pd', levels: ['critical'] }] },
        { summary: rejected(30), recipients: criticalOnly },
        { summary: rejected(2), recipients: criticalOnly },
      ]),
    ).toEqual([
      ['rejected_rows ok->critical: slack alert', 'rejected_rows ok->critical: pd alert'],
      [],
      ['rejected_rows critical->warning: slack recovery', 'rejected_rows critical->warning: pd recovery'],
    ]);
  });

  it('a channel counts as told only once its alert was delivered: retried while the state holds, no recovery of an alert it never got', () => {
    const slack: Recipients = [{ channel: 'slack', levels: ['warning', 'critical'] }];
    // Slack is down at the warning: the next run (still warning) alerts it again, then no repeat.
    expect(
      replaySteps([
        { summary: rejected(2), recipients: slack, down: ['slack'] },
        { summary: rejected(2), recipients: slack },
        { summary: rejected(2), recipients: slack },
        { summary: summary(), recipients: slack },
      ]),
    ).toEqual([
      ['rejected_rows ok->warning: slack alert (not delivered)'],
      ['rejected_rows warning->warning: slack alert'],
      [],
      ['rejected_rows warning->ok: slack recovery'],
    ]);
    // Down for two runs, then the state clears: it never heard, so it hears nothing.
    expect(
      replaySteps([
        { summary: rejected(2), recipients: slack, down: ['slack'] },
        { summary: rejected(2), recipients: slack, down: ['slack'] },
        { summary: summary(), recipients: slack },
      ]),
    ).toEqual([['rejected_rows ok->warning: slack alert (not delivered)'], ['rejected_rows warning->warning: slack alert (not delivered)'], []]);
    // Told of warning, the critical alert not delivered: the recovery clears the warning it heard of.
    expect(
      replaySteps(
        [
          { summary: rejected(2), recipients: slack },
          { summary: rejected(30), recipients: slack, down: ['slack'] },
          { summary: summary(), recipients: slack },
        ],
        POLICY,
        true,
      ),
    ).toEqual([
      ['rejected_rows ok->warning: slack alert warning'],
      ['rejected_rows warning->critical: slack alert critical (not delivered)'],
      ['rejected_rows critical->ok: slack recovery warning'],
    ]);
  });

  it('takes a channel with a notice still being delivered to hold what it leaves it with', () => {
    const previous: AlertStateRecord[] = [
      { sync: SYNC, trigger: 'rejected_rows', state: 'warning', streak: 1, since: 't0', runId: 'r0', notifiedAt: 't0', notifiedChannels: [] },
    ];
    const slack: Recipients = [{ channel: 'slack', levels: ['warning', 'critical'] }];
    const sends = (s: RunSummary, inFlight: Array<{ kind: 'alert' | 'recovery'; level: 'warning' | 'critical' }>) =>
      alertStateMachine({
        sync: SYNC,
        runId: 'r1',
        at: 't1',
        results: evaluateTriggers(s, POLICY, () => 0).filter((r) => r.trigger === 'rejected_rows'),
        previous,
        recipients: slack,
        inFlight: inFlight.map((n) => ({ trigger: 'rejected_rows', channel: 'slack', ...n })),
      }).changes.flatMap((c) => c.sends.map((send) => `${send.channel} ${send.kind} ${send.level}`));
    // Its warning alert is on the way: not handed out twice; the state clearing hands out its recovery.
    expect(sends(rejected(2), [{ kind: 'alert', level: 'warning' }])).toEqual([]);
    expect(sends(summary(), [{ kind: 'alert', level: 'warning' }])).toEqual(['slack recovery warning']);
    // Without it, the channel was never told: an alert while the state holds, no recovery when it clears.
    expect(sends(rejected(2), [])).toEqual(['slack alert warning']);
    expect(sends(summary(), [])).toEqual([]);
    // After a recovery on the way, it holds nothing.
    expect(sends(rejected(2), [{ kind: 'alert', level: 'warning' }, { kind: 'recovery', level: 'warning' }])).toEqual(['slack alert warning']);
  });

  it("decides each send at its turn from the channel's told alert then", () => {
    const told = { channel: 'slack', level: 'warning' as const, at: '2026-01-01T00:00:00Z' };
    // An alert handed out while an earlier one of the same level was still being delivered.
    expect(levelAtTurn({ channel: 'slack', kind: 'alert', level: 'warning' }, told)).toBeNull();
    expect(levelAtTurn({ channel: 'slack', kind: 'alert', level: 'critical' }, told)).toBe('critical');
    expect(levelAtTurn({ channel: 'slack', kind: 'alert', level: 'warning' }, undefined)).toBe('warning');
    // A recovery of an alert whose delivery failed meanwhile is not sent; otherwise it clears what the channel heard.
    expect(levelAtTurn({ channel: 'slack', kind: 'recovery', level: 'critical' }, undefined)).toBeNull();
    expect(levelAtTurn({ channel: 'slack', kind: 'recovery', level: 'critical' }, told)).toBe('warning');
  });

  it('an interrupted run speaks for no trigger; a slow run is a warning when slow_run_minutes is set', () => {
    expect(evaluateTriggers(summary({ status: 'interrupted' }), POLICY, () => 0)).toEqual([]);
    const slow = evaluateTriggers(summary({ duration_ms: 90_000 }), POLICY, () => 0).find((r) => r.trigger === 'slow_run')!;
    expect(slow).toEqual({ trigger: 'slow_run', state: 'warning', streak: 1, reason: 'the run took 1.5 min (limit 1 min)' });
    const off = evaluateTriggers(summary({ duration_ms: 90_000 }), { ...POLICY, slowRunMinutes: null }, () => 0).find((r) => r.trigger === 'slow_run')!;
    expect(off.state).toBe('ok');
  });

  it('the rejected-rows share counts invalid rows and removed rows; a threshold is reached at equality', () => {
    const at = (s: RunSummary): AlertState => evaluateTriggers(s, POLICY, () => 0).find((r) => r.trigger === 'rejected_rows')!.state;
    expect(at(summary({ rows: { queried: 99, added: 0, changed: 0, removed: 1, unchanged: 79, invalid: 20 } }))).toBe('critical');
    expect(at(summary({ rows: { queried: 100, added: 0, changed: 0, removed: 0, unchanged: 99, invalid: 1 } }))).toBe('warning');
    expect(at(summary({ rows: { queried: 0, added: 0, changed: 0, removed: 0, unchanged: 0, invalid: 0 } }))).toBe('ok');
  });
});

describe('what a delivery error says about the endpoint', () => {
  it('shows host:port only: no user info, path, query or fragment', () => {
    expect(channelEndpoint('https://hooks.slack.com/services/T0/B0/s3cret')).toBe('hooks.slack.com:443');
    expect(channelEndpoint('http://user:pw@example.com:8080/h/t0ken?sig=x#f')).toBe('example.com:8080');
    expect(channelEndpoint('smtp://user:pw@mail.example.com')).toBe('mail.example.com:587');
    expect(channelEndpoint('smtps://mail.example.com')).toBe('mail.example.com:465');
    expect(channelEndpoint('http://[::1]:9000/x')).toBe('[::1]:9000');
    expect(channelEndpoint('not a url with s3cret')).toBe('(unparseable URL)');
  });

  it("names the cause as fetch reports it: a code deep in the cause chain, or the innermost message without the URL", () => {
    const url = 'https://hooks.example.invalid/h/t0ken';
    // The shapes Node's fetch (undici) throws: TypeError "fetch failed" with the system error as its cause.
    const notFound = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.invalid'), { code: 'ENOTFOUND' }) });
    expect(networkCause(notFound, url)).toBe('ENOTFOUND (host not found: check the host name, and DNS on this machine)');
    const both = new TypeError('fetch failed', {
      cause: Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:9'), { code: 'ECONNREFUSED' })], ''), { code: 'ECONNREFUSED' }),
    });
    expect(networkCause(both, url)).toMatch(/^ECONNREFUSED \(connection refused/);
    expect(networkCause(new TypeError(`Failed to fetch ${url}`), url)).toBe('Failed to fetch hooks.example.invalid:443');
  });
});

describe('scrubPersonalData', () => {
  it('drops emails, quoted values and phone numbers, keeps the reason and small numbers, redacts secrets', () => {
    expect(scrubPersonalData('email "ann@example" is not a valid email address', [])).toBe('email "[value]" is not a valid email address');
    expect(scrubPersonalData('email: ann.lee+x@example.com is not deliverable', [])).toBe('email: [email] is not deliverable');
    expect(scrubPersonalData('phone_number: +1 (514) 721-4711 rejected', [])).toBe('phone_number: [phone] rejected');
    expect(scrubPersonalData('characteristics.ltv: longer than 255 characters (300); HTTP 422', [])).toBe(
      'characteristics.ltv: longer than 255 characters (300); HTTP 422',
    );
    expect(scrubPersonalData('GET http://h/api?key=k3y-s3cret failed', ['k3y-s3cret'])).toBe('GET http://h/api?key=[REDACTED] failed');
  });
});

describe('the alerts section of the project file', () => {
  const withAlerts = (alerts: unknown, syncAlerts?: unknown) => {
    const raw = exampleRaw();
    raw.alerts = alerts;
    if (syncAlerts !== undefined) raw.syncs[SYNC].alerts = syncAlerts;
    return validateProject(raw, { ...EXAMPLE_ENV, HOOK: 'h00k-token', SMTP_URL: 'smtp://u:pa55word@mail.example.com:587', PD: 'pd-routing-key' });
  };
  const channels = {
    oncall: { type: 'pagerduty', routing_key: '${PD}' },
    mail: { type: 'email', smtp_url: '${SMTP_URL}', from: 'panelsync@example.com', to: ['data@example.com'] },
    hook: { type: 'webhook', url: 'https://example.com/hook', headers: { 'X-Token': '${HOOK}' } },
    sms: { type: 'sms', provider: 'twilio', account_sid: 'AC1', auth_token: 'literal-tw-token', from: '+15550100', to: ['+15550199'] },
  };

  it('applies defaults, merges a sync over alerts.defaults key by key, and collects every channel secret', () => {
    const { project, issues } = withAlerts(
      { channels, defaults: { recipients: [{ channel: 'oncall', levels: ['critical'] }], rejected_rows: { warning: 0.05 } } },
      { rejected_rows: { critical: 0.5 }, slow_run_minutes: 30 },
    );
    expect(issues).toEqual([]);
    expect(project!.alerts!.delivery).toEqual({ max_attempts: 3, retry_backoff_ms: 2_000, timeout_ms: 10_000 });
    expect(alertPolicy(project!, SYNC)).toEqual({
      recipients: [{ channel: 'oncall', levels: ['critical'] }],
      rejectedRows: { warning: 0.05, critical: 0.5 },
      failedRuns: { warning: null, critical: 1 },
      slowRunMinutes: 30,
      missedSchedule: null,
      emptyModel: null,
      volumeChange: null,
      fullResync: null,
    });
    for (const secret of ['h00k-token', 'pa55word', 'smtp://u:pa55word@mail.example.com:587', 'pd-routing-key', 'literal-tw-token']) {
      expect(project!.secrets).toContain(secret);
    }
  });

  it('names unknown channels, repeated channels and thresholds out of order, with their paths', () => {
    const { issues } = withAlerts(
      { channels, defaults: { recipients: [{ channel: 'slack', levels: ['warning'] }, { channel: 'oncall', levels: ['critical'] }, { channel: 'oncall', levels: ['warning'] }], rejected_rows: { warning: 0.15 } } },
      { rejected_rows: { critical: 0.1 } },
    );
    expect(issues).toEqual([
      { path: 'alerts.defaults.recipients[0].channel', message: 'unknown channel "slack" (known: oncall, mail, hook, sms)' },
      { path: 'alerts.defaults.recipients[2].channel', message: 'channel "oncall" is already listed at recipients[1]; list each channel once, with all its levels' },
      { path: `syncs.${SYNC}.alerts.rejected_rows`, message: 'warning 0.15 (from alerts.defaults.rejected_rows.warning) must not be above critical 0.1; lower warning or raise critical' },
    ]);
  });

  it('refuses a bad phone number and a bad delivery setting, without showing a secret', () => {
    const { issues } = withAlerts({ channels: { ...channels, sms: { ...channels.sms, to: ['555-0199'] } }, delivery: { max_attempts: 0 } });
    expect(issues.map((i) => i.path)).toEqual(['alerts.channels.sms.to[0]', 'alerts.delivery.max_attempts']);
    expect(JSON.stringify(issues)).not.toContain('pa55word');
  });
});
