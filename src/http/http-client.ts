/**
 * The request client every destination receives: base URL, auth headers, per-attempt timeouts,
 * retries with exponential backoff and full jitter, a rate-limit gate that paces the exchanges and
 * learns from `429 Retry-After` and rate-limit headers (shared by every client on one API account,
 * see ./rate-limit-gate.ts), an AbortSignal that ends
 * its waits, and a call recorder (the live debugger) that never sees a secret.
 *
 * Which failures are retried is decided in ./errors.ts, not here. Built on Node's global fetch
 * (undici), whose keep-alive connection pool is the default.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  HttpAbortedError,
  HttpError,
  HttpNetworkError,
  HttpRateLimitExceededError,
  HttpTimeoutError,
  HttpTransientExhaustedError,
  HttpConnectionRefusedError,
  MAX_REFUSED_ATTEMPTS,
  HttpUnauthorizedError,
  isRetryableStatus,
} from './errors.ts';
import { DEFAULT_RETRY_AFTER_MS, parseRetryAfter, RateLimitGate, type SharedRateLimit } from './rate-limit-gate.ts';
import { redact } from './redact.ts';

export const HTTP_METHODS = ['GET', 'POST', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One HTTP exchange (one attempt) as the live debugger keeps it. Secrets are already `[REDACTED]`. */
export interface ApiCall {
  method: HttpMethod;
  /** Full URL, secrets redacted. */
  url: string;
  /** Response status; `null` when no response came (timeout, reset). */
  status: number | null;
  /** From sending the request to the end of the response body (or the failure), ms. */
  duration_ms: number;
  /** 1-based number of this exchange within its request; `429` responses count here too. */
  attempt: number;
  /** ISO 8601 time the exchange started. */
  started_at: string;
  /** The JSON sent, redacted; `null` without a body. */
  request_body: string | null;
  /** The body received as text, redacted; `null` without a response. */
  response_body: string | null;
  /** What went wrong below HTTP (timeout, reset), redacted; `null` when a response came. */
  error: string | null;
  /** The caller's label for the request (e.g. a batch id). */
  tag?: string;
}

export interface HttpClientOptions {
  /** Prefix of every request path, e.g. `https://www.userinterviews.com/api` (a trailing `/` is ignored). */
  baseUrl: string;
  /**
   * Sent with every request (including `Authorization`); `Content-Type` is left out of requests
   * without a body. Never recorded. The `Authorization` value and its bearer token are redacted
   * from records and errors even when not listed in `secrets`.
   */
  headers: Record<string, string>;
  /** Limit for one attempt, from sending to the end of the response body, ms. */
  timeoutMs: number;
  /** Attempts per request that may fail transiently (5xx, 408, timeout, reset); `429`s do not count. At least 1. */
  maxAttempts: number;
  /**
   * Delay before retry n (1-based) is uniform in [0, min(maxMs, baseMs * 2^(n-1))] ms ("full
   * jitter"), raised to a `Retry-After` of a 5xx/408 when one is given (capped at maxMs).
   * Default `{ baseMs: 500, maxMs: 30_000 }`.
   */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Total `Retry-After` time the request's own `429`s may ask for before it fails with
   * `HTTP_RATE_LIMIT_EXCEEDED`, ms. Waiting for other requests' `429`s and for the gate's pace
   * does not count. Default 10 minutes.
   */
  maxRateLimitWaitMs?: number;
  /** Strings replaced by `[REDACTED]` in every recorded URL, body and error, and in thrown messages. */
  secrets: string[];
  /** Receives every exchange, failed ones included. Exceptions it throws are ignored. */
  onCall?: (call: ApiCall) => void;
  /**
   * The gate that paces every exchange and learns from `429`s. Give every client of one API
   * account the same gate (`sharedRateLimitGate` of ./rate-limit-gate.ts) so that they are paced
   * together. Default: a gate of this client alone.
   */
  rateLimitGate?: RateLimitGate;
  /** A rate limit the project sets for the account, shared by every process on its ledger: each exchange takes one of its slots. */
  sharedRateLimit?: SharedRateLimit;
  /**
   * Once aborted, a request waiting before an exchange (at the rate-limit gate, in a backoff)
   * stops at once with `HTTP_ABORTED`, and no new exchange starts. An exchange already on the wire
   * is never cut: its response is returned (or retried no more).
   */
  signal?: AbortSignal;
  /** Replaces the real timer (tests); it should reject at once when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Where the destination's settings live in the project file, e.g. `destinations.panel`: errors
   * then name the key to change (`destinations.panel.max_attempts`). Optional.
   */
  settingsPath?: string;
}

