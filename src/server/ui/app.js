/**
 * The single-page app: client-side routes (`/`, `/syncs/{name}`, `/runs/{id}`), the token gate,
 * and the refresh loop that polls every 1.5 s while a run is in progress.
 *
 * A page is `(container, params, { refreshNow }) => Page`, where
 * Page = { refresh(): Promise<{ live: boolean, idleMs: number | null }>, dispose?(): void }:
 * `refresh` loads and shows the page's data (throwing ApiError on failure); `live` says a run is in
 * progress (poll again in 1.5 s), `idleMs` how long to wait otherwise (null: no more polling).
 * `refreshNow` asks for a refresh at once (e.g. after a trigger).
 */
import { ApiError, forgetToken, loadTokenKind, storedToken, tokenKind } from './api-client.js';
import { auditPage } from './audit-page.js';
import { h } from './dom.js';
import { relativeTime } from './format.js';
import { runPage } from './run-page.js';
import { syncPage } from './sync-page.js';
import { syncsPage } from './syncs-page.js';
import { showTokenPrompt } from './token-prompt.js';

/** Poll interval while a run is in progress, ms. */
const LIVE_POLL_MS = 1500;
/** Wait after a failed refresh before trying again, ms. */
const RETRY_MS = 5000;

const main = document.getElementById('main');
const forgetButton = document.getElementById('forget-token');
const viewerBadge = document.getElementById('viewer-badge');

/** The page being shown, its poll timer, and a counter that voids the callbacks of older pages. */
let current = { page: null, timer: null, generation: 0, hasData: false };

/** Matches a path to its page; `null` for unknown paths. */
function route(pathname) {
  if (pathname === '/' || pathname === '') return { page: syncsPage, params: {} };
  if (pathname === '/audit' || pathname === '/audit/') return { page: auditPage, params: {} };
  let m = /^\/syncs\/([^/]+)\/?$/.exec(pathname);
  if (m) return withParam(syncPage, 'name', m[1]);
  m = /^\/runs\/([^/]+)\/?$/.exec(pathname);
  if (m) return withParam(runPage, 'id', m[1]);
  return null;
}

function withParam(page, key, encoded) {
  try {
    return { page, params: { [key]: decodeURIComponent(encoded) } };
  } catch {
    return null; // malformed %-escape
  }
}

function stopCurrent() {
  clearTimeout(current.timer);
  current.page?.dispose?.();
  current = { page: null, timer: null, generation: current.generation + 1, hasData: false };
}

/**
 * Shows the page of the current location.
 * @param {{ focus: boolean }} options move focus to the new page's heading (after a navigation)
 */
