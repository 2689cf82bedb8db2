/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core, against
 * `panelsync serve` on a generated Chinook project and the emulator. It checks what a person sees:
 * the token prompt, the syncs, a sync's configuration, a run started from the sync page with its
 * counts, the rejected row with its reason, the debugger's call tree and one call's request body,
 * that a phone-sized screen does not scroll sideways and wraps paths, JSON and field names whole,
 * a run queued behind another (queued, then running with its live counts, then done, marked as a
 * full resync), the sync's alerts (trigger states, a delivered and an undelivered notification), a
 * failed run's error in the history and on its page, and the UI's own "Page not found" for a
 * mistyped address.
 *
 * Screenshots go to $PANELSYNC_UI_SCREENSHOTS (default: the OS temp dir's panelsync-ui-screenshots);
 * regenerate them with `npx vitest run test/ui`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { closedPort } from '../alerts/alert-project.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { API_TOKEN } from '../server/server-fixture.ts';
import { newUiContext, SCREENSHOTS, startUiHarness, type UiHarness } from './ui-fixture.ts';

const SYNC = 'customers-to-panel';
/** Chinook customer 3; the emulator rejects this email, so the run ends with one rejected row. */
const REJECTED_EMAIL = 'ftremblay@gmail.com';
const REJECTED_PK = '3';
const MARKUP = '<b class="injected">chinook</b>';
const LONG_TEMPLATE = '{{row.Company|default:"no_company"|upcase}}';
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let project: ChinookProject;
let ui: UiHarness;
let baseUrl: string;
let laptop: BrowserContext;
let page: Page;
let runPath: string;
const pageErrors: string[] = [];
/** Receives the notifications of the alert channel `hook-ok` (answers 204). */
let webhook: Server;
/** Notification bodies `webhook` received. */
const notices: Array<{ kind: string; trigger: string }> = [];
/** Path of the webhook URLs: the UI shows where a notification went as host:port only. */
const HOOK_PATH = '/hooks/secret-path-7c1e';

function newContext(viewport: { width: number; height: number }, mobile = false): Promise<BrowserContext> {
  // Console errors catch blocked scripts or styles (Content-Security-Policy) and missing files;
  // the 401 of the wrong token is expected.
  return newUiContext(ui.browser, viewport, { mobile, errors: pageErrors, ignore: ['status of 401'] });
}

async function signIn(p: Page, token = API_TOKEN): Promise<void> {
  await p.getByLabel('API token').fill(token);
  await p.getByRole('button', { name: 'Continue' }).click();
}

/** The page scrolls no wider than the viewport. */
async function expectNoHorizontalOverflow(p: Page): Promise<void> {
  const { scrollWidth, clientWidth, wide } = await p.evaluate(() => {
    const width = document.documentElement.clientWidth;
    // The outermost elements reaching past the right edge, to say what to fix.
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > width + 0.5))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(el.getBoundingClientRect().right)}`);
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: width, wide };
  });
  expect(scrollWidth, `wider than the screen: ${wide.join(', ')}`).toBeLessThanOrEqual(clientWidth);
}

/** Starts a loopback HTTP server; resolves with its port. */
function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/**
 * The words (runs of letters, digits, "_" and "-", e.g. "batches", "lifetime_value", "2025-08-07")
 * inside the elements of `selector` that are laid out on more than one line: broken mid-word.
 */
function brokenWords(p: Page, selector: string): Promise<string[]> {
  return p.locator(selector).evaluateAll((elements) =>
    elements.flatMap((root) => {
      const nodes: Text[] = [];
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) nodes.push(walker.currentNode as Text);
      // Where each character of the element's text is: its text node and offset (<wbr> splits nodes).
      const at: Array<[Text, number]> = nodes.flatMap((n) => [...n.data].map((_, i) => [n, i] as [Text, number]));
      const text = nodes.map((n) => n.data).join('');
      return [...text.matchAll(/[\p{L}\p{N}_-]+/gu)].flatMap((m) => {
        const range = document.createRange();
        const [startNode, startOffset] = at[m.index]!;
        const [endNode, endOffset] = at[m.index + m[0].length - 1]!;
        range.setStart(startNode, startOffset);
        range.setEnd(endNode, endOffset + 1);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        return tops.size > 1 ? [m[0]] : [];
      });
    }),
  );
}

/** Lines of text in the first element of `selector` that the layout wrapped: [lines of its text, lines drawn]. */
function wrappedLines(p: Page, selector: string): Promise<[number, number]> {
  return p.locator(selector).first().evaluate((root) => {
    const range = document.createRange();
    range.selectNodeContents(root);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    return [(root.textContent ?? '').split('\n').filter((l) => l.length > 0).length, tops.size];
  });
}

/** Waits for what the page shows (it polls the API every 1.5 s while a run is in progress). */
function poll<T>(read: () => Promise<T>) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}

function shot(p: Page, name: string): Promise<Buffer> {
  return p.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  // Each call takes 150 ms, so the run lasts long enough to be seen in progress.
  project = await createChinookProject({ emulator: { rejectEmailPattern: `^${REJECTED_EMAIL.replaceAll('.', '\\.')}$`, latencyMs: 150 } });
  const file = join(project.dir, 'panelsync.yml');
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  doc.server = { api_token: '${PANELSYNC_API_TOKEN}' };
  // Markup in project data must show as text.
  const syncDoc = (doc.syncs as Record<string, { mappings: Array<Record<string, unknown>> }>)[SYNC]!;
  syncDoc.mappings = syncDoc.mappings.map((m) => (m.to === 'characteristics.source' ? { ...m, static: MARKUP } : m));
  // A Liquid template without spaces: on a phone it wraps after "." and "|", not inside a word.
  syncDoc.mappings = syncDoc.mappings.map((m) => (m.to === 'company' ? { to: 'company', template: LONG_TEMPLATE } : m));
  // Two alert channels: one that takes notifications, one whose receiver is down.
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      notices.push(JSON.parse(body) as { kind: string; trigger: string });
      res.writeHead(204).end();
    });
  });
  const [hookPort, downPort] = [await listenOnLoopback(webhook), await closedPort()];
  doc.alerts = {
    channels: {
      'hook-ok': { type: 'webhook', url: `http://127.0.0.1:${hookPort}${HOOK_PATH}` },
      'hook-down': { type: 'webhook', url: `http://127.0.0.1:${downPort}${HOOK_PATH}` },
    },
    delivery: { max_attempts: 1, timeout_ms: 2000 },
    defaults: {
      recipients: [
        { channel: 'hook-ok', levels: ['warning', 'critical'] },
        { channel: 'hook-down', levels: ['critical'] },
      ],
    },
  };
  writeFileSync(file, stringify(doc));
  ui = await startUiHarness(project);
  baseUrl = ui.baseUrl;
  laptop = await newContext(LAPTOP);
  page = await laptop.newPage();
});