/** One request: `path` is relative to the base URL and may carry a query (already encoded). */
export interface HttpRequest {
  method: HttpMethod;
  path: string;
  /** Sent as JSON. */
  body?: unknown;
}

/** Per-request extras. */
export interface RequestContext {
  /** Copied to every {@link ApiCall} of the request. */
  tag?: string;
  /** Called as each attempt (1, 2, …) goes on the wire, after any wait at the rate-limit gate. */
  onAttempt?: (attempt: number) => void;
}

/**
 * A final response: any status that is not retried (2xx, and 4xx other than 401/408/429).
 * `body` is the parsed JSON (an error body for 4xx), `undefined` when empty or not JSON.
 */
export interface HttpResponse<T> {
  status: number;
  body: T | undefined;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
  /** Exchanges it took, `429`s included. */
  attempts: number;
  /**
   * True when an earlier exchange of this request may have been applied by the server: it got no
   * response (timeout, reset, dropped connection) or a `5xx` ("a timed-out request may still have
   * been applied", see shared docs: user-interviews-api, "Limits and errors"). False when every
   * earlier exchange was answered `429` or `408`, which were not applied.
   */
  earlierAttemptMayHaveApplied: boolean;
}

export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 30_000 } as const;
export const DEFAULT_MAX_RATE_LIMIT_WAIT_MS = 10 * 60_000;

/** The one redaction of secrets (see ./redact.ts), exported here too for the callers that imported it from here. */
export { redact };
/** `Retry-After` parsing and its default, kept with the rate-limit gate and exported here too for the callers that imported them from here. */
export { DEFAULT_RETRY_AFTER_MS, parseRetryAfter };

type AttemptOutcome =
  | { kind: 'response'; status: number; text: string; headers: Record<string, string> }
  | { kind: 'error'; error: HttpError };

/**
 * HTTP client for one API account. Returns every final response (2xx, 4xx incl. 422) and throws
 * {@link HttpError} only when the request as a whole fails:
 * - `HTTP_UNAUTHORIZED` on 401, at once;
 * - `HTTP_TRANSIENT_EXHAUSTED` when `maxAttempts` attempts failed with 5xx/408/timeout/reset;
 * - `HTTP_RATE_LIMIT_EXCEEDED` when its own `429`s would make it wait over `maxRateLimitWaitMs`;
 * - `HTTP_NETWORK` for a failure that is not retryable (DNS, bad URL, TLS);
 * - `HTTP_CONNECTION_REFUSED` when the connection is refused (`ECONNREFUSED`) on the first attempt
 *   and on its one retry ({@link MAX_REFUSED_ATTEMPTS}): a wrong host or port, not an overload;
 * - `HTTP_ABORTED` when `signal` aborted while the request waited before an exchange.
 *
 * Every exchange passes the rate-limit gate (of this client, or shared by every client of the
 * account): it spaces them at the pace it learned, holds them all after a `429` until its
 * `Retry-After`, and lowers the exchanges in flight when throttled, so that concurrent batches and
 * runs do not hammer the API.
 */
export class HttpClient {
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly headersWithoutBody: Record<string, string>;
  private readonly secrets: string[];
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly maxRateLimitWaitMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly gate: RateLimitGate;

