/** {@link AuditLog} over the embedded SQLite state database (table `audit_log`, migration 13). */
import type Database from 'better-sqlite3';
import { redact } from '../http/redact.ts';
import { DEFAULT_AUDIT_LIMIT, type AuditEntry, type AuditLog, type AuditRecord } from './audit-log.ts';

/** Appends to and reads the audit log of an open state database (its migrations applied). */
export class SqliteAuditLog implements AuditLog {
  /**
   * @param db an open state database
   * @param secrets strings replaced by `[REDACTED]` in `detail` before it is stored (the project's secrets)
   */
  constructor(
    private readonly db: Database.Database,
    private readonly secrets: readonly string[] = [],
  ) {}

  record(entry: AuditEntry): AuditRecord {
    const at = new Date().toISOString();
    const detail = entry.detail === null ? null : redact(entry.detail, this.secrets);
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO audit_log (at, token_kind, action, sync, target, run_id, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(at, entry.token_kind, entry.action, entry.sync, entry.target, entry.run_id, entry.result, detail);
    return { id: Number(lastInsertRowid), at, ...entry, detail };
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
}
