/**
 * What the UI tests share: Debian's Chromium (playwright-core), `panelsync serve` on a project,
 * browser contexts at a given size that collect the page's errors, and where screenshots go.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import type { ChinookProject } from '../helpers/chinook-project.ts';
import { spawnServe } from '../server/server-fixture.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** Where screenshots go: $PANELSYNC_UI_SCREENSHOTS, default the OS temp dir's panelsync-ui-screenshots. */
export const SCREENSHOTS = process.env.PANELSYNC_UI_SCREENSHOTS ?? join(tmpdir(), 'panelsync-ui-screenshots');

/** A running `panelsync serve` and a browser. */
export interface UiHarness {
  baseUrl: string;
  browser: Browser;
  /** Closes the browser and stops the server (SIGTERM, waits for it to exit). */
  close(): Promise<void>;
}

/**
 * Starts `panelsync serve` on `project` (written with writeServerProject) and Chromium, in parallel;
 * makes the screenshots folder.
 * @throws Error saying how to install Chromium when /usr/bin/chromium is missing
 */
export async function startUiHarness(project: ChinookProject): Promise<UiHarness> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it)`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  let server: ChildProcessWithoutNullStreams | undefined;
  const [baseUrl, browser] = await Promise.all([
    spawnServe(project).then((serve) => ((server = serve.child), serve.url)),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] }),
  ]);
  return {
    baseUrl,
    browser,
    async close() {
      await browser.close();
      if (server && server.exitCode === null) {
        const exited = new Promise((resolve) => server!.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/**
 * A browser context of `viewport` (a phone: touch, 2× pixels) whose pages push their script errors
 * and console errors to `errors`, except console errors containing one of `ignore` (e.g. an
 * expected "status of 404").
 */
export async function newUiContext(
  browser: Browser,
  viewport: { width: number; height: number },
  options: { mobile?: boolean; errors: string[]; ignore?: readonly string[] },
): Promise<BrowserContext> {
  const mobile = options.mobile === true;
  const context = await browser.newContext({ viewport, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: mobile ? 2 : 1 });
  context.on('page', (p) => {
    p.on('pageerror', (error) => options.errors.push(error.message));
    p.on('console', (message) => {
      if (message.type() === 'error' && !(options.ignore ?? []).some((text) => message.text().includes(text))) options.errors.push(message.text());
    });
  });
  return context;
}
