/**
 * A Chinook project (test/helpers/chinook-project.ts) with every kind of alert channel pointed at
 * the local fake services (./fake-services.ts), secrets passed as `${VAR}`s, and a way to run the
 * sync in-process with alerts watching, the way `panelsync run` does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { watchRun, type AlertLogLevel } from '../../src/alerts/index.ts';
import { loadProject, type Project } from '../../src/config/load-project.ts';
import { SyncEvents } from '../../src/engine/events.ts';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import {
  SLACK_WEBHOOK_PATH,
  startFakePagerDuty,
  startFakeSlack,
  startFakeSmtp,
  startFakeTwilio,
  startFakeWebhook,
  type FakeService,
  type FakeSmtp,
  type PagerDutyEventBody,
  type TwilioMessageBody,
} from './fake-services.ts';

/** The secrets of the test channels, as the environment gives them. */
export const ALERT_SECRETS = {
  PD_ROUTING_KEY: 'R0UTINGkey0123456789abcdef0123456',
  TWILIO_TOKEN: 'tw1l10-auth-t0ken-9f8e7d',
  HOOK_TOKEN: 'h00k-t0ken-5a4b3c',
  SMTP_PASSWORD: 'smtp-pa55w0rd-x1',
} as const;
export const TWILIO_SID = 'AC00000000000000000000000000000001';
export const PUBLIC_URL = 'https://panelsync.example.com';

export interface AlertProject {
  chinook: ChinookProject;
  slack: FakeService<{ text: string; blocks?: Array<Record<string, unknown>> }>;
  pagerduty: FakeService<PagerDutyEventBody>;
  twilio: FakeService<TwilioMessageBody>;
  webhook: FakeService<Record<string, unknown>>;
  smtp: FakeSmtp;
  /** Every variable the project file refers to. */
  env: Record<string, string>;
  /** Rewrites `alerts` (merged over the standard one) and `public_url` (`null`: unset). */
  writeAlerts(changes: Record<string, unknown>, publicUrl?: string | null): void;
  load(): Promise<Project>;
  /** Every fake service's `invalid` list, joined: must stay empty. */
  invalidRequests(): string[];
  close(): Promise<void>;
}

/**
 * Starts the emulator, the fake services and writes the project. Channels: `team-slack`,
 * `data-oncall` (pagerduty), `ops-sms` (two numbers), `owners` (email), `hook` (webhook). The
 * default recipients: slack, email and webhook at warning and critical; pagerduty and sms at
 * critical. Thresholds: rejected rows warning 0.01, critical 0.2. Delivery: 3 attempts, 20 ms
 * backoff, 5 s timeout.
 */
