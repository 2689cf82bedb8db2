/**
 * Who calls the API: the bearer token decides. `server.api_token` is the `operator` (reads
 * everything, acts); `server.viewer_token`, when set, is a `viewer`: it reads the answers
 * {@link ./viewer-views.ts} leaves it, and any request that acts (every method but GET and HEAD)
 * is `403 FORBIDDEN`. Tokens are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from './api-error.ts';

/** The kinds of API token. */
export const TOKEN_KINDS = ['operator', 'viewer'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

declare module 'hono' {
  interface ContextVariableMap {
    /** The kind of token the request was authenticated with (set by {@link tokenAccess}). */
    tokenKind: TokenKind;
  }
}

/** The project's tokens: `operator` is `server.api_token`, `viewer` `server.viewer_token`. */
export interface ApiTokens {
  operator: string;
  viewer?: string;
}

/** What happens to a viewer's request that acts: recorded (the audit log), then answered 403. */
export type OnDenied = (c: Context) => void;

/**
 * Middleware: answers `unauthorized(c)` (a 401) unless `Authorization: Bearer TOKEN` holds one of
 * `tokens`, and sets `c.get('tokenKind')`. A viewer's request with a method other than GET or HEAD
 * calls `onDenied` and throws `ApiError` FORBIDDEN.
 */
export function tokenAccess(tokens: ApiTokens, unauthorized: (c: Context) => Response, onDenied: OnDenied): MiddlewareHandler {
  const operator = digest(tokens.operator);
  const viewer = tokens.viewer === undefined ? null : digest(tokens.viewer);
  return async (c, next) => {
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(c.req.header('Authorization') ?? '');
    const given = match === null ? null : digest(match[1]!);
    // Both comparisons always run, each in constant time.
    const isOperator = given !== null && timingSafeEqual(given, operator);
    const isViewer = given !== null && viewer !== null && timingSafeEqual(given, viewer);
    if (!isOperator && !isViewer) return unauthorized(c);
    c.set('tokenKind', isOperator ? 'operator' : 'viewer');
    if (isViewer && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      onDenied(c);
      throw new ApiError('FORBIDDEN', 'the viewer token (server.viewer_token) only reads; use the API token (server.api_token) for this');
    }
    await next();
  };
}

/** SHA-256 of `token`: fixed length, so that comparing takes the same time whatever the length given. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
