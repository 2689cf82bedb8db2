/**
 * The rate-limit gate of one API account (base URL and API key): every exchange with the account
 * passes it, and it spaces them so that the API is not hammered. The limit belongs to the account,
 * not to one run, and its numbers are unknown (see shared docs: user-interviews-api, "Limits and
 * errors": `429` with `Retry-After` [assumed]), so the gate learns them:
 * - **Pace.** Once a rate is known, exchanges start one every `1000 / rate` ms (a GCRA with no
 *   burst), in the order they arrived. The rate comes from a `RateLimit-Policy` header (a ceiling,
 *   see ./rate-limit-headers.ts), else from the first `429`: the exchanges accepted in the busy
 *   stretch before it, over the time from the start of the first of them to the start of the
 *   `429`'s exchange plus its `Retry-After` (exact for a token bucket that bursts one second's worth;
 *   a lower bound otherwise, `Retry-After` being rounded up to whole seconds). So the rate then
 *   grows by 5% of that per second of accepted exchanges, up to 1.1 times it. A later `429` sets it
 *   to what the busy stretch since the last pause tells, or lowers it by 15% when that is not lower;
 *   from then on it grows by 1% per second (never over a header's ceiling), so that the gate finds
 *   the limit again when it was met by chance.
 * - **Pause.** A `429` closes the gate until its `Retry-After` (1 s without one): every exchange
 *   then waits, and they leave one by one at the pace, not all at once. A used-up quota
 *   (`RateLimit-Remaining: 0`) before any pace is known closes it until its reset, and the pace is
 *   learned from it as from a `429`; once a pace is known, it keeps within the quota.
 * - **Concurrency (AIMD).** At most `concurrency` exchanges are in flight: it starts at 1 and grows
 *   by `1 / (concurrency + 2)` per accepted exchange (additive increase: about one more per round
 *   trip, and a second exchange in flight only after four were accepted, so that a small limit
 *   meets one `429`, not several); a `429` halves it (multiplicative decrease), at most once for the
 *   exchanges that were sent before that decrease. It never exceeds {@link MAX_CONCURRENCY}.
 * - **A shared limit.** A `rate_limit` set in the project ({@link SharedRateLimit}) is a budget of
 *   the account shared by every process on one state database: each exchange also takes a slot from
 *   the {@link RateSlotLedger} (the state database) and starts no earlier than that slot.
 *
 * The process keeps one gate per account ({@link sharedRateLimitGate}), shared by every HttpClient
 * on it: runs of several syncs on one key (`panelsync serve`) are paced together.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readRateLimitHeaders } from './rate-limit-headers.ts';

/** Wait after a `429` without a usable `Retry-After`, ms. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/** The most exchanges in flight one gate allows, however long it went without a `429`. */
export const MAX_CONCURRENCY = 32;
/** Share the learned rate loses on a `429` that tells no lower rate. */
const RATE_DECREASE = 0.15;
/** After the first `429`, the rate grows by this share of the rate learned then per second ... */
const FIRST_PROBE_PER_S = 0.05;
/** ... up to this multiple of it. */
const FIRST_PROBE_LIMIT = 1.1;
/** After a later `429`, the rate grows by this share of itself per second. */
const PROBE_PER_S = 0.01;
/** A pause this long without an answer ends a busy stretch, ms. */
const STRETCH_GAP_MS = 2_000;
/** The accepted exchanges a rate is learned from are those of the last this many ms. */
const STRETCH_SPAN_MS = 10_000;

/** A rate limit of an account: `requestsPerSecond` (> 0) on average, at most `burst` (>= 1) at once after a pause. */
export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
}

/** Hands out request slots of accounts' rate limits, shared by every process that uses it (the state database). */
export interface RateSlotLedger {
  /**
   * Reserves the next request slot of `account` (a digest, never a key) under `limit` (GCRA:
   * slots `1000 / requestsPerSecond` ms apart, up to `burst` at once after a pause).
   * @param nowMs epoch ms
   * @returns the epoch ms at which the request may start (`nowMs` when at once)
   */
  reserveRateSlot(account: string, limit: RateLimit, nowMs: number): number;
}

/** A rate limit the project sets, with the ledger that shares it between processes. */
export interface SharedRateLimit {
  limit: RateLimit;
  ledger: RateSlotLedger;
}

/** How an exchange ended, for the gate to learn from: its status (`null`: no response) and response headers (lower-case names). */
export interface ExchangeResult {
  status: number | null;
  headers: Record<string, string>;
}