function render({ focus }) {
  stopCurrent();
  shownPath = location.pathname + location.search;
  if (!storedToken()) {
    askForToken();
    return;
  }
  forgetButton.hidden = false;
  if (tokenKind() === null) {
    // Which pages' actions to show depends on the token: asked once, then the page is drawn.
    loadTokenKind().then(
      () => render({ focus }),
      (err) => {
        if (err instanceof ApiError && err.status === 401) {
          forgetToken();
          askForToken('The server did not accept the stored token (401 Unauthorized): it may have changed. Enter it again.');
        } else {
          main.replaceChildren(errorCard(err, err instanceof Error ? err.message : String(err), false));
        }
      },
    );
    return;
  }
  viewerBadge.hidden = tokenKind() !== 'viewer';
  const match = route(location.pathname);
  if (!match) {
    main.replaceChildren(
      h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', null, 'There is no page at this address. ', h('a', { href: '/' }, 'Go to the syncs')),
    );
    document.title = 'Not found · panelsync';
    return;
  }
  const content = h('div', { class: 'page', hidden: true });
  const failure = h('div', { class: 'page-failure', hidden: true });
  const loading = h('p', { class: 'loading' }, 'Loading…');
  const banner = h('div', { class: 'update-banner', role: 'status', hidden: true });
  main.replaceChildren(banner, failure, content, loading);
  const generation = current.generation;
  let focusPending = focus;
  let inFlight = false;
  let again = false;
  const refreshNow = () => {
    if (generation !== current.generation) return;
    if (inFlight) {
      again = true;
      return;
    }
    clearTimeout(current.timer);
    tick();
  };
  const page = match.page(content, match.params, { refreshNow });
  current.page = page;

  const tick = async () => {
    inFlight = true;
    try {
      await tickOnce();
    } finally {
      inFlight = false;
    }
    if (again) {
      again = false;
      refreshNow();
    }
  };

  const tickOnce = async () => {
    let delay;
    try {
      const { live, idleMs } = await page.refresh();
      if (generation !== current.generation) return;
      current.hasData = true;
      loading.remove();
      failure.hidden = true;
      content.hidden = false;
      banner.hidden = true;
      if (focusPending) {
        focusPending = false;
        content.querySelector('h1')?.focus();
      }
      delay = live ? LIVE_POLL_MS : idleMs;
    } catch (err) {
      if (generation !== current.generation) return;
      if (err instanceof ApiError && err.status === 401) {
        forgetToken();
        stopCurrent();
        askForToken('The server did not accept the stored token (401 Unauthorized): it may have changed. Enter it again.');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      // A network failure or a server error may pass; an answer such as 404 will not.
      const retryable = !(err instanceof ApiError) || err.status === 0 || err.status >= 500;
      if (current.hasData) {
        banner.hidden = false;
        banner.textContent = `Could not update: ${message} Retrying in ${RETRY_MS / 1000} s.`;
      } else {
        loading.remove();
        failure.hidden = false;
        const key = `${err instanceof ApiError ? err.code : ''} ${message}`;
        if (failure.dataset.key !== key) {
          failure.dataset.key = key;
          failure.replaceChildren(errorCard(err, message, retryable));
        }
        if (focusPending) failure.querySelector('h1')?.focus();
      }
      if (!retryable) return;
      delay = RETRY_MS;
    }
    if (delay === null || delay === undefined) return;
    current.timer = setTimeout(() => {
      if (generation !== current.generation) return;
      if (document.hidden) {
        document.addEventListener('visibilitychange', () => generation === current.generation && tick(), { once: true });
      } else {
        tick();
      }
    }, delay);
  };
  tick();
}

/** What a page shows when its first load failed: the API's message, and whether it retries. */
function errorCard(err, message, retrying) {
  const code = err instanceof ApiError ? err.code : null;
  const notFound = err instanceof ApiError && err.status === 404;
  const title =
    code === 'NETWORK'
      ? 'Server not reachable'
      : code === 'RUN_NOT_FOUND'
        ? 'Run not found'
        : code === 'SYNC_NOT_FOUND'
          ? 'Sync not found'
          : notFound
            ? 'Not found'
            : 'Something went wrong';
  return h(
    'div',
    { class: 'card error-card', role: 'alert' },
    h('h1', { tabindex: '-1' }, title),
    h('p', null, message),
    retrying ? h('p', null, `This page checks again every ${RETRY_MS / 1000} s.`) : null,
    err instanceof ApiError && err.code ? h('p', { class: 'muted' }, `Error code: ${err.code}`) : null,
    h('p', null, h('a', { href: '/' }, 'Back to the syncs')),
  );
}

function askForToken(reason) {
  forgetButton.hidden = true;
  viewerBadge.hidden = true;
  document.title = 'Sign in · panelsync';
  showTokenPrompt(main, { reason, onAccepted: () => render({ focus: true }) });
}

/** Navigates to `path` inside the app (pushes a history entry). */
function navigate(path) {
  history.pushState(null, '', path);
  render({ focus: true });
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
  // Fragment links (skip link, a call of the debugger) keep the browser's behaviour.
  if (!link || link.target || link.hasAttribute('download') || link.getAttribute('href').startsWith('#')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !route(url.pathname)) return;
  event.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    location.hash = url.hash; // same page, another fragment: the page reacts to hashchange
    return;
  }
  navigate(url.pathname + url.search + url.hash);
});

// Back/forward to another page re-renders; within a page (only the fragment changed) the page's
// hashchange handling is enough.
let shownPath = location.pathname + location.search;
window.addEventListener('popstate', () => {
  if (location.pathname + location.search === shownPath) return;
  render({ focus: true });
});

forgetButton.addEventListener('click', () => {
  forgetToken();
  stopCurrent();
  askForToken();
});

// Relative times ("3 minutes ago") age while the data behind them stays the same.
setInterval(() => {
  for (const el of document.querySelectorAll('time[datetime]')) el.textContent = relativeTime(el.getAttribute('datetime'));
}, 30_000);

render({ focus: false });
