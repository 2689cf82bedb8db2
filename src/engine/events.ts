/**
 * The typed event map of a run. Side concerns (run log, live debugger, alerts, progress bar, UI)
 * subscribe here; the engine never calls them directly (style.md: graphile/worker WorkerEventMap).
 */
import { EventEmitter } from 'node:events';
import type { ApiCall } from '../http/http-client.ts';
import type { ChangeClass, PlanCounts, RunOptions, RunTrigger } from '../state/state-store.ts';
import type { ClassCounts, RunSummary } from './run-summary.ts';

export interface SyncEventMap {
  /** `options`: what the run was asked to do besides sending what changed (a full resync, a reset CDC). */
  'run:start': { runId: string; sync: string; trigger: RunTrigger; startedAt: string; options: RunOptions };
  /** The model was read and diffed; `counts` says what the run will act on. */
  'run:planned': { runId: string; sync: string; counts: PlanCounts };
  'row:invalid': { runId: string; sync: string; pk: string | null; reason: string };
  'row:rejected': { runId: string; sync: string; pk: string; class: ChangeClass; error: string };
  /**
   * A batch (or single-row request) reached its final outcome and was committed. `rows` counts
   * its rows; each of them is in exactly one of `succeeded`, `rejected` and `skipped` (the mode
   * does not act on it), by change class: a batch may hold rows of several classes.
   */
  'batch:done': { runId: string; sync: string; rows: number; succeeded: ClassCounts; rejected: ClassCounts; skipped: ClassCounts };
  /** Every attempt of every API call, already redacted. */
  'call:done': { runId: string; sync: string; seq: number; call: ApiCall };
  'run:end': { runId: string; sync: string; summary: RunSummary };
  /** Something went wrong that does not change the run's outcome (cleaning up after it). */
  'run:warning': { runId: string; sync: string; message: string };
}
export type SyncEventName = keyof SyncEventMap;

/** A typed emitter over {@link SyncEventMap}. A listener that throws is reported, never breaks a run. */
export class SyncEvents {
  private readonly emitter = new EventEmitter();

  on<E extends SyncEventName>(event: E, listener: (payload: SyncEventMap[E]) => void): () => void {
    const wrapped = (payload: SyncEventMap[E]) => {
      try {
        listener(payload);
      } catch (error) {
        process.emitWarning(`panelsync: a ${event} listener failed: ${(error as Error).message}`);
      }
    };
    this.emitter.on(event, wrapped);
    return () => this.emitter.off(event, wrapped);
  }

  emit<E extends SyncEventName>(event: E, payload: SyncEventMap[E]): void {
    this.emitter.emit(event, payload);
  }
}
