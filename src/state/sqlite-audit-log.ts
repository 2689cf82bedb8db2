/** {@link AuditLog} over the embedded SQLite state database (table `audit_log`, migration 13). */
import type Database from 'better-sqlite3';
import { redact } from '../http/redact.ts';
import { retryDelayMs } from '../scheduler/retry-backoff.ts';
import { DEFAULT_AUDIT_LIMIT, type AuditEntry, type AuditLog, type AuditRecord } from './audit-log.ts';

export interface SqliteAuditLogOptions {
  /** Strings replaced by `[REDACTED]` in `detail` before it is stored (the project's secrets). */
  secrets?: readonly string[];
  /**
   * Never wait for a busy state database (the server: a request must not hold the event loop for
   * busy_timeout): an entry that cannot be written at once is kept, with its time, and written
   * with the ones after it, in order, as soon as the database allows (tried again after 1 s,
   * doubling up to 30 s). Default `false`: wait up to busy_timeout, then throw (the CLI).
   */
  deferWhenBusy?: boolean;
  /** Receives the error of a deferred write that failed for another reason than a busy database (the entry is dropped). */
  onError?: (error: unknown) => void;
}

/** Appends to and reads the audit log of an open state database (its migrations applied). */
export class SqliteAuditLog implements AuditLog {
  private readonly secrets: readonly string[];
  /** Entries not written yet (the database was busy), oldest first. */
  private readonly pending: Array<AuditEntry & { at: string }> = [];
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly options: SqliteAuditLogOptions = {},
  ) {
    this.secrets = options.secrets ?? [];
  }

  record(entry: AuditEntry): void {
    const detail = entry.detail === null ? null : redact(entry.detail, this.secrets);
    this.pending.push({ ...entry, detail, at: new Date().toISOString() });
    if (!this.options.deferWhenBusy) {
      try {
        this.writePending();
      } catch (error) {
        this.pending.length = 0;
        throw error;
      }
      return;
    }
    if (this.timer === null) this.tryWrite();
  }

  list(options: { limit?: number; before?: number; sync?: string } = {}): AuditRecord[] {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (options.sync !== undefined) {
      where.push('sync = ?');
      params.push(options.sync);
    }
    if (options.before !== undefined) {
      where.push('id < ?');
      params.push(options.before);
    }
    params.push(options.limit ?? DEFAULT_AUDIT_LIMIT);
    return this.db
      .prepare(
        `SELECT id, at, token_kind, action, sync, target, run_id, result, detail FROM audit_log
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      )
      .all(...params) as AuditRecord[];
  }

  /**
   * Writes the entries still waiting, waiting for the database up to its busy_timeout, and stops
   * trying again (the server stopping, before it closes the database). Never throws: an entry
   * that cannot be written then is reported to `onError`.
   */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.writePending();
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** Writes every pending entry, in order, in one transaction, waiting as the connection's busy_timeout says. */
  private writePending(): void {
    const insert = this.db.prepare('INSERT INTO audit_log (at, token_kind, action, sync, target, run_id, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const e of this.pending) insert.run(e.at, e.token_kind, e.action, e.sync, e.target, e.run_id, e.result, e.detail);
    }).immediate();
    this.pending.length = 0;
  }

  /** Writes the pending entries without waiting for a busy database; tries again later if it is. */
  private tryWrite(): void {
    this.timer = null;
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      this.writePending();
      this.failures = 0;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') {
        this.pending.length = 0;
        this.options.onError?.(error);
        return;
      }
      this.failures++;
      this.timer = setTimeout(() => this.tryWrite(), retryDelayMs(this.failures));
      this.timer.unref();
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
  }
}
