/**
 * The run page's debugger on a run with more API calls than it loads at once: 1,500 rows in
 * batches of 10, one email in ten refused by the emulator, so every batch is split down to its bad
 * row (7 calls a batch, batches interleaved by concurrency). In Debian's Chromium against
 * `panelsync serve`: the page loads the first 1,000 calls page by page, says how many there are,
 * shows each split retry under the call it split even when the two came on different pages, loads
 * the rest on "Show more calls", and opens a call linked as #call-N that was not loaded yet. The
 * project has no alerts: the sync's page says that nobody is notified.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTree } from '../../src/state/call-tree.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { createChinookProject, generatedModel, NAME_MAPPINGS, type ChinookProject } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject } from '../helpers/run-helpers.ts';
import { API_TOKEN, writeServerProject } from '../server/server-fixture.ts';
import { SCREENSHOTS, startUiHarness, type UiHarness } from './ui-fixture.ts';

const ROWS = 1_500;
/** Calls the page loads without asking (CALLS_AUTO_LIMIT in src/server/ui/call-debugger.js). */
const AUTO_LOADED = 1_000;

let project: ChinookProject;
let ui: UiHarness;
let baseUrl: string;
let runId: string;
/** The run's calls, depth first: [seq, depth] as the tree of the whole run places them. */
let wholeTree: Array<[number, number]>;
/** The run's first {@link AUTO_LOADED} calls, depth first, [seq, depth]. */
let firstTree: Array<[number, number]>;
let totalCalls: number;
const pageErrors: string[] = [];

function poll<T>(read: () => Promise<T>) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}

/** The calls listed on the page, in the order shown: [seq, depth]. */
function listed(page: Page): Promise<Array<[number, number]>> {
  return page.locator('.call-tree > li').evaluateAll((items) =>
    items.map((li) => [Number((li as HTMLElement).dataset.seq), Number((li as HTMLElement).style.getPropertyValue('--depth'))] as [number, number]),
  );
}

/** Opens `path` of the UI and signs in; resolves once its heading reads `heading`. */
async function open(path: string, heading: string): Promise<Page> {
  const page = await ui.browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('API token').fill(API_TOKEN);
  await page.getByRole('button', { name: 'Continue' }).click();
  await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(heading);
  return page;
}

function openRun(hash = ''): Promise<Page> {
  return open(`/runs/${runId}${hash}`, `Run ${runId}`);
}

beforeAll(async () => {
  project = await createChinookProject({
    sql: generatedModel(ROWS),
    sync: { mappings: NAME_MAPPINGS },
    destination: { batch_size: 10, concurrency: 16 },
    emulator: { rejectEmailPattern: '^user\\d*7@' },
  });
  const run = await runProject(project);
  expectAddsUp(run.summary);
  expect(run.summary.rejected.added).toBe(ROWS / 10);
  runId = run.summary.run_id;
  totalCalls = run.summary.api_calls;
  expect(totalCalls).toBeGreaterThan(AUTO_LOADED + 1);
  writeServerProject(project);
  const opened = SqliteRunHistory.open(join(project.dir, 'state', 'state.db'))!;
  try {
    const calls = opened.history.listCalls(runId);
    wholeTree = callTree(calls).map((c) => [c.seq, c.depth]);
    firstTree = callTree(calls.filter((c) => c.seq <= AUTO_LOADED)).map((c) => [c.seq, c.depth]);
  } finally {
    opened.close();
  }
  ui = await startUiHarness(project);
  baseUrl = ui.baseUrl;
}, 60_000);

afterAll(async () => {
  await ui?.close();
  await project?.close();
});

describe('the debugger of a run with many calls', () => {
  it('loads the first calls page by page as one tree, says how many there are, and loads the rest on request', async () => {
    const page = await openRun();
    const countLine = page.locator('.call-count');
    await poll(() => countLine.textContent()).toMatch(new RegExp(`^${totalCalls.toLocaleString('en-US')} calls, the first 1,000 shown, \\d+ failed among them\\.$`));
    // The first 1,000 calls, depth first: each split retry right under the call it split, at its depth,
    // also when the call it split came on an earlier page.
    expect(await listed(page)).toEqual(firstTree);
    expect(firstTree.some(([, depth]) => depth === 3)).toBe(true);

    // A page of 250 more calls a click, until every call is shown.
    const more = page.getByRole('button', { name: /^Show \d+ more calls? \(/ });
    await more.scrollIntoViewIfNeeded();
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, '13-run-many-calls.png') });
    for (let shown = AUTO_LOADED; shown < totalCalls; shown += 250) {
      const next = Math.min(250, totalCalls - shown);
      expect(await more.textContent()).toBe(`Show ${next} more call${next === 1 ? '' : 's'} (${totalCalls - shown} not shown yet)`);
      await more.click();
      await poll(() => page.locator('.call-tree > li').count()).toBe(shown + next);
    }
    await poll(() => countLine.textContent()).toMatch(new RegExp(`^${totalCalls.toLocaleString('en-US')} calls, \\d+ failed\\.$`));
    expect(await listed(page)).toEqual(wholeTree);
    expect(await more.isVisible()).toBe(false);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('opens a call linked as #call-N that was not loaded yet', async () => {
    const [lastSeq] = wholeTree.reduce((a, b) => (b[0] > a[0] ? b : a));
    const page = await openRun(`#call-${lastSeq}`);
    await poll(() => page.locator(`#call-${lastSeq} details`).getAttribute('open')).toBe('');
    await poll(() => page.locator(`#call-${lastSeq} pre.body`).first().textContent()).toContain('"participants"');
    expect(await page.locator('.call-tree > li').count()).toBe(totalCalls);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('says on the sync page that nobody is notified when the project has no alert channels', async () => {
    const page = await open('/syncs/customers-to-panel', 'customers-to-panel');
    const alerts = page.locator('section.alerts');
    await poll(() => alerts.locator('.no-alert-channels').textContent()).toMatch(/^No alert channels\. Nobody is notified when this sync fails/);
    expect(await alerts.locator('.alert-channels').count()).toBe(0);
    // The run went through the engine alone (runSync, no alert watcher): no trigger was checked yet.
    expect(await alerts.locator('.alert-triggers td[data-label="State"]').allInnerTexts()).toEqual(['✓\nOK no run checked yet', '✓\nOK no run checked yet', '–\nOff']);
    expect(await alerts.locator('tr[data-trigger="slow_run"] td[data-label="Rule"]').textContent()).toBe('Off (set slow_run_minutes to watch run time)');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
