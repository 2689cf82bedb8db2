/**
 * A run's page on the cases that used to read badly, in Debian's Chromium at 1440×900 and 390×844
 * against `panelsync serve`: a call that got no response (its error beside a short badge, never a
 * badge wider than the screen), retries nested under the attempt they retried, each call saying
 * what came of it in the words of `panelsync debug` (same function, src/server/ui/call-outcome.js),
 * batch calls named by their rows, 1-based ("upsert b2 row 7", never the internal tag), compact
 * rejected rows on a phone, the counts table fitting a phone, every status symbol drawn by an
 * installed font (no empty box), and the page of an unknown run.
 *
 * Two runs of 200 generated rows in batches of 50: the first loses its first call's connection
 * (no response, retried) and has every email ending in 7 refused (split down to the bad rows); the
 * second resends those rows, and its batch fails twice with 5xx: the client gives up, the rows are
 * unsent.
 *
 * Screenshots go to $PANELSYNC_UI_SCREENSHOTS (default: the OS temp dir's panelsync-ui-screenshots);
 * regenerate them with `npx vitest run test/ui`.
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCallTree } from '../../src/cli/format-call-tree.ts';
import { isRetryableStatus } from '../../src/http/errors.ts';
import { callTree } from '../../src/state/call-tree.ts';
import type { OutcomeItem } from '../../src/state/run-history.ts';
import { SqliteRunHistory } from '../../src/state/sqlite-run-history.ts';
import { createChinookProject, generatedModel, NAME_MAPPINGS, type ChinookProject } from '../helpers/chinook-project.ts';
import { runProject } from '../helpers/run-helpers.ts';
import { API_TOKEN, writeServerProject } from '../server/server-fixture.ts';
import { newUiContext, SCREENSHOTS, startUiHarness, type UiHarness } from './ui-fixture.ts';

const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
/** A compact failed row on a phone: two short lines (key, result, change, call; the reason). */
const MAX_ROW_HEIGHT_PX = 90;
/** The whole page of a run with 20 failed rows and 2 calls, on a phone (it was about 5,900 px). */
const PAGE_HEIGHT_PX = 4_400;

let project: ChinookProject;
let ui: UiHarness;
let baseUrl: string;
let splitRun: string;
let gaveUpRun: string;
/** What `panelsync debug` says came of each call, by seq, for each run ('' when nothing). */
const cliOutcomes = new Map<string, Map<number, string>>();
let splitRows: OutcomeItem[];
const pageErrors: string[] = [];

function poll<T>(read: () => Promise<T>) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}

function newContext(viewport: { width: number; height: number }, mobile = false): Promise<BrowserContext> {
  return newUiContext(ui.browser, viewport, { mobile, errors: pageErrors, ignore: ['status of 404'] });
}

/** Opens `path` in a new page of `context`, signs in, and waits for the heading `heading`. */
async function open(context: BrowserContext, path: string, heading: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('API token').fill(API_TOKEN);
  await page.getByRole('button', { name: 'Continue' }).click();
  await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(heading);
  return page;
}

/** Opens a run's page and waits until its calls and failed rows are listed. */
async function openRun(context: BrowserContext, runId: string, calls: number): Promise<Page> {
  const page = await open(context, `/runs/${runId}`, `Run ${runId}`);
  await poll(() => page.locator('.call-tree > li').count()).toBe(calls);
  await poll(() => page.locator('.failed-rows-table tbody tr').count()).toBeGreaterThan(0);
  return page;
}

