/**
 * The ONE place that decides which HTTP failures are retryable (and which would meet every further
 * request too), and the errors the HTTP layer throws. Callers never write their own
 * `if (status === 429 || ...)` chains: they ask {@link isRetryableStatus},
 * {@link isRetryableNetworkError}, {@link failsEveryRequest} or an error's `retryable` flag.
 *
 * Facts: `5xx` and connection errors are transient, `429` carries `Retry-After`, `422` and every
 * other `4xx` is permanent for the request (see shared docs: user-interviews-api, "Limits and
 * errors" [assumed]).
 */

/** Stable codes of {@link HttpError}. */
export const HTTP_ERROR_CODES = [
  /** `401`: the API key was refused. Never retried. */
  'HTTP_UNAUTHORIZED',
  /** Every attempt failed transiently (5xx, 408, timeout, reset); carries the last failure. */
  'HTTP_TRANSIENT_EXHAUSTED',
  /** `429` kept coming for longer than the request may wait on rate limits. */
  'HTTP_RATE_LIMIT_EXCEEDED',
  /** One attempt got no complete response within the timeout. */
  'HTTP_TIMEOUT',
  /** One attempt failed below HTTP (reset, refused, DNS, TLS). */
  'HTTP_NETWORK',
  /** A response the caller cannot use (an unexpected status or body shape). */
  'HTTP_UNEXPECTED_RESPONSE',
  /** The API refused the request as a whole (`403`, `404`, another `4xx` the route does not expect). Never retried. */
  'HTTP_REQUEST_REFUSED',
  /** The client's AbortSignal ended the request while it waited (rate-limit gate, backoff); no exchange was cut. */
  'HTTP_ABORTED',
  /** Nothing accepted the connection at the base URL's host and port (`ECONNREFUSED`), on the one retry too. */
  'HTTP_CONNECTION_REFUSED',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

/**
 * Base of every error thrown by the HTTP layer. Messages never contain a secret: URLs in them are
 * already redacted by the thrower.
 */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  /** Whether trying the same request again may succeed. */
  readonly retryable: boolean;
  /** HTTP status of the response behind the error; `null` when there was no response. */
  readonly status: number | null;
  /**
   * Set by HttpClient.request on the error a request ends with: `true` when one of its attempts
   * got no answer (timeout, reset, dropped connection) or a `5xx`, so that it may have been
   * applied; `false` when none can have been (only `429`s, or nothing sent).
   */
  mayHaveBeenApplied = false;
  constructor(
    code: HttpErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; status?: number | null } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? null;
  }
}

/** `401`: the key is wrong, revoked, or belongs to another environment. Never retried. */
export class HttpUnauthorizedError extends HttpError {
  /** @param target `METHOD url`, secrets already redacted. */
  constructor(target: string) {
    super(
      'HTTP_UNAUTHORIZED',
      `${target} was refused with HTTP 401 (unauthorized): check the destination's API key, and ` +
        `that its environment / base_url point at the User Interviews account the key belongs to`,
      { status: 401 },
    );
    this.name = 'HttpUnauthorizedError';
  }
}

/**
 * Where the settings of the destination behind a client live in the project file, for messages
 * that tell which key to change: `destinations.panel` gives `destinations.panel.max_attempts`.
 * Without one, messages say "the destination's max_attempts".
 */
export function settingKey(settingsPath: string | undefined, key: 'max_attempts' | 'timeout_ms' | 'base_url'): string {
  return settingsPath === undefined ? `the destination's ${key}` : `${settingsPath}.${key}`;
}

