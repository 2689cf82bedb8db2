/**
 * A run's progress while it runs, counted from its events (no database read): what the plan will
 * act on (`run:planned`), the rows whose batches reached their final outcome (`batch:done`) and
 * the API calls made (`call:done`). The server shows it for runs in progress, whose record has no
 * summary yet.
 */
import type { SyncEvents } from '../engine/events.ts';
import { emptyClassCounts, type ClassCounts } from '../engine/run-summary.ts';
import { CHANGE_CLASSES, type PlanCounts } from '../state/state-store.ts';

/**
 * A run's counts so far, JSON-ready (snake_case, as the run summary). Rows are counted when their
 * batch reaches its final outcome, so a batch being sent or split-retried is not in them yet.
 */
export interface RunProgress {
  /** The plan's counts (as the summary's `rows`); `null` until the model has been read and diffed. */
  planned: PlanCounts | null;
  /** Rows the destination acknowledged so far, by change class. */
  succeeded: ClassCounts;
  /** Rows the destination finally rejected so far, by change class. */
  rejected: ClassCounts;
  /** Rows of finished batches that the mode does not act on (neither succeeded nor rejected), by change class. */
  skipped: ClassCounts;
  /** HTTP attempts made to the destination so far, reads included. */
  api_calls: number;
}

/** Counts a run's progress from `events` from now on; subscribe before the run emits anything. */
export function trackProgress(events: SyncEvents): { progress(): RunProgress; stop(): void } {
  const state: RunProgress = {
    planned: null,
    succeeded: emptyClassCounts(),
    rejected: emptyClassCounts(),
    skipped: emptyClassCounts(),
    api_calls: 0,
  };
  const unsubscribe = [
    events.on('run:planned', ({ counts }) => (state.planned = { ...counts })),
    events.on('batch:done', ({ succeeded, rejected, skipped }) => {
      for (const c of CHANGE_CLASSES) {
        state.succeeded[c] += succeeded[c];
        state.rejected[c] += rejected[c];
        state.skipped[c] += skipped[c];
      }
    }),
    events.on('call:done', () => state.api_calls++),
  ];
  return {
    progress: () => ({
      planned: state.planned === null ? null : { ...state.planned },
      succeeded: { ...state.succeeded },
      rejected: { ...state.rejected },
      skipped: { ...state.skipped },
      api_calls: state.api_calls,
    }),
    stop: () => unsubscribe.forEach((off) => off()),
  };
}
