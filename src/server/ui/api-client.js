/**
 * The panelsync HTTP API as the UI uses it (contract: docs/http-api.md; JSON under /api/v1,
 * bearer token `server.api_token`). The token is kept in sessionStorage: asked once per tab,
 * gone when the tab closes.
 */

const TOKEN_KEY = 'panelsync.api_token';
const KIND_KEY = 'panelsync.token_kind';

/** The stored API token, or null when none was entered in this tab. */
export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps `token` for this tab. */
export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the stored token (and its kind). */
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(KIND_KEY);
}

/**
 * The kind of the stored token, `operator` or `viewer` (`GET /api/v1/session`), asked once per
 * token; `null` until {@link loadTokenKind} has answered.
 */
export function tokenKind() {
  return sessionStorage.getItem(KIND_KEY);
}

/** True when the stored token is the viewer token: the pages hide actions and bodies. */
export function isViewer() {
  return tokenKind() === 'viewer';
}

/**
 * Asks the server which kind of token the stored one is, and keeps the answer for this tab.
 * @throws {ApiError} as {@link apiRequest}
 */
export async function loadTokenKind() {
  const { token_kind: kind } = await apiRequest('/session');
  sessionStorage.setItem(KIND_KEY, kind);
  return kind;
}

/**
 * An API answer that is not 2xx, with the error body's stable `code` and `message`
 * (`{ "error": { "code", "message" } }`), or a network failure (`status` 0, code NETWORK).
 */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when no answer came
   * @param {string} code stable error code, e.g. UNAUTHORIZED, RUN_NOT_FOUND
   * @param {string} message what to fix
   */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API with the stored token.
 * @param {string} path path under /api/v1, e.g. "/syncs"
 * @param {{ method?: string, body?: unknown, token?: string }} [options] `token` overrides the stored one
 * @returns {Promise<any>} the parsed JSON body
 * @throws {ApiError} on a non-2xx answer or when the server cannot be reached
 */
export async function apiRequest(path, options = {}) {
  const token = options.token ?? storedToken() ?? '';
  const headers = { accept: 'application/json', authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `Cannot reach the panelsync server (${err instanceof Error ? err.message : String(err)}).`);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && typeof body === 'object' && body.error ? body.error : {};
    throw new ApiError(
      response.status,
      typeof error.code === 'string' ? error.code : `HTTP_${response.status}`,
      typeof error.message === 'string' ? error.message : `The server answered ${response.status} ${response.statusText}.`,
    );
  }
  return body;
}

/** Path segment for a sync name or run id (names may hold any character). */
export function segment(value) {
  return encodeURIComponent(value);
}