/** An exchange let through the gate: call `done` once it ended, whatever the outcome. */
export interface GatePass {
  /** Epoch ms the exchange was let through. */
  readonly startedAt: number;
  /** Frees the exchange's place in flight and learns from its result; later calls do nothing. */
  done(result: ExchangeResult): void;
}

/** Spaces the exchanges with one API account; see the module docs. Safe to share between clients and requests. */
export class RateLimitGate {
  private closedUntilMs = 0;
  private nextStartMs = 0;
  private rate: number | null = null;
  private ceiling = Infinity;
  /** While the first learned rate is probed upwards: that rate. */
  private firstRate: number | null = null;
  private window = 1;
  private inFlight = 0;
  private waiting: Array<{ admit: () => void; signal: AbortSignal | undefined; reject: (reason: unknown) => void }> = [];
  /** Signals whose abort drops their waiters (see {@link watch}). */
  private readonly watched = new WeakSet<AbortSignal>();
  private lastDecreaseAt = -Infinity;
  private lastAnswerAt = -Infinity;
  /** Start times (epoch ms) of the accepted exchanges of the current busy stretch, oldest first. */
  private accepted: number[] = [];

  /** @param account the account's id in a shared ledger: a digest, never the API key. Default: a random one. */
  constructor(readonly account: string = randomBytes(16).toString('hex')) {}

  /** The pace the gate keeps, requests per second; `null` while no limit was met. */
  get requestsPerSecond(): number | null {
    return this.rate;
  }

  /** Exchanges allowed in flight at once (AIMD). */
  get concurrency(): number {
    return Math.floor(this.window);
  }

  /**
   * Waits until an exchange may start: a place in flight (first come, first served), the gate open
   * and the next slot of the pace, then a slot of `shared` when given. When a `429` moves the
   * opening while it waits, it waits again. Waits go through `sleep` (ms).
   * @throws whatever `sleep` throws (an abort), or `signal`'s reason when it aborts while the
   *   exchange waits for a place in flight; the gate is left as if it never came
   */
  async enter(sleep: (ms: number) => Promise<void>, shared?: SharedRateLimit, signal?: AbortSignal): Promise<GatePass> {
    await this.admit(signal);
    try {
      for (;;) {
        const now = Date.now();
        const closedUntil = this.closedUntilMs;
        const start = Math.max(now, closedUntil, this.nextStartMs);
        if (this.rate !== null) this.nextStartMs = start + 1000 / this.rate;
        if (start <= now) break;
        await sleep(start - now);
        if (this.closedUntilMs === closedUntil) break;
      }
      if (shared) {
        const wait = shared.ledger.reserveRateSlot(this.account, shared.limit, Date.now()) - Date.now();
        if (wait > 0) await sleep(wait);
      }
    } catch (error) {
      this.release();
      throw error;
    }
    const startedAt = Date.now();
    let ended = false;
    return {
      startedAt,
      done: (result) => {
        if (ended) return;
        ended = true;
        // Learn first: a 429 closes the gate before the freed place lets another exchange through.
        this.learn(startedAt, result);
        this.release();
      },
    };
  }