  constructor(private readonly options: HttpClientOptions) {
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be an integer >= 1, got ${options.maxAttempts}`);
    }
    if (!(options.timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.headers = { ...options.headers };
    this.headersWithoutBody = Object.fromEntries(
      Object.entries(options.headers).filter(([name]) => name.toLowerCase() !== 'content-type'),
    );
    const secrets = [...options.secrets];
    for (const [name, value] of Object.entries(options.headers)) {
      if (name.toLowerCase() !== 'authorization') continue;
      secrets.push(value);
      const token = /^\s*\S+\s+(.+)$/.exec(value)?.[1];
      if (token) secrets.push(token);
    }
    this.secrets = secrets.filter((s) => s.length > 0);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? DEFAULT_MAX_RATE_LIMIT_WAIT_MS;
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : undefined));
    this.gate = options.rateLimitGate ?? new RateLimitGate();
  }

  /**
   * Sends `req` (body as JSON) to `baseUrl + req.path`, retrying as described on the class.
   * Throws {@link HttpError} (see the class docs for codes); {@link HttpAbortedError} when the
   * signal aborted while it waited.
   */
  async request<T>(req: HttpRequest, context: RequestContext = {}): Promise<HttpResponse<T>> {
    const url = this.baseUrl + (req.path.startsWith('/') ? req.path : `/${req.path}`);
    const shownUrl = redact(url, this.secrets);
    const target = `${req.method} ${shownUrl}`;
    const bodyText = req.body === undefined ? undefined : JSON.stringify(req.body);
    let mayHaveApplied = false;
    try {
      return await this.exchange<T>(req, context, url, shownUrl, target, bodyText, (applied) => (mayHaveApplied ||= applied));
    } catch (error) {
      if (error instanceof HttpError) error.mayHaveBeenApplied = mayHaveApplied;
      throw error;
    }
  }

  /** The attempts of {@link request}; `sent(true)` marks an attempt that may have been applied. */
  private async exchange<T>(
    req: HttpRequest,
    context: RequestContext,
    url: string,
    shownUrl: string,
    target: string,
    bodyText: string | undefined,
    sent: (mayHaveApplied: boolean) => boolean,
  ): Promise<HttpResponse<T>> {
    let exchange = 0;
    let failures = 0;
    let refused = 0;
    let rateLimitWaitedMs = 0;
    let mayHaveApplied = false;

    for (;;) {
      const pass = await this.enterGate(target);
      // Nothing of this request is on the wire here: the only place an abort may stop it.
      if (this.options.signal?.aborted) {
        pass.done({ status: null, headers: {} });
        throw new HttpAbortedError(target, this.options.signal.reason);
      }
      exchange += 1;
      context.onAttempt?.(exchange);
      const startedAt = new Date();
      const t0 = performance.now();
      const outcome = await this.attempt(req.method, url, target, bodyText);
      const retryAfterMs =
        outcome.kind === 'response' ? parseRetryAfter(outcome.headers['retry-after'], Date.now()) : null;
      // The gate learns (a 429 closes it) before anyone, the recorder included, can start another exchange.
      pass.done(outcome.kind === 'response' ? { status: outcome.status, headers: outcome.headers } : { status: null, headers: {} });
      this.record({
        method: req.method,
        url: shownUrl,
        status: outcome.kind === 'response' ? outcome.status : null,
        duration_ms: Math.round(performance.now() - t0),
        attempt: exchange,
        started_at: startedAt.toISOString(),
        request_body: bodyText === undefined ? null : redact(bodyText, this.secrets),
        response_body: outcome.kind === 'response' ? redact(outcome.text, this.secrets) : null,
        error: outcome.kind === 'error' ? outcome.error.message : null,
        ...(context.tag === undefined ? {} : { tag: context.tag }),
      });

      if (outcome.kind === 'response') {
        const { status } = outcome;
        if (status === 429) {
          const wait = retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
          if (rateLimitWaitedMs + wait > this.maxRateLimitWaitMs) {
            throw new HttpRateLimitExceededError(target, rateLimitWaitedMs, wait, this.maxRateLimitWaitMs);
          }
          rateLimitWaitedMs += wait;
          continue;
        }
        if (status === 401) throw new HttpUnauthorizedError(target);
        if (!isRetryableStatus(status)) {
          return {
            status,
            body: parseJson<T>(outcome.text),
            headers: outcome.headers,
            attempts: exchange,
            earlierAttemptMayHaveApplied: mayHaveApplied,
          };
        }
        if (status >= 500) mayHaveApplied = sent(true);
        failures += 1;
        if (failures >= this.options.maxAttempts) {
          throw new HttpTransientExhaustedError(target, failures, { status }, this.options.settingsPath);
        }
      } else {
        if (!outcome.error.retryable) throw outcome.error;
        if (outcome.error instanceof HttpNetworkError && outcome.error.networkCode === 'ECONNREFUSED') {
          // Nothing was sent; a refusal that outlasts one retry is a wrong host or port, not a hiccup.
          refused += 1;
          if (refused >= Math.min(MAX_REFUSED_ATTEMPTS, this.options.maxAttempts)) {
            throw new HttpConnectionRefusedError(target, hostAndPort(url), refused, outcome.error, this.options.settingsPath);
          }
        } else {
          mayHaveApplied = sent(true);
        }
        failures += 1;
        if (failures >= this.options.maxAttempts) {
          throw new HttpTransientExhaustedError(target, failures, { error: outcome.error }, this.options.settingsPath);
        }
      }
      await this.pause(this.backoffMs(failures, retryAfterMs), target);
    }
  }

  /**
   * Waits at the rate-limit gate (and for a slot of the shared rate limit) for the next exchange.
   * @throws HttpAbortedError when the signal aborts meanwhile
   */
  private async enterGate(target: string) {
    const { signal } = this.options;
    try {
      return await this.gate.enter((ms) => this.pause(ms, target), this.options.sharedRateLimit, signal);
    } catch (error) {
      if (signal?.aborted && !(error instanceof HttpAbortedError)) throw new HttpAbortedError(target, signal.reason);
      throw error;
    }
  }

  /** One exchange; never throws. */
  private async attempt(
    method: HttpMethod,
    url: string,
    target: string,
    bodyText: string | undefined,
  ): Promise<AttemptOutcome> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await fetch(url, {
        method,
        headers: bodyText === undefined ? this.headersWithoutBody : this.headers,
        ...(bodyText === undefined ? {} : { body: bodyText }),
        signal,
      });
      // The same signal bounds reading the body: a stalled body is a timeout too.
      const text = await res.text();
      return { kind: 'response', status: res.status, text, headers: Object.fromEntries(res.headers) };
    } catch (error) {
      if (signal.aborted || (error as { name?: unknown } | null)?.name === 'TimeoutError') {
        return { kind: 'error', error: new HttpTimeoutError(target, this.options.timeoutMs, error, this.options.settingsPath) };
      }
      return { kind: 'error', error: new HttpNetworkError(target, redact(describe(error), this.secrets), error) };
    }
  }

  /**
   * `text` with this client's secrets (the configured ones, the `Authorization` value and its
   * token) replaced by `[REDACTED]`: for callers that put response text into their own errors.
   */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  /** Sleeps `ms`; throws {@link HttpAbortedError} for `target` when the signal is or gets aborted. */
  private async pause(ms: number, target: string): Promise<void> {
    const { signal } = this.options;
    if (signal?.aborted) throw new HttpAbortedError(target, signal.reason);
    try {
      await this.sleep(ms, signal);
    } catch (error) {
      if (signal?.aborted) throw new HttpAbortedError(target, signal.reason);
      throw error;
    }
  }

  private backoffMs(retry: number, retryAfterMs: number | null): number {
    const { baseMs, maxMs } = this.backoff;
    const cap = Math.min(maxMs, baseMs * 2 ** (retry - 1));
    const jittered = Math.floor(Math.random() * (cap + 1));
    return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, maxMs));
  }

  private record(call: ApiCall): void {
    if (!this.options.onCall) return;
    try {
      this.options.onCall(call);
    } catch {
      // A broken recorder must not fail a request whose writes the API may already have applied.
    }
  }
}

function parseJson<T>(text: string): T | undefined {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** `fetch failed: other side closed (UND_ERR_SOCKET)`: the message chain with the deepest code. */
function describe(error: unknown): string {
  const parts: string[] = [];
  let code: string | undefined;
  let e: unknown = error;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth += 1) {
    const { message, code: c } = e as { message?: unknown; code?: unknown };
    if (typeof message === 'string' && message && !parts.includes(message)) parts.push(message);
    if (typeof c === 'string') code = c;
    e = (e as { cause?: unknown }).cause;
  }
  if (parts.length === 0) parts.push(String(error));
  return parts.join(': ') + (code ? ` (${code})` : '');
}

/** `host:port` of a URL, the port spelled out even when it is the scheme's default. */
function hostAndPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}
