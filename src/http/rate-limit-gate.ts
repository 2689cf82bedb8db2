/**
 * The rate-limit gate: after a `429` with `Retry-After`, no exchange with the same API account
 * starts before the time the API asked for. The limit belongs to the account, not to one run (see
 * shared docs: user-interviews-api, "Limits and errors": `429` with `Retry-After` [assumed]), so
 * the process keeps one gate per account (base URL and API key), shared by every HttpClient on it:
 * runs of several syncs on one key (`panelsync serve`) respect each other's `Retry-After`.
 */
import { createHash } from 'node:crypto';

/** Holds exchanges back until a time set by `429`s. Safe to share between clients and requests. */
export class RateLimitGate {
  private openAtMs = 0;

  /** Epoch ms before which no exchange through this gate starts (0 when it was never closed). */
  get opensAt(): number {
    return this.openAtMs;
  }

  /** Closes the gate until `atMs` (epoch ms); a later time already set stands. */
  closeUntil(atMs: number): void {
    this.openAtMs = Math.max(this.openAtMs, atMs);
  }

  /**
   * Waits with `sleep` until the gate opens, and again when another `429` pushed the opening
   * further out meanwhile. Returns the ms waited (0 when it was open).
   * @throws whatever `sleep` throws (an abort); the gate stays as it is
   */
  async pass(sleep: (ms: number) => Promise<void>): Promise<number> {
    let waited = 0;
    for (let seen = -1; this.openAtMs !== seen; ) {
      seen = this.openAtMs;
      const wait = seen - Date.now();
      if (wait <= 0) break;
      await sleep(wait);
      waited += wait;
    }
    return waited;
  }
}

const gates = new Map<string, RateLimitGate>();

/**
 * The process's gate for the API account at `baseUrl` (trailing `/` ignored) used with `apiKey`:
 * the same object for every caller with the same pair, a different one for another key or base
 * URL. The key is held only as part of a SHA-256 digest. Gates last as long as the process (one
 * per account it talks to).
 */
export function sharedRateLimitGate(baseUrl: string, apiKey: string): RateLimitGate {
  const id = createHash('sha256')
    .update(JSON.stringify([baseUrl.replace(/\/+$/, ''), apiKey]))
    .digest('hex');
  let gate = gates.get(id);
  if (!gate) gates.set(id, (gate = new RateLimitGate()));
  return gate;
}