  /** Takes a place in flight, waiting in line while `concurrency` are taken. */
  private admit(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.waiting.length === 0 && this.inFlight < this.concurrency) {
      this.inFlight += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      // A place freed by an answer is taken a turn of the event loop later: an answer that ends
      // the run (a refused key) has aborted `signal` by then, and the exchange is not sent.
      const admit = () =>
        setImmediate(() => {
          if (!signal?.aborted) return resolve();
          this.release();
          reject(signal.reason);
        });
      if (signal) this.watch(signal);
      this.waiting.push({ admit, signal, reject });
    });
  }

  /**
   * Drops the waiters of `signal` once it aborts: one listener per signal (a run's), however many
   * of its exchanges wait, so that a signal never collects a listener per waiting exchange.
   */
  private watch(signal: AbortSignal): void {
    if (this.watched.has(signal)) return;
    this.watched.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        const dropped = this.waiting.filter((w) => w.signal === signal);
        this.waiting = this.waiting.filter((w) => w.signal !== signal);
        for (const w of dropped) w.reject(signal.reason);
      },
      { once: true },
    );
  }

  private release(): void {
    this.inFlight -= 1;
    this.admitWaiting();
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.inFlight < this.concurrency) {
      this.inFlight += 1;
      this.waiting.shift()!.admit();
    }
  }

  private learn(startedAt: number, result: ExchangeResult): void {
    if (result.status === null) return;
    const now = Date.now();
    if (now - this.lastAnswerAt > STRETCH_GAP_MS) this.accepted = [];
    this.lastAnswerAt = now;
    const limited = result.status === 429;
    if (!limited) {
      this.accepted.push(startedAt);
      while (this.accepted[0]! < now - STRETCH_SPAN_MS) this.accepted.shift();
    }
    const hint = readRateLimitHeaders(result.headers, now);
    if (hint.requestsPerSecond !== undefined) {
      this.ceiling = hint.requestsPerSecond;
      this.rate = Math.min(this.rate ?? Infinity, this.ceiling);
    }

    if (limited) {
      const retryAfterMs = parseRetryAfter(result.headers['retry-after'], now) ?? DEFAULT_RETRY_AFTER_MS;
      this.closeUntil(now + retryAfterMs);
      // Exchanges sent before the last decrease met the old pace: one decrease for all of them.
      if (startedAt <= this.lastDecreaseAt) return;
      this.lastDecreaseAt = now;
      this.window = Math.max(1, this.window / 2);
      // Measured from the exchange's start, as the API counts it when it arrives.
      const told = this.rateBefore(startedAt + retryAfterMs);
      if (this.rate === null) {
        this.rate = this.firstRate = told;
      } else {
        this.rate = told !== null && told < this.rate ? told : this.rate * (1 - RATE_DECREASE);
        this.firstRate = null;
      }
      return;
    }
    // A used-up quota before any pace is known: wait for its reset, and learn the pace as from a 429.
    if (hint.waitUntilMs !== undefined && this.rate === null) {
      this.closeUntil(hint.waitUntilMs);
      this.rate = this.firstRate = this.rateBefore(hint.waitUntilMs);
      return;
    }
    this.window = Math.min(MAX_CONCURRENCY, this.window + 1 / (this.window + 2));
    if (this.rate === null) return;
    // Growth per second, spread over the accepted exchanges of that second (1 / rate s each).
    this.rate =
      this.firstRate === null
        ? Math.min(this.ceiling, this.rate + PROBE_PER_S)
        : Math.min(this.ceiling, this.firstRate * FIRST_PROBE_LIMIT, this.rate + (FIRST_PROBE_PER_S * this.firstRate) / this.rate);
  }

  /**
   * The rate the API allowed before it said stop (a `429`, or a used-up quota): the exchanges it
   * accepted in the busy stretch, over the time from the start of the first of them to `reopensAt`
   * (epoch ms: the start of the `429`'s exchange plus its `Retry-After`, or the quota's reset).
   * `null` with fewer than two. The stretch starts again after it.
   */
  private rateBefore(reopensAt: number): number | null {
    const seconds = (reopensAt - (this.accepted[0] ?? reopensAt)) / 1000;
    const rate = this.accepted.length >= 2 && seconds > 0 ? Math.min(this.ceiling, this.accepted.length / seconds) : null;
    this.accepted = [];
    return rate;
  }

  private closeUntil(atMs: number): void {
    this.closedUntilMs = Math.max(this.closedUntilMs, atMs);
    this.nextStartMs = Math.max(this.nextStartMs, this.closedUntilMs);
  }
}

/**
 * `Retry-After` as a wait in ms from `nowMs`: delta seconds (`"2"`, decimals accepted) or an HTTP
 * date; `null` when absent or unreadable. Never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value == null || value.trim() === '') return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

const gates = new Map<string, RateLimitGate>();

/**
 * The id of the API account at `baseUrl` (trailing `/` ignored) used with `apiKey`: a SHA-256
 * digest of both, the key never held otherwise. The gate's {@link RateLimitGate.account} and the
 * state database's rate-limit slots use it.
 */
export function rateLimitAccount(baseUrl: string, apiKey: string): string {
  return createHash('sha256')
    .update(JSON.stringify([baseUrl.replace(/\/+$/, ''), apiKey]))
    .digest('hex');
}

/**
 * The process's gate for the API account at `baseUrl` used with `apiKey`: the same object for
 * every caller with the same pair, a different one for another key or base URL. Gates last as long
 * as the process (one per account it talks to).
 */
export function sharedRateLimitGate(baseUrl: string, apiKey: string): RateLimitGate {
  const id = rateLimitAccount(baseUrl, apiKey);
  let gate = gates.get(id);
  if (!gate) gates.set(id, (gate = new RateLimitGate(id)));
  return gate;
}
