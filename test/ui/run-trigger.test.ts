/**
 * What started a run, on the web UI, in Debian's Chromium against `panelsync serve`: the page of a
 * run a run-after chain started says "After" with the sync and run it followed (linked) and how
 * that run ended; the sync's page shows its run-after schedule.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOrchestration } from '../server/orchestration-project.ts';
import { API_TOKEN } from '../server/server-fixture.ts';
import { CHROMIUM } from './ui-fixture.ts';

let served: Awaited<ReturnType<typeof serveOrchestration>>;
let browser: Browser;

beforeAll(async () => {
  [served, browser] = await Promise.all([
    serveOrchestration({ orders: {}, refunds: { schedule: { after: ['orders'] } } }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await served?.close();
});

describe('the web UI says what started a run', () => {
  it('links a run-after run to the run it followed, and shows the chain on the sync', async () => {
    const ordersRun = (await served.api('/api/v1/syncs/orders/trigger', { method: 'POST' })).body.run_id as string;
    const [refundsRun] = await served.ended('refunds');
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${served.server.url}/runs/${refundsRun!.run_id}`);
    await page.getByLabel('API token').fill(API_TOKEN);
    await page.getByRole('button', { name: 'Continue' }).click();
    const trigger = page.locator('.facts dt', { hasText: /^Trigger$/ }).locator('xpath=following-sibling::dd[1]');
    await expect.poll(() => trigger.textContent(), { timeout: 15_000 }).toBe(`After orders (run ${ordersRun}, success)`);
    expect(await trigger.getByRole('link', { name: ordersRun }).getAttribute('href')).toBe(`/runs/${ordersRun}`);

    await page.goto(`${served.server.url}/syncs/refunds`);
    await expect.poll(() => page.getByText('After orders succeeds').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});