afterAll(async () => {
  await ui?.close();
  await new Promise((resolve) => (webhook ? webhook.close(resolve) : resolve(undefined)));
  await project?.close();
});

describe('web UI in Chromium', () => {
  it('asks for the API token once, and says so clearly when it is wrong', async () => {
    await page.goto(`${baseUrl}/`);
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to panelsync');
    await signIn(page, 'not-the-token-0000000');
    await poll(() => page.getByRole('alert').textContent()).toContain('did not accept this token (401 Unauthorized)');
    await shot(page, '01-token-rejected');

    // Signed in from the keyboard: focus moves to the page's heading (for screen readers), which
    // is no control and shows no focus ring.
    await page.getByLabel('API token').fill(API_TOKEN);
    await page.keyboard.press('Enter');
    const heading = page.getByRole('heading', { level: 1 });
    await poll(() => heading.textContent()).toBe('Syncs');
    await poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Syncs');
    expect(await heading.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('none');
    await shot(page, '01b-signed-in');
    // Kept for the tab: a reload goes straight to the page.
    await page.reload();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Syncs');
    expect(await page.getByLabel('API token').count()).toBe(0);
  });

  it('lists the syncs with model, mode, schedule and last run', async () => {
    const row = page.locator(`tr[data-sync="${SYNC}"]`);
    await poll(() => row.textContent()).toContain('Never run');
    const text = await row.innerText();
    expect(text).toContain('customers');
    expect(text).toContain('upsert');
    expect(text).toContain('Manual');
    expect(text).toContain('No runs yet');
  });

  it("shows a sync's configuration and runs it from its page, live, up to its counts", async () => {
    await page.getByRole('link', { name: SYNC }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(SYNC);
    expect(await page.evaluate(() => location.pathname)).toBe(`/syncs/${SYNC}`);
    const mappings = page.locator('.mappings-table');
    expect(await mappings.innerText()).toMatch(/characteristics\.lifetime_value\s+column lifetime_value/);
    expect(await mappings.innerText()).toMatch(/characteristics\.location\s+template \{\{ row\.City \}\}, \{\{ row\.Country \}\}/);
    expect(await mappings.innerText()).toContain(`characteristics.source\tfixed value ${JSON.stringify(MARKUP)}`);
    expect(await page.locator('.injected').count()).toBe(0);

    // Full resync sits behind a confirmation; cancelling it starts nothing.
    await page.getByRole('button', { name: 'Full resync…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain(`Full resync of ${SYNC}?`);
    await page.keyboard.press('Escape');
    expect(await dialog.isVisible()).toBe(false);
    expect(await page.locator('.runs-table').count()).toBe(0);

    await page.getByRole('button', { name: 'Run now' }).click();
    const notice = page.locator('.trigger-status');
    await poll(() => notice.textContent()).toMatch(/Run started\. View run r\w+/);
    // While it runs, the page says so without a reload; then the counts arrive.
    await poll(() => page.locator('.activity').textContent()).toContain('Running');
    await shot(page, '02-sync-running');
    const historyRow = page.locator('.runs-table tbody tr').first();
    await poll(() => historyRow.locator('td[data-label="Status"]').textContent()).toContain('Warning');
    expect(await historyRow.locator('td[data-label="Succeeded"]').textContent()).toBe('58');
    expect(await historyRow.locator('td[data-label="Rejected"]').textContent()).toBe('1');
    expect(await historyRow.locator('td[data-label="Invalid"]').textContent()).toBe('0');
    const failing = page.locator('.failing-table tbody tr');
    await poll(() => failing.count()).toBe(1);
    expect(await failing.locator('th').textContent()).toBe(REJECTED_PK);
    expect(await failing.innerText()).toContain('email is not deliverable');

    // Alerts: 1 row of 59 rejected is a warning; the channel listening to warnings got it, the
    // one listening to critical only got nothing.
    const alerts = page.locator('section.alerts');
    const trigger = (name: string) => alerts.locator(`tr[data-trigger="${name}"]`);
    const channel = (name: string) => alerts.locator(`tr[data-channel="${name}"]`);
    await poll(() => trigger('rejected_rows').locator('td[data-label="State"]').innerText()).toMatch(/^!\s+Warning since (just now|\d+ minutes? ago)\nnotified (just now|\d+ minutes? ago)$/);
    expect(await trigger('rejected_rows').locator('td[data-label="Rule"]').innerText()).toBe('Warning at any row rejected or invalid, critical at 20%');
    expect(await trigger('failed_run').locator('td[data-label="State"]').innerText()).toMatch(/^✓\s+OK\b/);
    expect(await trigger('failed_run').locator('td[data-label="Rule"]').innerText()).toBe('Critical at 1 failed run');
    expect(await trigger('slow_run').locator('td[data-label="State"]').innerText()).toMatch(/^–\s+Off$/);
    expect(await trigger('slow_run').locator('td[data-label="Rule"]').innerText()).toBe('Off (set slow_run_minutes to watch run time)');
    await poll(() => channel('hook-ok').locator('td[data-label="Last notification"]').innerText()).toMatch(/^✓\s+Delivered (just now|\d+ minutes? ago)$/);
    expect(notices.map((n) => `${n.kind} ${n.trigger}`)).toEqual(['alert rejected_rows']);
    expect(await channel('hook-ok').innerText()).toMatch(/hook-ok\s+webhook\s+warning, critical/);
    expect(await channel('hook-down').locator('td[data-label="Last notification"]').innerText()).toBe('None sent yet');
    expect(await alerts.textContent()).not.toContain('No alert channels');
    await shot(page, '03-sync-after-run');

    runPath = (await historyRow.getByRole('link').getAttribute('href'))!;
    expect(runPath).toMatch(/^\/runs\/r\w+$/);
  });

  it('shows the run: summary, the rejected row with its reason, and the debugger', async () => {
    await page.locator(`a[href="${runPath}"]`).first().click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(`Run ${runPath.slice('/runs/'.length)}`);
    await poll(() => page.locator('.page-heading .badge').textContent()).toContain('Warning');
    const tiles = await page.locator('.tiles').innerText();
    expect(tiles).toMatch(/58\s+succeeded/);
    expect(tiles).toMatch(/1\s+rejected/);
    expect(tiles).toMatch(/0\s+invalid/);

    const rejected = page.locator('.failed-rows-table tbody tr');
    expect(await rejected.count()).toBe(1);
    expect(await rejected.locator('th').textContent()).toBe(REJECTED_PK);
    expect(await rejected.locator('td[data-label="Result"]').textContent()).toContain('Rejected');
    expect(await rejected.locator('td[data-label="Reason"]').textContent()).toContain('email is not deliverable');

    // The debugger: the 422'd batch with its split retries nested under it.
    const calls = page.locator('.call-tree > li');
    const listed = await calls.count();
    expect(listed).toBeGreaterThan(2);
    expect(await page.locator('.call-count').textContent()).toContain(`${listed} calls`);
    const first422 = page.locator('.call-tree > li', { hasText: '422' }).first();
    expect(await first422.locator('summary').innerText()).toMatch(/PATCH\s+\/api\/participants\/batches\s[\s\S]*422/);
    expect(await page.locator('.call-tree > li:not(.depth-0)').count()).toBeGreaterThan(0);

    // A call that sent no rows: its details hold the facts and the bodies, nothing in between.
    const characteristics = page.locator('.call-tree > li', { hasText: 'GET' }).first();
    expect(await characteristics.locator('.call-path').textContent()).toBe('/api/characteristics');
    await characteristics.locator('summary').click();
    const characteristicsBody = characteristics.locator('.call-body');
    await poll(() => characteristicsBody.locator('pre.body').count()).toBe(1);
    expect(await characteristicsBody.evaluate((el) => [...el.childNodes].map((n) => (n instanceof Element ? n.className : `text ${n.textContent}`)))).toEqual([
      'facts compact',
      'call-messages',
    ]);
    expect(await characteristicsBody.locator('.body-block').first().innerText()).toMatch(/^Request body( · 0 B)?\s+No body\.$/);
    await characteristics.locator('summary').click();

    // Opened from the keyboard, the batch call shows the request body that carried the rejected email.
    await first422.locator('summary').focus();
    await page.keyboard.press('Enter');
    const body = first422.locator('pre.body').first();
    await poll(() => body.textContent()).toContain(REJECTED_EMAIL);
    expect(await body.textContent()).toContain('"participants"');
    expect(await body.textContent()).toContain(`"source": ${JSON.stringify(MARKUP)}`);
    expect(await page.locator('.injected').count()).toBe(0);
    expect(await first422.locator('.body-block').nth(1).textContent()).toContain('email is not deliverable');
    // The key the run sent to the API is never shown.
    expect(await page.locator('body').textContent()).not.toContain(TEST_API_KEY);

    // The rejected row links to the call that carried its final answer.
    await rejected.locator('td[data-label="API call"] a').click();
    const callId = (await rejected.locator('td[data-label="API call"] a').getAttribute('href'))!.slice(1);
    await poll(() => page.locator(`#${callId} details`).getAttribute('open')).toBe('');
    await shot(page, '04-run-debugger');
    expect(pageErrors).toEqual([]);
  });

  it('fits a phone screen without scrolling sideways', async () => {
    const phone = await newContext(PHONE, true);
    const p = await phone.newPage();
    await p.goto(`${baseUrl}${runPath}`);
    await signIn(p);
    await poll(() => p.locator('.failed-rows-table tbody tr').count()).toBe(1);
    await p.locator('.call-tree > li', { hasText: '422' }).first().locator('summary').click();
    await poll(() => p.locator('pre.body').first().textContent()).toContain('"participants"');
    await expectNoHorizontalOverflow(p);
    // JSON lines keep their indentation and stay whole (the block scrolls sideways), dates included.
    const [jsonLines, drawn] = await wrappedLines(p, 'pre.body');
    expect(jsonLines).toBeGreaterThan(20);
    expect(drawn).toBe(jsonLines);
    // Paths and URLs wrap after a "/", never inside a word, nested split calls (down to depth 6) included.
    expect(Math.max(...(await p.locator('.call-tree > li').evaluateAll((items) => items.map((li) => Number((li as HTMLElement).style.getPropertyValue('--depth'))))))).toBe(6);
    expect(await brokenWords(p, '.call-path')).toEqual([]);
    expect(await brokenWords(p, '.call-body dd.url')).toEqual([]);
    await shot(p, '05-phone-run');

    await p.getByRole('link', { name: SYNC }).first().click();
    await poll(() => p.getByRole('heading', { level: 1 }).textContent()).toBe(SYNC);
    await poll(() => p.locator('.runs-table tbody tr').count()).toBe(1);
    await expectNoHorizontalOverflow(p);
    // Field names wrap after a ".", templates and fixed values between words, never inside a word.
    expect(await brokenWords(p, '.mappings-table tbody th')).toEqual([]);
    expect(await brokenWords(p, '.mappings-table tbody td')).toEqual([]);
    expect(await p.locator('.mappings-table').innerText()).toContain(LONG_TEMPLATE);
    // Nothing of the table is cut off at the screen's edge.
    const mappingsFit = await p.locator('.mappings-table').evaluate((table) => [table.parentElement!.scrollWidth, table.parentElement!.clientWidth]);
    expect(mappingsFit[0]).toBeLessThanOrEqual(mappingsFit[1]!);
    await p.locator('.mappings-table').screenshot({ path: join(SCREENSHOTS, '06b-phone-mappings.png') });
    await shot(p, '06-phone-sync');

    await p.getByRole('link', { name: 'Syncs' }).first().click();
    await poll(() => p.locator(`tr[data-sync="${SYNC}"]`).textContent()).toContain('Warning');
    expect(await p.locator(`tr[data-sync="${SYNC}"] svg rect`).count()).toBeGreaterThan(0);
    await expectNoHorizontalOverflow(p);
    await shot(p, '07-phone-syncs');
    await phone.close();

    await page.getByRole('link', { name: 'Syncs' }).first().click();
    await poll(() => page.locator(`tr[data-sync="${SYNC}"]`).textContent()).toContain('Warning');
    await shot(page, '08-laptop-syncs');
    expect(pageErrors).toEqual([]);
  });

  it('starts a full resync only once confirmed, and it sends every row again', async () => {
    await page.getByRole('link', { name: SYNC }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(SYNC);
    await page.getByRole('button', { name: 'Full resync…' }).focus();
    await page.keyboard.press('Enter');
    // Cancel has the focus: confirming takes a deliberate move.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await poll(() => page.locator('.trigger-status').textContent()).toMatch(/Full resync started\. View run r\w+/);
    const rows = page.locator('.runs-table tbody tr');
    await poll(() => rows.count()).toBe(2);
    await poll(() => rows.first().locator('td[data-label="Status"]').textContent()).toContain('Warning');
    // A normal run would send only the rejected row again; the full resync sends all 59.
    expect(await rows.first().locator('td[data-label="Succeeded"]').textContent()).toBe('58');
    expect(await rows.first().locator('td[data-label="Rejected"]').textContent()).toBe('1');
    // The history marks the full resync; the run before it was a normal run.
    expect(await rows.first().locator('td[data-label="Trigger"]').innerText()).toMatch(/^api\s+Full resync$/);
    expect(await rows.nth(1).locator('td[data-label="Trigger"]').innerText()).toBe('api');
    expect(pageErrors).toEqual([]);
  });

  it('shows a run queued behind the one in progress as queued, then running with its live counts, then done', async () => {
    await page.goto(`${baseUrl}/syncs/${SYNC}`);
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(SYNC);
    // Slow calls: the run in progress lasts long enough to queue a full resync behind it and look at it.
    await project.knobs({ latency_ms: 800 });
    await page.getByRole('button', { name: 'Run now' }).click();
    await poll(() => page.locator('.trigger-status').textContent()).toMatch(/Run started\./);
    await page.getByRole('button', { name: 'Full resync…' }).click();
    await page.getByRole('button', { name: 'Start full resync' }).click();
    const notice = page.locator('.trigger-status');
    await poll(() => notice.textContent()).toMatch(/Full resync queued: it starts when the run in progress ends\. View run r\w+/);
    const queuedPath = (await notice.getByRole('link').getAttribute('href'))!;

    // Its page says it is queued, and what it will do; no rows or calls yet.
    await notice.getByRole('link').click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(`Run ${queuedPath.slice('/runs/'.length)}`);
    const badge = page.locator('.page-heading .badge');
    await poll(() => badge.textContent()).toContain('Queued');
    expect(await page.locator('#summary-heading + div').innerText()).toContain('starts when the run of this sync in progress ends');
    expect(await page.locator('.facts').first().innerText()).toMatch(/Options\s+Full resync/i);
    expect(await page.getByRole('heading', { name: 'API calls' }).isVisible()).toBe(false);
    expect(await page.locator('.error-card').count()).toBe(0);
    await shot(page, '09-run-queued');

    // Then, without a reload, it runs: the rows to send and the counts so far, updating.
    await project.knobs({ latency_ms: 400 });
    await poll(() => badge.textContent()).toContain('Running');
    await poll(() => page.locator('.run-progress label').textContent()).toMatch(/^\d+ of 59 planned rows done$/);
    const tiles = page.locator('.tiles');
    expect(await tiles.innerText()).toMatch(/\d+\s+succeeded[\s\S]*\d+\s+rejected[\s\S]*0\s+invalid[\s\S]*[1-9]\d*\s+API calls/);
    await shot(page, '10-run-live-progress');

    // The sync's history shows the run in progress with its counts so far, not "—".
    await page.locator('.breadcrumb').getByRole('link', { name: SYNC }).click();
    const row = page.locator(`.runs-table tbody tr[data-run-id="${queuedPath.slice('/runs/'.length)}"]`);
    await poll(() => row.locator('td[data-label="Status"]').textContent()).toContain('Running');
    expect(await row.locator('td[data-label="Succeeded"]').textContent()).toMatch(/^\d+$/);
    expect(await row.locator('td[data-label="API calls"]').textContent()).toMatch(/^[1-9]\d*$/);
    expect(await page.locator('.activity').innerText()).toMatch(/Running since .*; \d+ of 59 rows done/);
    await shot(page, '11-sync-live-progress');
    await poll(() => row.locator('td[data-label="Status"]').textContent()).toContain('Warning');
    expect(await row.locator('td[data-label="Succeeded"]').textContent()).toBe('58');
    expect(await row.locator('td[data-label="Trigger"]').innerText()).toMatch(/^api\s+Full resync$/);
    await project.knobs({ latency_ms: 150 });
    expect(pageErrors).toEqual([]);
  });

  it("shows why a run failed, in the history and on the run's page, and the alert it raised", async () => {
    await page.goto(`${baseUrl}/syncs/${SYNC}`);
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(SYNC);
    // The API refuses the key on the run's first call: the run fails.
    await project.knobs({ fail_next: [{ status: 401 }] });
    await page.getByRole('button', { name: 'Run now' }).click();
    await poll(() => page.locator('.trigger-status').textContent()).toMatch(/Run started\. View run r\w+/);
    const runId = (await page.locator('.trigger-status a').getAttribute('href'))!.slice('/runs/'.length);
    const row = page.locator(`.runs-table tbody tr[data-run-id="${runId}"]`);
    await poll(() => row.locator('td[data-label="Status"]').textContent()).toContain('Failed');
    const apiRun = (await (await fetch(`${baseUrl}/api/v1/runs/${runId}`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json()) as { error: string };
    expect(apiRun.error).toMatch(/401/);
    // As `panelsync runs` prints it: the run's error under its status.
    const error = row.locator('.run-error');
    if (apiRun.error.length <= 120) {
      expect(await error.textContent()).toBe(apiRun.error);
    } else {
      expect(await error.locator('summary').getAttribute('title')).toBe(apiRun.error);
      expect(await error.locator('summary').innerText()).toBe(`${apiRun.error.slice(0, 120).trimEnd()}…`);
      await error.locator('summary').click();
      expect(await error.locator('summary').innerText()).toBe('Error');
      expect(await error.locator('p').innerText()).toBe(apiRun.error);
    }
    // A run that did not fail has no error line.
    expect(await page.locator('.runs-table tbody tr').nth(1).locator('.run-error').count()).toBe(0);

    // The failed run is critical; the channel for critical alerts is down, and the page says so
    // with the cause and where it went (host and port, not the URL's path).
    const alerts = page.locator('section.alerts');
    await poll(() => alerts.locator('tr[data-trigger="failed_run"] td[data-label="State"]').innerText()).toMatch(/^✕\s+Critical since /);
    const down = alerts.locator('tr[data-channel="hook-down"] td[data-label="Last notification"]');
    await poll(() => down.innerText()).toMatch(/^✕\s+Delivery failed (just now|\d+ minutes? ago)\n/);
    expect(await down.locator('.delivery-error').textContent()).toMatch(/ECONNREFUSED/);
    expect(await down.locator('.delivery-error').textContent()).toContain('127.0.0.1:');
    await poll(() => alerts.locator('tr[data-channel="hook-ok"] td[data-label="Last notification"]').innerText()).toMatch(/^✓\s+Delivered/);
    expect(notices.map((n) => `${n.kind} ${n.trigger}`)).toContain('alert failed_run');
    expect(await page.locator('body').textContent()).not.toContain(HOOK_PATH);
    await shot(page, '14-sync-failed-run-alerts');

    // The run's page says it in full.
    await row.getByRole('link').first().click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(`Run ${runId}`);
    await poll(() => page.locator('.callout.status-border-failed').textContent()).toBe(`Failed: ${apiRun.error}`);
    await shot(page, '15-run-failed');

    const phone = await newContext(PHONE, true);
    const p = await phone.newPage();
    await p.goto(`${baseUrl}/syncs/${SYNC}`);
    await signIn(p);
    await poll(() => p.locator('.runs-table .run-error').count()).toBe(1);
    await expectNoHorizontalOverflow(p);
    // The URL in the error wraps after a "/", as do the delivery error and, on the run's page, the error in full.
    expect(await brokenWords(p, '.run-error')).toEqual([]);
    expect(await brokenWords(p, '.delivery-error')).toEqual([]);
    await shot(p, '16-phone-sync-failed-run');
    await p.locator(`a[href="/runs/${runId}"]`).first().click();
    await poll(() => p.locator('.callout.status-border-failed').count()).toBe(1);
    expect(await brokenWords(p, '.callout')).toEqual([]);
    await expectNoHorizontalOverflow(p);
    await shot(p, '17-phone-run-failed');
    await phone.close();
    expect(pageErrors).toEqual([]);
  });

  it('shows its own "Page not found" for a mistyped address', async () => {
    const before = pageErrors.length;
    const response = await page.goto(`${baseUrl}/synks/${SYNC}`);
    // The server answers 404 (so that tools see it), with the UI's page for a person.
    expect(response?.status()).toBe(404);
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found');
    await shot(page, '12-page-not-found');
    await page.getByRole('link', { name: 'Go to the syncs' }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Syncs');
    // Chromium reports the page's own 404 on the console; nothing else went wrong.
    const errors = pageErrors.splice(before);
    expect(errors.filter((e) => !e.includes('status of 404 (Not Found)'))).toEqual([]);
    expect(errors).toHaveLength(1);
  });
});
