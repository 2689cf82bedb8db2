/**
 * `plan` and `run` resolve only the environment variables they use (issue 11, item 2): not the
 * server's token, not the secrets of alert channels their sync does not notify; a run whose alert
 * channel lacks its secret warns and skips that channel; one unset variable is one error.
 */
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadProject } from '../../src/config/load-project.ts';
import { panelsync } from '../debugger/cli-capture.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { EXAMPLE_ENV, EXAMPLE_YAML } from './example-project.ts';

/** The server's token and two alert channels whose secrets come from the environment. */
const SERVER_AND_ALERTS = `
server: { api_token: "\${PANELSYNC_API_TOKEN}" }
alerts:
  channels:
    team-slack: { type: slack, webhook_url: "\${SLACK_WEBHOOK_URL}" }
    data-oncall: { type: pagerduty, routing_key: "\${PD_ROUTING_KEY}" }
  defaults:
    recipients:
      - { channel: team-slack, levels: [warning, critical] }
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'panelsync-use-'));
  await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML + SERVER_AND_ALERTS);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadProject for one command', () => {
  it('without `use` (validate, serve): every unset variable is one error, not one more for the rule its value then fails', async () => {
    const error = (await loadProject({ projectDir: dir, env: EXAMPLE_ENV }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.path).sort()).toEqual(['alerts.channels.data-oncall.routing_key', 'alerts.channels.team-slack.webhook_url', 'server.api_token']);
    expect(error.issues.every((i) => i.message.startsWith('environment variable '))).toBe(true);
  });

  it('plan: needs neither the server token nor any alert channel secret, and names no channel', async () => {
    const project = await loadProject({ projectDir: dir, env: EXAMPLE_ENV, use: { sync: 'customers-to-panel', alerts: false } });
    expect(project.server).toBeUndefined();
    expect(project.alerts?.channels).toEqual({});
    expect(project.skippedAlertChannels).toEqual([]);
  });

  it('run: skips the channels whose secret is unset, and names those its sync notifies', async () => {
    const env = { ...EXAMPLE_ENV, PD_ROUTING_KEY: 'pd-key-0123456789' };
    const project = await loadProject({ projectDir: dir, env, use: { sync: 'customers-to-panel', alerts: true } });
    expect(Object.keys(project.alerts?.channels ?? {})).toEqual(['data-oncall']);
    expect(project.alerts?.defaults.recipients).toEqual([]);
    expect(project.skippedAlertChannels).toEqual([{ channel: 'team-slack', variables: ['SLACK_WEBHOOK_URL'] }]);
  });

  it('still refuses an unset variable the command uses, once', async () => {
    const error = (await loadProject({ projectDir: dir, env: {}, use: { sync: 'customers-to-panel', alerts: true } }).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues).toEqual([
      { path: 'destinations.panel.api_key', message: 'environment variable UI_API_KEY is not set; set it, or write ${UI_API_KEY:-default} to give a default' },
    ]);
  });
});

describe('panelsync run and plan without the server token or an alert secret', () => {
  let project: ChinookProject | undefined;
  afterEach(async () => {
    await project?.close();
  });

  it('plan is silent about them; run warns once on stderr about the channel it skips, and succeeds', async () => {
    project = await createChinookProject();
    appendFileSync(path.join(project.dir, 'panelsync.yml'), SERVER_AND_ALERTS);
    const env = { UI_API_KEY: TEST_API_KEY };
    const plan = await panelsync(project.dir, ['plan', 'customers-to-panel'], env);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toBe('');
    const run = await panelsync(project.dir, ['run', 'customers-to-panel', '--json'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'success' });
    const warnings = run.stderr.split('\n').filter((line) => line.includes('team-slack'));
    expect(warnings).toEqual([
      'panelsync: warning: alert channel "team-slack" is skipped for this run: environment variable SLACK_WEBHOOK_URL is not set; set it to get this channel\'s notifications',
    ]);
    expect(run.stderr).not.toContain('PANELSYNC_API_TOKEN');
  });
});

describe('another sync\'s secrets', () => {
  it('plan and run need neither the source nor the destination of a sync they do not use', async () => {
    const other = `  other-to-crm:
    model: orders
    destination: crm
    mode: upsert
    match: Email
    mappings: [{ from: FirstName, to: first_name }]
`;
    const more = `
  warehouse: { type: postgres, url: "postgres://reader:\${PG_PASSWORD}@db.internal/analytics" }
`;
    const yaml = (EXAMPLE_YAML + SERVER_AND_ALERTS)
      .replace('sources:\n', `sources:${more}`)
      .replace('destinations:\n', 'destinations:\n  crm: { type: user-interviews, api_key: "${CRM_KEY}", environment: production }\n')
      .replace('models:\n', 'models:\n  orders: { source: warehouse, primary_key: id, sql: SELECT 1 }\n')
      .replace('syncs:\n', `syncs:\n${other}`);
    await writeFile(path.join(dir, 'panelsync.yml'), yaml);
    const project = await loadProject({ projectDir: dir, env: EXAMPLE_ENV, use: { sync: 'customers-to-panel', alerts: false } });
    expect(Object.keys(project.sources)).toEqual(['chinook']);
    expect(Object.keys(project.destinations)).toEqual(['panel']);
    expect(Object.keys(project.syncs)).toEqual(['customers-to-panel']);
    // The sync that uses them still needs them.
    const error = (await loadProject({ projectDir: dir, env: EXAMPLE_ENV, use: { sync: 'other-to-crm', alerts: false } }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.path).sort()).toEqual(['destinations.crm.api_key', 'sources.warehouse.url']);
  });
});
