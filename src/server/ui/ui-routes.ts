/**
 * The web UI's routes: a single-page app of plain files (HTML, CSS, ES modules) kept next to this
 * module and served as they are, with no build step and nothing from a CDN.
 *
 * Paths: `/` and the client-side routes `/syncs/*`, `/runs/*`, `/audit` answer with `index.html`;
 * `/ui/{file}` answers with one of {@link UI_ASSETS} (any other name is a JSON 404). A browser
 * asking for an unknown page gets `index.html` with status 404 (see {@link wantsUiIndex}), so that
 * a mistyped link shows the UI's own "Page not found".
 */
import { readFile } from 'node:fs/promises';
import { Hono, type Context } from 'hono';
import { apiErrorBody } from '../api-error.ts';

/** The UI's static files, served under `/ui/`, with their Content-Type. */
export const UI_ASSETS = {
  'app.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'audit-page.js': 'text/javascript; charset=utf-8',
  'api-client.js': 'text/javascript; charset=utf-8',
  'call-debugger.js': 'text/javascript; charset=utf-8',
  'call-outcome.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'format.js': 'text/javascript; charset=utf-8',
  'run-page.js': 'text/javascript; charset=utf-8',
  'runs-chart.js': 'text/javascript; charset=utf-8',
  'sync-page.js': 'text/javascript; charset=utf-8',
  'sync-alerts.js': 'text/javascript; charset=utf-8',
  'syncs-page.js': 'text/javascript; charset=utf-8',
  'token-prompt.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const satisfies Record<string, string>;

type UiAsset = keyof typeof UI_ASSETS;

/**
 * Headers of every UI response: scripts, styles and API calls only from this origin (no inline
 * script, so data shown on a page cannot run as code), no framing, no referrer.
 */
const UI_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
} as const;

const UI_DIR = new URL('./', import.meta.url);

function isUiAsset(name: string): name is UiAsset {
  return Object.hasOwn(UI_ASSETS, name);
}

/** `index.html` with the UI's headers and `status` (200 for a page of the app, 404 for an unknown one). */
async function sendIndex(c: Context, status: 200 | 404 = 200): Promise<Response> {
  return c.body(await readFile(new URL('index.html', UI_DIR), 'utf8'), status, {
    ...UI_HEADERS,
    'Content-Type': 'text/html; charset=utf-8',
  });
}

/**
 * True when an unmatched request should get the UI's index (status 404) rather than the API's
 * JSON 404: a `GET` or `HEAD` whose `Accept` names `text/html` (a browser following a link) for a
 * path outside `/api` and `/ui` (whose unknown paths stay JSON, for programs and missing files).
 */
export function wantsUiIndex(c: Context): boolean {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return false;
  if (/^\/(api|ui)(\/|$)/.test(c.req.path)) return false;
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(c.req.header('accept') ?? '');
}

/** Answers an unmatched request {@link wantsUiIndex} accepted: `index.html`, status 404. */
export function uiNotFound(c: Context): Promise<Response> {
  return sendIndex(c, 404);
}

/**
 * Builds the UI sub-app, to mount at the root of the server app (`app.route('/', uiRoutes())`).
 * It answers only `GET /`, `GET /syncs/*`, `GET /runs/*`, `GET /audit` and `GET /ui/{file}`, so `/api/v1/*` and
 * `/metrics` stay with the API. Files are read from this folder on each request (they are small).
 *
 * The pages call the API (docs/http-api.md) with the bearer token the user enters once per
 * browser tab; this sub-app itself needs no token: it serves no data.
 */
export function uiRoutes(): Hono {
  const app = new Hono();
  const page = (c: Context) => sendIndex(c);
  app.get('/', page);
  app.get('/syncs/*', page);
  app.get('/runs/*', page);
  app.get('/audit', page);
  app.get('/ui/:file', async (c) => {
    const name = c.req.param('file');
    if (!isUiAsset(name)) {
      return c.json(apiErrorBody('NOT_FOUND', `no UI file "${name}" (known: ${Object.keys(UI_ASSETS).join(', ')})`), 404);
    }
    return c.body(await readFile(new URL(name, UI_DIR), 'utf8'), 200, { ...UI_HEADERS, 'Content-Type': UI_ASSETS[name] });
  });
  return app;
}
