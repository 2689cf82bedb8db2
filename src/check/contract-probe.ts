/**
 * The raw HTTP exchanges of `panelsync check`. Unlike the sync's HttpClient (src/http), which
 * hides what a check must see (it throws on `401`, retries `5xx`), the probe sends exactly one
 * exchange per call, with the headers asked for, and returns the status, headers and body as
 * they came. Only a `429` is waited out (its `Retry-After`, at most {@link MAX_RATE_LIMIT_WAITS}
 * times), so that a rate limit is not taken for a refutation. Every exchange is handed to
 * `onExchange` with the API key and the project's other secrets redacted.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ACCEPT, CONTENT_TYPE } from '../destinations/user-interviews/wire.ts';
import { HttpNetworkError, HttpTimeoutError } from '../http/errors.ts';
import { parseRetryAfter } from '../http/http-client.ts';
import { redact } from '../http/redact.ts';
import type { HttpMethod } from '../http/http-client.ts';

/** How many `429`s one call waits out before it returns the last one. */
export const MAX_RATE_LIMIT_WAITS = 5;
/** Longest wait on one `Retry-After`, ms. */
const MAX_RETRY_AFTER_MS = 60_000;

/** One exchange as `--record` keeps it: every secret redacted, bodies parsed when JSON. */
export interface RecordedExchange {
  /** 1-based, in the order sent. */
  seq: number;
  /** The check step that sent it: an assumption id, `read_back` or `cleanup`. */
  step: string;
  method: HttpMethod;
  /** Relative to the base URL, query included. */
  path: string;
  request_headers: Record<string, string>;
  request_body: unknown;
  /** `null` when no response came. */
  status: number | null;
  /** Names in lower case. */
  response_headers: Record<string, string>;
  /** Parsed JSON, or the text when not JSON; `null` when empty. */
  response_body: unknown;
  duration_ms: number;
}

/** A response as it came. */
export interface ProbeResponse {
  status: number;
  /** Names in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON; `undefined` when empty or not JSON. */
  body: unknown;
  /** The body as text (not redacted: it stays in the process). */
  text: string;
}

export interface ContractProbeOptions {
  /** The API base URL, ending in `/api`. */
  baseUrl: string;
  apiKey: string;
  /** Limit of one exchange, ms. */
  timeoutMs: number;
  /** Redacted from every recorded exchange and error (the API key is added). */
  secrets: readonly string[];
  onExchange?: (exchange: RecordedExchange) => void;
}

/** What one exchange may change: the key sent, and whether `Accept` is the v2 media type. */
export interface ProbeRequest {
  method: HttpMethod;
  path: string;
  body?: unknown;
  /** Sent instead of the project's key (to see how a wrong one is refused). Never recorded. */
  apiKey?: string;
}

/** Sends the check's exchanges to one account. */
export class ContractProbe {
  private seq = 0;
  private readonly secrets: string[];
  /** Every `Retry-After` of a `429` met, as sent. */
  readonly retryAfters: string[] = [];

  constructor(private readonly options: ContractProbeOptions) {
    this.secrets = [...options.secrets, options.apiKey].filter((s) => s !== '');
  }

  /**
   * One exchange of `step` (a `429` waited out and sent again).
   * @throws HttpTimeoutError, HttpNetworkError when no response came
   */
  async send(step: string, request: ProbeRequest): Promise<ProbeResponse> {
    for (let waits = 0; ; waits += 1) {
      const response = await this.exchange(step, request);
      if (response.status !== 429 || waits >= MAX_RATE_LIMIT_WAITS) return response;
      this.retryAfters.push(response.headers['retry-after'] ?? '');
      const wait = parseRetryAfter(response.headers['retry-after'], Date.now()) ?? 1000;
      await delay(Math.min(wait, MAX_RETRY_AFTER_MS));
    }
  }

  /** `text` with the key and the project's secrets replaced by `[REDACTED]`. */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  private async exchange(step: string, request: ProbeRequest): Promise<ProbeResponse> {
    const target = this.target(request);
    const headers: Record<string, string> = { Authorization: `Bearer ${request.apiKey ?? this.options.apiKey}`, Accept: ACCEPT };
    if (request.body !== undefined) headers['Content-Type'] = CONTENT_TYPE;
    const bodyText = request.body === undefined ? undefined : JSON.stringify(request.body);
    const seq = ++this.seq;
    const started = performance.now();
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let response: ProbeResponse;
    try {
      const res = await fetch(this.options.baseUrl.replace(/\/+$/, '') + request.path, { method: request.method, headers, body: bodyText, signal });
      const text = await res.text();
      response = { status: res.status, headers: Object.fromEntries(res.headers), body: parseJson(text), text };
    } catch (error) {
      this.record(seq, step, request, headers, null, performance.now() - started);
      if (signal.aborted) throw new HttpTimeoutError(target, this.options.timeoutMs, error);
      throw new HttpNetworkError(target, this.redact(String((error as Error).cause ?? error)), error);
    }
    this.record(seq, step, request, headers, response, performance.now() - started);
    return response;
  }

  private record(seq: number, step: string, request: ProbeRequest, headers: Record<string, string>, response: ProbeResponse | null, ms: number): void {
    if (!this.options.onExchange) return;
    const clean = (value: unknown): unknown => (value === undefined ? null : JSON.parse(this.redact(JSON.stringify(value))));
    this.options.onExchange({
      seq,
      step,
      method: request.method,
      path: this.redact(request.path),
      request_headers: { ...headers, Authorization: 'Bearer [REDACTED]' },
      request_body: clean(request.body),
      status: response?.status ?? null,
      response_headers: response ? (clean(response.headers) as Record<string, string>) : {},
      response_body: response === null || response.text === '' ? null : response.body === undefined ? this.redact(response.text) : clean(response.body),
      duration_ms: Math.round(ms),
    });
  }

  private target(request: ProbeRequest): string {
    return this.redact(`${request.method} ${this.options.baseUrl.replace(/\/+$/, '')}${request.path}`);
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
