/**
 * The web UI for the viewer token, in Chromium against `panelsync serve`: the top bar says
 * "Viewer (read-only)", a sync's page offers no Run now / Full resync, a call of the debugger
 * shows its facts but not its bodies (which the operator sees), and the audit log page lists the
 * operator's trigger and the viewer's denied one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { API_TOKEN, waitFor, writeServerProject } from '../server/server-fixture.ts';
import { newUiContext, startUiHarness, type UiHarness } from './ui-fixture.ts';

const VIEWER_TOKEN = 'viewer-ui-token-5d7e1f20';
let project: ChinookProject;
let ui: UiHarness;
let runId: string;
const pageErrors: string[] = [];

const api = (path: string, token: string, method = 'GET') =>
  fetch(`${ui.baseUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({ status: r.status, body: await r.json() }));

beforeAll(async () => {
  project = await createChinookProject();
  writeServerProject(project);
  const file = join(project.dir, 'panelsync.yml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  config.server.viewer_token = VIEWER_TOKEN;
  writeFileSync(file, stringify(config));
  ui = await startUiHarness(project);
  runId = (await api(`/syncs/${SYNC}/trigger`, API_TOKEN, 'POST')).body.run_id;
  await waitFor(async () => (await api(`/runs/${runId}`, API_TOKEN)).body.status === 'success', 20_000, 'the run to succeed');
  expect((await api(`/syncs/${SYNC}/trigger`, VIEWER_TOKEN, 'POST')).status).toBe(403);
}, 120_000);

afterAll(async () => {
  await ui?.close();
  await project?.close();
});

async function signedIn(token: string, path: string): Promise<Page> {
  const context = await newUiContext(ui.browser, { width: 1280, height: 800 }, { errors: pageErrors });
  const page = await context.newPage();
  await page.goto(`${ui.baseUrl}${path}`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Continue' }).click();
  return page;
}

/** Opens the first call of the run's debugger that sent rows; returns its details' text once loaded. */
async function openWriteCall(page: Page): Promise<string> {
  const call = page.locator('.call-tree > li', { hasText: 'PATCH' }).first();
  await call.locator('summary').click();
  const body = call.locator('.call-body');
  await waitFor(async () => !(await body.innerText()).includes('Loading'), 10_000, 'the call to load');
  return body.innerText();
}

describe('the web UI with the viewer token', () => {
  it('hides actions and bodies from a viewer, shows them to the operator, and lists the audit log', async () => {
    const viewer = await signedIn(VIEWER_TOKEN, `/syncs/${SYNC}`);
    await viewer.getByText('Read-only: the viewer token cannot start runs').waitFor();
    expect(await viewer.locator('#viewer-badge').isVisible()).toBe(true);
    expect(await viewer.getByRole('button', { name: 'Run now' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Full resync…' }).count()).toBe(0);

    await viewer.goto(`${ui.baseUrl}/runs/${runId}`);
    const seenByViewer = await openWriteCall(viewer);
    expect(seenByViewer).toContain('Request and response bodies are not shown to the viewer token.');
    expect(seenByViewer).not.toContain('Request body');
    expect(seenByViewer).not.toMatch(/@/);

    await viewer.goto(`${ui.baseUrl}/audit`);
    const rows = viewer.locator('.audit-table tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).innerText()).toMatch(/Viewer token\s+Run\s+customers-to-panel\s+denied/);
    expect(await rows.nth(1).innerText()).toMatch(new RegExp(`API token\\s+Run\\s+customers-to-panel\\s+started run ${runId}`));

    const operator = await signedIn(API_TOKEN, `/runs/${runId}`);
    const seenByOperator = await openWriteCall(operator);
    expect(seenByOperator).toContain('Request body');
    expect(seenByOperator).toMatch(/@/);
    expect(await operator.locator('#viewer-badge').isVisible()).toBe(false);
    await operator.goto(`${ui.baseUrl}/syncs/${SYNC}`);
    await operator.getByRole('button', { name: 'Run now' }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});
