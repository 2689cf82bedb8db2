/**
 * What `GET /api/v1/runs/{id}?wait=SECONDS` waits on: the end of any run this server started
 * (from the launcher's runs), with a poll interval as a floor for what it cannot hear of (a run
 * of another process, `panelsync run` in a shell; a queued run dropped by a stop).
 */
import type { LaunchedRun } from '../scheduler/run-launcher.ts';

/** Longest time between two looks at a run being waited on, ms. */
export const WAIT_POLL_MS = 1_000;

/** Hears the end of every run the launcher starts; {@link next} resolves at the next one. */
export class RunEndSignal {
  private readonly waiters = new Set<() => void>();

  constructor(launcher: { onRun(listener: (run: LaunchedRun) => void): () => void }) {
    launcher.onRun((run) => void run.done.then(() => this.notify()));
  }

  /**
   * Resolves when a run of this server ends, after `ms` (at most {@link WAIT_POLL_MS}), or when
   * `signal` aborts (the client went away), whichever comes first. Never rejects.
   */
  next(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, WAIT_POLL_MS)));
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
