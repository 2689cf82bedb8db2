/**
 * The run log side concern: subscribes to runs' {@link SyncEvents} and, when a run ends, writes
 * its record and row outcomes to the source its sync logs to (`log_to`), migrating the log tables
 * first. The run never waits for it and never fails because of it: a write that fails is one
 * warning line, and the run stays as it ended in the state database.
 */
import type { Project } from '../config/load-project.ts';
import type { LogToConfig } from '../config/schema.ts';
import type { SyncEvents } from '../engine/events.ts';
import { redact } from '../http/redact.ts';
import type { OutcomeItem, RunHistory } from '../state/run-history.ts';
import { openLogDatabase } from './log-database.ts';
import { migrateLogTables } from './log-migrations.ts';
import { writeRunLog, type RunLogWriteResult } from './write-run-log.ts';

/** Row outcomes read from the state database per page. */
export const OUTCOMES_PAGE = 5_000;

/** Where the runs of `sync` are logged: the sync's `log_to` (`null` turns logging off), else the project's; `null` when nowhere. */
export function logTargetOf(project: Project, sync: string): LogToConfig | null {
  const own = project.syncs[sync]?.log_to;
  return own === undefined ? (project.log_to ?? null) : own;
}

export interface RunLogWriterOptions {
  /** The validated project: `log_to`, `log_retention_days`, the syncs' `log_to`, sources and secrets. */
  project: Project;
  /** Where ended runs and their outcomes are read; it must stay open until {@link RunLogWriter.settled} resolved. */
  history: Pick<RunHistory, 'getRun' | 'listOutcomes'>;
  /** Receives one line, secrets redacted, per run whose log could not be written. */
  warn: (line: string) => void;
}

/**
 * Writes ended runs to their `log_to` source, one write at a time in the order the runs ended
 * (so that two writes never migrate the same tables at once).
 */
export class RunLogWriter {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: RunLogWriterOptions) {}

  /** Logs every run of `events` when it ends (`run:end`); returns the function that stops listening. */
  watch(events: SyncEvents): () => void {
    return events.on('run:end', ({ runId, sync }) => void this.write(runId, sync));
  }

  /**
   * Queues the write of the ended run `runId` of `sync` after the writes queued before it.
   * @returns what was written; `null` when the sync logs nowhere, or the write failed (warned). Never rejects.
   */
  write(runId: string, sync: string): Promise<RunLogWriteResult | null> {
    const target = logTargetOf(this.options.project, sync);
    if (target === null) return Promise.resolve(null);
    const written = this.#tail.then(() => this.#write(runId, sync, target));
    this.#tail = written;
    return written;
  }

  /** Resolves when every write queued so far is over (written or warned). Never rejects. */
  async settled(): Promise<void> {
    for (let tail = this.#tail; ; tail = this.#tail) {
      await tail;
      if (tail === this.#tail) return;
    }
  }

  async #write(runId: string, sync: string, target: LogToConfig): Promise<RunLogWriteResult | null> {
    const { project, history } = this.options;
    try {
      const run = history.getRun(runId);
      if (run === null || run.status === 'running') throw new Error('the state database holds no ended run of that id');
      const db = await openLogDatabase(project.sources[target.source]!, target.schema);
      try {
        await migrateLogTables(db);
        return await writeRunLog(db, {
          run,
          outcomes: outcomePages(history, runId),
          ...(project.log_retention_days === undefined ? {} : { retentionDays: project.log_retention_days }),
          secrets: project.secrets,
          now: new Date().toISOString(),
        });
      } finally {
        await db.close();
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.options.warn(
        redact(
          `run ${runId} of sync "${sync}" was not logged to source "${target.source}" (schema ${target.schema}): ${reason}. ` +
            `The run itself is not affected; its record stays in the state database (panelsync runs ${sync})`,
          project.secrets,
        ),
      );
      return null;
    }
  }
}

/** The run's row outcomes, page by page in the order recorded. */
function* outcomePages(history: Pick<RunHistory, 'listOutcomes'>, runId: string): Generator<OutcomeItem[]> {
  for (let afterId = 0; ; ) {
    const page = history.listOutcomes(runId, { afterId, limit: OUTCOMES_PAGE });
    if (page.length === 0) return;
    yield page;
    afterId = page[page.length - 1]!.id;
  }
}
