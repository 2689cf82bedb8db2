/**
 * The web UI's routes: a single-page app of plain files (HTML, CSS, ES modules) kept next to this
 * module and served as they are, with no build step and nothing from a CDN.
 *
 * Paths: `/` and the client-side routes `/syncs/*`, `/runs/*` answer with `index.html`;
 * `/ui/{file}` answers with one of {@link UI_ASSETS} (any other name is a JSON 404).
 */
import { readFile } from 'node:fs/promises';
import { Hono, type Context } from 'hono';

/** The UI's static files, served under `/ui/`, with their Content-Type. */
export const UI_ASSETS = {
  'app.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'api-client.js': 'text/javascript; charset=utf-8',
  'call-debugger.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'format.js': 'text/javascript; charset=utf-8',
  'run-page.js': 'text/javascript; charset=utf-8',
  'runs-chart.js': 'text/javascript; charset=utf-8',
  'sync-page.js': 'text/javascript; charset=utf-8',
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

/**
 * Builds the UI sub-app, to mount at the root of the server app (`app.route('/', uiRoutes())`).
 * It answers only `GET /`, `GET /syncs/*`, `GET /runs/*` and `GET /ui/{file}`, so `/api/v1/*` and
 * `/metrics` stay with the API. Files are read from this folder on each request (they are small).
 *
 * The pages call the API (notes server-api.md) with the bearer token the user enters once per
 * browser tab; this sub-app itself needs no token: it serves no data.
 */
export function uiRoutes(): Hono {
  const app = new Hono();
  const sendIndex = async (c: Context) =>
    c.body(await readFile(new URL('index.html', UI_DIR), 'utf8'), 200, {
      ...UI_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
    });
  app.get('/', sendIndex);
  app.get('/syncs/*', sendIndex);
  app.get('/runs/*', sendIndex);
  app.get('/ui/:file', async (c) => {
    const name = c.req.param('file');
    if (!isUiAsset(name)) {
      return c.json({ error: { code: 'NOT_FOUND', message: `no UI file "${name}" (known: ${Object.keys(UI_ASSETS).join(', ')})` } }, 404);
    }
    return c.body(await readFile(new URL(name, UI_DIR), 'utf8'), 200, { ...UI_HEADERS, 'Content-Type': UI_ASSETS[name] });
  });
  return app;
}