export async function createAlertProject(): Promise<AlertProject> {
  const [chinook, slack, pagerduty, twilio, webhook, smtp] = await Promise.all([
    createChinookProject(),
    startFakeSlack(),
    startFakePagerDuty(ALERT_SECRETS.PD_ROUTING_KEY),
    startFakeTwilio(TWILIO_SID, ALERT_SECRETS.TWILIO_TOKEN),
    startFakeWebhook(ALERT_SECRETS.HOOK_TOKEN),
    startFakeSmtp('alerts', ALERT_SECRETS.SMTP_PASSWORD),
  ]);
  const env: Record<string, string> = {
    UI_API_KEY: TEST_API_KEY,
    ...ALERT_SECRETS,
    SLACK_WEBHOOK_URL: `${slack.origin}${SLACK_WEBHOOK_PATH}`,
    SMTP_URL: `smtp://alerts:${ALERT_SECRETS.SMTP_PASSWORD}@127.0.0.1:${smtp.port}`,
  };
  const standard = {
    channels: {
      'team-slack': { type: 'slack', webhook_url: '${SLACK_WEBHOOK_URL}' },
      'data-oncall': { type: 'pagerduty', routing_key: '${PD_ROUTING_KEY}', events_url: `${pagerduty.origin}/v2/enqueue` },
      'ops-sms': {
        type: 'sms',
        provider: 'twilio',
        account_sid: TWILIO_SID,
        auth_token: '${TWILIO_TOKEN}',
        from: '+15550100',
        to: ['+15550199', '+15550198'],
        base_url: twilio.origin,
      },
      owners: { type: 'email', smtp_url: '${SMTP_URL}', from: 'panelsync@example.com', to: ['data@example.com', 'lead@example.com'] },
      hook: { type: 'webhook', url: `${webhook.origin}/hooks/panelsync`, headers: { 'X-Token': '${HOOK_TOKEN}' } },
    },
    delivery: { max_attempts: 3, retry_backoff_ms: 20, timeout_ms: 5_000 },
    defaults: {
      recipients: [
        { channel: 'team-slack', levels: ['warning', 'critical'] },
        { channel: 'data-oncall', levels: ['critical'] },
        { channel: 'ops-sms', levels: ['critical'] },
        { channel: 'owners', levels: ['warning', 'critical'] },
        { channel: 'hook', levels: ['warning', 'critical'] },
      ],
      rejected_rows: { warning: 0.01, critical: 0.2 },
    },
  };
  const file = join(chinook.dir, 'panelsync.yml');
  const base = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const writeAlerts = (changes: Record<string, unknown>, publicUrl: string | null = PUBLIC_URL) => {
    const project: Record<string, unknown> = { ...base, alerts: { ...standard, ...changes } };
    if (publicUrl !== null) project.public_url = publicUrl;
    writeFileSync(file, stringify(project));
  };
  writeAlerts({});
  return {
    chinook,
    slack,
    pagerduty,
    twilio,
    webhook,
    smtp,
    env,
    writeAlerts,
    load: () => loadProject({ projectDir: chinook.dir, env }),
    invalidRequests: () => [slack, pagerduty, twilio, webhook].flatMap((s) => s.invalid),
    async close() {
      await Promise.all([chinook.close(), slack.close(), pagerduty.close(), twilio.close(), webhook.close(), smtp.close()]);
    },
  };
}

/** What {@link runWithAlerts} observed. */
export interface AlertedRun {
  summary: RunSummary;
  /** From the call to `runSync` until it returned, ms. */
  runMs: number;
  /** From the call to `runSync` until every notice was delivered or given up, ms. */
  settledMs: number;
  /** Lines alerts logged (failed deliveries). */
  log: string[];
  /** The same lines with their levels. */
  logged: Array<{ line: string; level: AlertLogLevel }>;
}

/** Runs `customers-to-panel` in-process with alerts watching, and waits for the deliveries. */
export async function runWithAlerts(project: AlertProject): Promise<AlertedRun> {
  const loaded = await project.load();
  const store = new SqliteStateStore(loaded.statePath);
  const events = new SyncEvents();
  const log: string[] = [];
  const logged: AlertedRun['logged'] = [];
  const watcher = watchRun({
    project: loaded,
    store,
    events,
    log: (line, level) => {
      log.push(line);
      logged.push({ line, level });
    },
  });
  try {
    const started = Date.now();
    const summary = await runSync({ project: loaded, sync: SYNC, events, store });
    const runMs = Date.now() - started;
    await watcher.settled();
    return { summary, runMs, settledMs: Date.now() - started, log, logged };
  } finally {
    watcher.stop();
    store.close();
  }
}

/** Ports {@link closedPort} picks from: below Linux's ephemeral range (32768-60999), above well-known services. */
const CLOSED_PORT_RANGE = { from: 20_000, to: 32_000 } as const;

/**
 * A loopback port nothing listens on (connections are refused). Picked at random below the
 * ephemeral range, so that servers of tests running alongside, which listen on port 0, are never
 * given it in the meantime (a port from port 0, closed again, could be handed to them).
 */
export async function closedPort(): Promise<number> {
  for (;;) {
    const port = CLOSED_PORT_RANGE.from + Math.floor(Math.random() * (CLOSED_PORT_RANGE.to - CLOSED_PORT_RANGE.from));
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) continue;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }
}

/** `http://127.0.0.1:PORT` -> `127.0.0.1:PORT`: how delivery errors name a fake service. */
export function hostOf(origin: string): string {
  return new URL(origin).host;
}

/** Opens the project's state database for a look (close it after). */
export function openStore(project: Project): SqliteStateStore {
  return new SqliteStateStore(project.statePath);
}