/** One attempt got no complete response (headers and body) within `timeoutMs`. Retryable. */
export class HttpTimeoutError extends HttpError {
  readonly timeoutMs: number;
  /**
   * @param target `METHOD url`, secrets already redacted.
   * @param settingsPath e.g. `destinations.panel`, to name the key to raise (see {@link settingKey}).
   */
  constructor(target: string, timeoutMs: number, cause?: unknown, settingsPath?: string) {
    super(
      'HTTP_TIMEOUT',
      `${target} timed out after ${timeoutMs} ms: the API is slow or unreachable; raise ` +
        `${settingKey(settingsPath, 'timeout_ms')} if this persists (a timed-out request may still have been applied)`,
      { cause, retryable: true },
    );
    this.name = 'HttpTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * One attempt failed below HTTP. `retryable` comes from {@link isRetryableNetworkError}: resets,
 * refusals and closed sockets are; DNS failures, bad URLs and TLS errors are not.
 */
export class HttpNetworkError extends HttpError {
  /** The system or undici error code found in the cause chain (`ECONNRESET`, `UND_ERR_SOCKET`), if any. */
  readonly networkCode: string | null;
  /**
   * @param target `METHOD url`, secrets already redacted.
   * @param detail a description of `cause`, secrets already redacted.
   */
  constructor(target: string, detail: string, cause: unknown) {
    const retryable = isRetryableNetworkError(cause);
    super(
      'HTTP_NETWORK',
      `${target} failed: ${detail}` + (retryable ? ' (connection trouble; retried with backoff)' : `: ${networkFix(cause)}`),
      { cause, retryable },
    );
    this.name = 'HttpNetworkError';
    this.networkCode = networkErrorCode(cause);
  }
}

/** Every attempt of a request failed transiently. Whole-batch failure: the run may resume later. */
export class HttpTransientExhaustedError extends HttpError {
  readonly attempts: number;
  /**
   * @param target `METHOD url`, secrets already redacted.
   * @param last the last failure: a retryable status, or the last timeout / network error (also the `cause`).
   * @param settingsPath e.g. `destinations.panel`, to name the keys to raise (see {@link settingKey}).
   */
  constructor(target: string, attempts: number, last: { status: number } | { error: HttpError }, settingsPath?: string) {
    const lastText = 'status' in last ? `HTTP ${last.status}` : last.error.message;
    super(
      'HTTP_TRANSIENT_EXHAUSTED',
      `${target} failed ${attempts} time(s) with transient errors (last: ${lastText}): the API is ` +
        `unavailable or overloaded; run the sync again later, or raise ${settingKey(settingsPath, 'max_attempts')} (now ${attempts}) ` +
        `or ${settingKey(settingsPath, 'timeout_ms')}`,
      {
        status: 'status' in last ? last.status : null,
        cause: 'error' in last ? last.error : undefined,
        retryable: true,
      },
    );
    this.name = 'HttpTransientExhaustedError';
    this.attempts = attempts;
  }
}

/**
 * Nothing accepted the connection (`ECONNREFUSED`) at the base URL's host and port, on the first
 * attempt and on its one retry: a mistyped port or host, or an API that is not running. Not a
 * transient overload, so it is not retried further, and every further request would meet it:
 * the run stops at once ({@link failsEveryRequest}). Nothing was sent, so nothing is in doubt.
 */
export class HttpConnectionRefusedError extends HttpError {
  /** `host:port` that refused the connection. */
  readonly address: string;
  /**
   * @param target `METHOD url`, secrets already redacted.
   * @param address `host:port` of the URL, e.g. `127.0.0.1:4011`.
   * @param settingsPath e.g. `destinations.panel`, to name the key to check (see {@link settingKey}).
   */
  constructor(target: string, address: string, attempts: number, cause: unknown, settingsPath?: string) {
    super(
      'HTTP_CONNECTION_REFUSED',
      `${target} failed: connection refused at ${address} (${attempts} attempt${attempts === 1 ? '' : 's'}): nothing listens there; ` +
        `check the host and port of ${settingKey(settingsPath, 'base_url')}, and that the API (or the emulator) is running`,
      { cause, retryable: false },
    );
    this.name = 'HttpConnectionRefusedError';
    this.address = address;
  }
}

/** Attempts a request makes while its connection is refused (`ECONNREFUSED`): the first and one retry. */
export const MAX_REFUSED_ATTEMPTS = 2;

/** `429` responses asked one request to wait longer, in total, than `maxRateLimitWaitMs`. */
export class HttpRateLimitExceededError extends HttpError {
  /** Time already waited on rate limits by this request, ms. */
  readonly waitedMs: number;
  /** The wait the last `Retry-After` asked for, ms. */
  readonly retryAfterMs: number;
  /** @param target `METHOD url`, secrets already redacted. */
  constructor(target: string, waitedMs: number, retryAfterMs: number, maxWaitMs: number) {
    super(
      'HTTP_RATE_LIMIT_EXCEEDED',
      `${target} stayed rate limited (HTTP 429): waited ${waitedMs} ms and was asked to wait ` +
        `${retryAfterMs} ms more, over the limit of ${maxWaitMs} ms; run the sync again later or ` +
        `lower its concurrency`,
      { status: 429, retryable: true },
    );
    this.name = 'HttpRateLimitExceededError';
    this.waitedMs = waitedMs;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The API refused a request as a whole with a status its route does not expect (`403`, `404`,
 * `400` on the batch endpoint…): not a problem of one row, so every further request of the run
 * would be refused the same way. Never retried. The message says what to check for the status.
 * A single-row request refused for what it carries ({@link isContentRefusal}) is that row's
 * rejection instead, not this error.
 */
export class HttpRequestRefusedError extends HttpError {
  /**
   * @param target what was refused, e.g. `PATCH /participants/batches`, secrets already redacted.
   * @param status the response's status (4xx).
   * @param detail the API's error details, e.g. `plan does not allow the API`.
   */
  constructor(target: string, status: number, detail: string) {
    super('HTTP_REQUEST_REFUSED', `${target} was refused with HTTP ${status}: ${detail}; ${refusalFix(status)}`, { status });
    this.name = 'HttpRequestRefusedError';
  }
}

/**
 * The client's AbortSignal ended a request while it waited before an exchange (at the rate-limit
 * gate, in a backoff): the exchange was not sent. An exchange already on the wire is never cut.
 * Not retryable (the caller is stopping).
 */
export class HttpAbortedError extends HttpError {
  /** @param target `METHOD url`, secrets already redacted. */
  constructor(target: string, cause?: unknown) {
    super('HTTP_ABORTED', `${target} was not sent: the run was stopped while the request waited (rate limit or backoff)`, { cause });
    this.name = 'HttpAbortedError';
  }
}

/**
 * Whether a failure would meet every further request of the client as well, so that whoever sends
 * many (a run) should stop at once rather than send the rest: a refused API key (`401`), a request
 * refused as a whole ({@link HttpRequestRefusedError}: wrong base_url, missing permission), a
 * connection refused on its retry too ({@link HttpConnectionRefusedError}: a mistyped port), or a
 * failure below HTTP a retry cannot fix (DNS, TLS, bad URL; see {@link isRetryableNetworkError}).
 */
export function failsEveryRequest(error: unknown): boolean {
  if (!(error instanceof HttpError)) return false;
  return (
    error.code === 'HTTP_UNAUTHORIZED' ||
    error.code === 'HTTP_REQUEST_REFUSED' ||
    error.code === 'HTTP_CONNECTION_REFUSED' ||
    (error.code === 'HTTP_NETWORK' && !error.retryable)
  );
}

/**
 * The `4xx` statuses by which the API refuses what a request carries, not its route or the key's
 * permission: `400` (malformed), `409` (conflict with the participant's state), `413` (too large),
 * `422` (validation).
 * On a single-row endpoint (`POST /participants`, `DELETE /participants/{id}`) such an answer is
 * that row's rejection, and the run goes on; `401`, `403`, `404` and the other `4xx` say the route
 * or the permission is wrong, which every further request would meet too. The batch endpoint
 * splits on `422` and `413` only (see engine/split-retry.ts). See shared docs: user-interviews-api, "Limits
 * and errors" [assumed].
 */
const CONTENT_REFUSAL_STATUSES = [400, 409, 413, 422] as const;
const CONTENT_REFUSALS: ReadonlySet<number> = new Set(CONTENT_REFUSAL_STATUSES);

/** Whether `status` refuses what a request carries (one of {@link CONTENT_REFUSAL_STATUSES}). */
export function isContentRefusal(status: number): boolean {
  return CONTENT_REFUSALS.has(status);
}

/** What to check after a refusal with `status`. The API's root path `/api`: see shared docs: user-interviews-api. */
function refusalFix(status: number): string {
  if (status === 404) {
    return "check that the destination's base_url is the API's root, ending in /api (e.g. https://www.userinterviews.com/api), and its host";
  }
  if (status === 403) {
    return "check that the destination's API key has permission to read and write participants (its scopes and the account's plan), and that base_url is the API's root, ending in /api";
  }
  return "check that the destination's base_url is the API's root, ending in /api, and the API key's permissions; if both are right, report this with the run's API calls";
}

/** What to check after a failure below HTTP that a retry cannot fix. */
function networkFix(cause: unknown): string {
  const code = networkErrorCode(cause) ?? '';
  if (code === 'ENOTFOUND') return "the host of the destination's base_url was not found: check its spelling, and DNS on this machine";
  if (/SSL|TLS|CERT/.test(code)) {
    return "TLS failed: check the scheme (https) and the host of the destination's base_url, and that the host's certificate is trusted here";
  }
  return "check the scheme, the host and the port of the destination's base_url, and the network between panelsync and that host";
}

/** A response the caller cannot use: an unexpected status or body shape. Not retryable. */
export class HttpUnexpectedResponseError extends HttpError {
  /** @param message says what was expected and what came, secrets already redacted. */
  constructor(message: string, status: number | null) {
    super('HTTP_UNEXPECTED_RESPONSE', message, { status });
    this.name = 'HttpUnexpectedResponseError';
  }
}

/** `408`, `429` and every `5xx` are retryable; `401`, `403`, `404`, `422`, other `4xx` and `2xx` are not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** System and undici error codes of failures worth another attempt (the server or the path hiccupped). */
export const RETRYABLE_NETWORK_CODES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
] as const;
const RETRYABLE_CODES: ReadonlySet<string> = new Set(RETRYABLE_NETWORK_CODES);

/**
 * Whether a failure below HTTP is worth another attempt: connection reset / refused / aborted,
 * socket closed (undici `UND_ERR_SOCKET`, `UND_ERR_CLOSED`), timeouts (an `AbortSignal.timeout`
 * `TimeoutError`, undici connect/headers/body timeouts, {@link HttpTimeoutError}). Looks through
 * the `cause` chain (fetch wraps everything in `TypeError: fetch failed`) and `AggregateError`s.
 * An {@link HttpError} answers with its own `retryable`. DNS `ENOTFOUND`, invalid URLs and TLS
 * errors are not retryable: they need a configuration fix.
 */
export function isRetryableNetworkError(error: unknown): boolean {
  if (error instanceof HttpError) return error.retryable;
  return someInChain(error, (e) => {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    return (typeof code === 'string' && RETRYABLE_CODES.has(code)) || name === 'TimeoutError';
  });
}

/** The first string `code` in an error's cause chain (`ECONNRESET`, `UND_ERR_SOCKET`), or `null`. */
export function networkErrorCode(error: unknown): string | null {
  let found: string | null = null;
  someInChain(error, (e) => {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') found = code;
    return found !== null;
  });
  return found;
}

function someInChain(error: unknown, test: (e: object) => boolean, depth = 0): boolean {
  if (depth > 8 || typeof error !== 'object' || error === null) return false;
  if (test(error)) return true;
  if (error instanceof AggregateError && error.errors.some((e) => someInChain(e, test, depth + 1))) {
    return true;
  }
  return someInChain((error as { cause?: unknown }).cause, test, depth + 1);
}
