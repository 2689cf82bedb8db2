/**
 * Long write work on the state database (pruning, giving space back) done in short write
 * transactions, with pauses in between: another process's commit or lock heartbeat waits at
 * most about one slice for the database (SQLite's busy handler retries every few ms up to
 * 100 ms), never for the whole job. Between slices the event loop runs (`serve` keeps answering).
 */
import type Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a slice should take, ms: well under the ~100 ms a slice may hold the database. */
export const SLICE_TARGET_MS = 25;
/** Rows (or pages) of the first slice of a kind of step; then doubled or halved to meet {@link SLICE_TARGET_MS}. */
const FIRST_LIMIT = 32;
const MAX_LIMIT = 200_000;
/** The least pause between slices, ms; a pause otherwise lasts as long as the slice before it. */
const MIN_PAUSE_MS = 5;

/** Runs write steps in slices of bounded duration (see the module doc). One per job. */
export class SlicedWrites {
  /** The slice size learned per kind of step, rows. */
  private readonly limits = new Map<string, number>();
  /** The longest slice so far, ms (a transaction held the write lock this long). */
  longestSliceMs = 0;
  /** Slices run so far. */
  slices = 0;

  constructor(private readonly db: Database.Database) {}

  /**
   * Calls `step(limit)` in one write transaction (BEGIN IMMEDIATE) per slice, pausing between
   * slices, until it reports fewer than `limit` rows done. `limit` adapts so that a slice takes
   * about {@link SLICE_TARGET_MS}. `kind` names the step, so that its slice size is learned once.
   * @param step does at most `limit` rows (or pages) of work; returns how many it did
   * @returns the rows done in all
   */
  async repeat(kind: string, step: (limit: number) => number): Promise<number> {
    let total = 0;
    for (;;) {
      const limit = this.limits.get(kind) ?? FIRST_LIMIT;
      const started = performance.now();
      const done = this.db.transaction(() => step(limit)).immediate();
      const elapsed = performance.now() - started;
      this.slices++;
      this.longestSliceMs = Math.max(this.longestSliceMs, elapsed);
      total += done;
      if (elapsed < SLICE_TARGET_MS / 2 && done === limit) this.limits.set(kind, Math.min(MAX_LIMIT, limit * 2));
      else if (elapsed > SLICE_TARGET_MS) this.limits.set(kind, Math.max(1, Math.floor(limit / 2)));
      if (done < limit) return total;
      await sleep(Math.max(MIN_PAUSE_MS, elapsed));
    }
  }
}