/** The page's width and height as laid out, and what reaches past the right edge. */
function layout(page: Page): Promise<{ scrollWidth: number; innerWidth: number; scrollHeight: number; wide: string[] }> {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > width + 0.5))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(el.getBoundingClientRect().right)}`);
    const scroller = document.scrollingElement!;
    return { scrollWidth: scroller.scrollWidth, innerWidth: width, scrollHeight: scroller.scrollHeight, wide };
  });
}

async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scrollWidth, innerWidth, wide } = await layout(page);
  expect(scrollWidth, `wider than the screen: ${wide.join(', ')}`).toBeLessThanOrEqual(innerWidth);
}

/** Each listed call's outcome as shown (without the arrow), by seq. */
function shownOutcomes(page: Page): Promise<Array<[number, string]>> {
  return page.locator('.call-tree > li').evaluateAll((items) =>
    items.map((li) => {
      const note = li.querySelector('.call-outcome') as HTMLElement | null;
      const text = note && !note.hidden ? (note.textContent ?? '').replace(/^→ /, '') : '';
      return [Number((li as HTMLElement).dataset.seq), text] as [number, string];
    }),
  );
}

function shot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** `panelsync debug`'s call lines: `  12  422   5 ms   ├─ upsert b1 rows 1-25 → rejected as a whole: split in 2`. */
function outcomesOfCliTree(lines: string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of lines.slice(1)) {
    const m = /^\s*(\d+)\s+(?:\d{3}|-)\s+[\d.]+ (?:ms|s|min)\b.*?(?: → (.*))?$/.exec(line);
    if (m) out.set(Number(m[1]), m[2] ?? '');
  }
  return out;
}

beforeAll(async () => {
  project = await createChinookProject({
    sql: generatedModel(200),
    sync: { mappings: NAME_MAPPINGS },
    destination: { batch_size: 50, concurrency: 1, max_attempts: 2 },
    emulator: { rejectEmailPattern: '^user\\d*7@' },
  });
  // The first call loses its connection: no response, then a retry that goes through.
  await project.knobs({ fail_next: [{ drop: true }] });
  const first = await runProject(project);
  expect(first.summary.rejected.added).toBe(20);
  splitRun = first.summary.run_id;
  // The next run resends the 20 rejected rows; the API fails their batch twice: the client gives up.
  await project.knobs({ fail_next: [{ status: 500 }, { status: 503 }] });
  const second = await runProject(project);
  expect(second.summary.status).toBe('failed');
  expect(second.summary.unsent.added + second.summary.unsent.changed).toBeGreaterThan(0);
  gaveUpRun = second.summary.run_id;
  writeServerProject(project);

  const opened = SqliteRunHistory.open(join(project.dir, 'state', 'state.db'))!;
  try {
    for (const run of [splitRun, gaveUpRun]) {
      const rows = opened.history.listOutcomes(run, { results: ['rejected', 'invalid', 'unsent'], limit: 10_000 });
      if (run === splitRun) splitRows = rows;
      cliOutcomes.set(run, outcomesOfCliTree(formatCallTree(callTree(opened.history.listCalls(run)), rows)));
    }
  } finally {
    opened.close();
  }
  ui = await startUiHarness(project);
  baseUrl = ui.baseUrl;
}, 90_000);

afterAll(async () => {
  await ui?.close();
  await project?.close();
});

describe("a run's page", () => {
  it('says what came of each call as panelsync debug does, nests retries, and names rows 1-based', async () => {
    const desktop = await newContext(DESKTOP);
    for (const run of [splitRun, gaveUpRun]) {
      const expected = cliOutcomes.get(run)!;
      const page = await openRun(desktop, run, expected.size);
      // The same words, call by call, once the failed rows are loaded.
      await poll(async () => Object.fromEntries(await shownOutcomes(page))).toEqual(Object.fromEntries(expected));
      await page.close();
    }
    const cli = [...cliOutcomes.get(splitRun)!.values()];
    expect(cli).toContain('rejected as a whole: split in 2');
    expect(cli.some((o) => /^pk \d*7 rejected: .*email is not deliverable/.test(o))).toBe(true);
    const gaveUp = [...cliOutcomes.get(gaveUpRun)!.values()];
    expect(gaveUp.some((o) => /^gave up after 2 attempts; 20 rows unsent \(pk [\d, ]+, …\): /.test(o))).toBe(true);

    const page = await openRun(desktop, splitRun, cliOutcomes.get(splitRun)!.size);
    // The call that got no response, and its retry one step in, right under it.
    const noResponse = page.locator('.call-tree > li', { has: page.locator('.badge', { hasText: 'No response' }) }).first();
    const retry = page.locator('.call-tree > li.call-retry').first();
    expect(await noResponse.locator('.call-outcome').textContent()).toMatch(/^→ .+; retried$/);
    expect(await retry.locator('.call-attempt').textContent()).toBe('↻ attempt 2');
    const [firstBox, retryBox] = [await noResponse.boundingBox(), await retry.boundingBox()];
    expect(retryBox!.x).toBeGreaterThan(firstBox!.x + 10);
    expect(Number(await retry.getAttribute('data-seq'))).toBe(Number(await noResponse.getAttribute('data-seq')) + 1);
    // The badge says "No response" and stays small; the error is beside it, wrapped.
    expect((await noResponse.locator('.badge').boundingBox())!.width).toBeLessThan(160);

    // Each rejected row's call names its row 1-based, as the rows table and `panelsync debug` do.
    const rejected = splitRows.filter((r) => r.result === 'rejected');
    for (const row of rejected.slice(0, 5)) {
      expect(await page.locator(`#call-${row.call_seq} .call-notes`).textContent()).toBe(`upsert ${row.batch} row ${row.batch_index! + 1}`);
    }
    await page.locator(`a[href="#call-${rejected[0]!.call_seq}"]`).first().click();
    const opened = page.locator(`#call-${rejected[0]!.call_seq}`);
    await poll(() => opened.locator('pre.body').count()).toBe(2);
    expect(await opened.locator('.call-body').innerText()).toContain(`ROWS SENT\nupsert ${rejected[0]!.batch} row ${rejected[0]!.batch_index! + 1}`);
    // The engine's internal tag (upsert:b2:6+1) is shown nowhere.
    expect(await page.locator('body').innerText()).not.toMatch(/\w+:b\d+:\d+\+\d+/);
    await expectNoSidewaysScroll(page);
    await noResponse.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, '20-desktop-run-no-response-retry.png') });
    await shot(page, '21-desktop-run-details');
    await desktop.close();
    expect(pageErrors).toEqual([]);
  });

  it('fits a phone: no sideways scroll, compact failed rows, the counts table whole', async () => {
    const phone = await newContext(PHONE, true);
    const page = await openRun(phone, splitRun, cliOutcomes.get(splitRun)!.size);
    await poll(() => page.locator('.failed-rows-table tbody tr').count()).toBe(20);
    await expectNoSidewaysScroll(page);

    // Twenty rejected rows take twenty short cards, not a screen each.
    const heights = await page.locator('.failed-rows-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getBoundingClientRect().height));
    expect(Math.max(...heights)).toBeLessThanOrEqual(MAX_ROW_HEIGHT_PX);
    const rowsSection = (await page.locator('section[aria-labelledby="rows-heading"]').boundingBox())!;
    expect(rowsSection.height).toBeLessThanOrEqual(20 * (MAX_ROW_HEIGHT_PX + 8) + 150);
    // The row still reads whole: key, result, change, the API's reason and its call.
    const first = page.locator('.failed-rows-table tbody tr').first();
    expect(await first.innerText()).toMatch(/^\d+\s+✕\s*Rejected\s+added\s+.*email is not deliverable\s+#\d+$/);

    // The counts by change fit the screen: nothing to scroll, nothing cut.
    const counts = await page.locator('.counts-table').evaluate((table) => {
      const box = table.getBoundingClientRect();
      return { right: box.right, scroll: table.parentElement!.scrollWidth, client: table.parentElement!.clientWidth };
    });
    expect(counts.scroll).toBeLessThanOrEqual(counts.client);
    expect(counts.right).toBeLessThanOrEqual(PHONE.width);
    expect(await page.locator('.counts-table thead').innerText()).toMatch(/ROWS\s+ADDED\s+CHANGED\s+REMOVED/);

    // Calls open without widening the page, the call with no response included.
    const noResponse = page.locator('.call-tree > li', { has: page.locator('.badge', { hasText: 'No response' }) }).first();
    await noResponse.locator('summary').click();
    await poll(() => page.locator('.call-body dd.reason').count()).toBe(1);
    await expectNoSidewaysScroll(page);
    await noResponse.locator('summary').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(SCREENSHOTS, '22-phone-call-no-response.png') });
    await shot(page, '22b-phone-run-details');
    await page.locator('#rows-heading').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, '23-phone-failed-rows.png') });

    // Twenty rows unsent for one long reason: each shows its start, and all of it when opened.
    const gaveUp = await openRun(phone, gaveUpRun, cliOutcomes.get(gaveUpRun)!.size);
    await poll(() => gaveUp.locator('.failed-rows-table tbody tr').count()).toBe(20);
    await expectNoSidewaysScroll(gaveUp);
    expect(await gaveUp.locator('#rows-heading').textContent()).toBe('Rejected, invalid and unsent rows');
    const unsentHeights = await gaveUp.locator('.failed-rows-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getBoundingClientRect().height));
    expect(Math.max(...unsentHeights)).toBeLessThanOrEqual(MAX_ROW_HEIGHT_PX);
    const { scrollHeight } = await layout(gaveUp);
    expect(scrollHeight).toBeLessThanOrEqual(PAGE_HEIGHT_PX);
    const reason = gaveUp.locator('.failed-rows-table tbody tr').first().locator('details.row-reason');
    const full = (await reason.locator('summary').getAttribute('title'))!;
    expect(full).toMatch(/^not answered, the run stopped: PATCH http:\/\/127\.0\.0\.1:\d+\/api\/participants\/batches .*503/);
    await reason.locator('summary').click();
    expect(await reason.locator('p').innerText()).toBe(full);
    await expectNoSidewaysScroll(gaveUp);
    await shot(gaveUp, '24-phone-run-gave-up-unsent');
    await phone.close();
    expect(pageErrors).toEqual([]);
  });

  it('draws every status symbol with an installed font (no empty box), the interrupted one as an icon', async () => {
    const desktop = await newContext(DESKTOP);
    const page = await open(desktop, '/', 'Syncs');
    // As a string: the test runner would rewrite an import() inside a function passed to evaluate.
    const symbols = (await page.evaluate(`(async () => {
      const { statusBadge, STATUS_KEYS } = await import('/ui/format.js');
      const host = document.createElement('div');
      document.body.append(host);
      // A character no installed font has is drawn as the font's empty box; a symbol drawn the same is missing.
      const draw = (text, font) => {
        const canvas = document.createElement('canvas');
        canvas.width = 48;
        canvas.height = 48;
        const ctx = canvas.getContext('2d');
        ctx.font = font;
        ctx.fillText(text, 8, 36);
        return canvas.toDataURL();
      };
      const result = {};
      const check = (name, text, font) => {
        result[name] = draw(text, font) === draw('\\u{E000}', font) ? 'missing ' + text : 'drawn';
      };
      for (const key of STATUS_KEYS) {
        const badge = statusBadge(key);
        host.append(badge);
        const symbol = badge.querySelector('.badge-symbol');
        const icon = symbol.querySelector('svg');
        const style = getComputedStyle(symbol);
        if (icon) result[key] = icon.getBoundingClientRect().width > 4 && icon.querySelectorAll('rect').length > 0 ? 'icon' : 'empty icon';
        else check(key, symbol.textContent, style.fontWeight + ' ' + style.fontSize + ' ' + style.fontFamily);
      }
      // The debugger's own marks: disclosure triangles, retries, outcomes, folds.
      const body = getComputedStyle(document.body);
      for (const mark of ['▸', '▾', '↻', '→', '…', '—', '–', '·']) check(mark, mark, body.fontSize + ' ' + body.fontFamily);
      host.remove();
      return result;
    })()`)) as Record<string, string>;
    expect(symbols.interrupted).toBe('icon');
    expect(Object.entries(symbols).filter(([, v]) => v !== 'drawn' && v !== 'icon')).toEqual([]);
    await page.evaluate(`import('/ui/format.js').then(({ statusBadge }) => document.querySelector('main').prepend(statusBadge('interrupted')))`);
    await page.locator('main .badge.status-interrupted').screenshot({ path: join(SCREENSHOTS, '25-interrupted-badge.png') });
    await desktop.close();
    expect(pageErrors).toEqual([]);
  });

  it('says that a run is unknown, with a way back, not an API route to call', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const context = await newContext(viewport, viewport === PHONE);
      const page = await open(context, '/runs/rdoesnotexist0', 'Run not found');
      const card = page.locator('.error-card');
      expect(await card.innerText()).toContain('There is no run "rdoesnotexist0" on this server.');
      expect(await card.innerText()).not.toMatch(/GET |\/api\/|\{name\}/);
      await expectNoSidewaysScroll(page);
      await shot(page, viewport === PHONE ? '27-phone-unknown-run' : '26-desktop-unknown-run');
      await card.getByRole('link', { name: 'Back to the syncs' }).click();
      await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Syncs');
      await context.close();
    }
  });
});

describe("the UI's retry rule", () => {
  it('agrees with the API client on every status (src/http/errors.ts)', async () => {
    const context = await newContext(DESKTOP);
    const page = await open(context, '/', 'Syncs');
    const retried = (await page.evaluate(
      `import('/ui/format.js').then(({ isRetriedStatus }) => Array.from({ length: 500 }, (_, i) => i + 100).filter((status) => isRetriedStatus(status)))`,
    )) as number[];
    await context.close();
    expect(retried).toEqual(Array.from({ length: 500 }, (_, i) => i + 100).filter((status) => isRetryableStatus(status)));
  });
});
