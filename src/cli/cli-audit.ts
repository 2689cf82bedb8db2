/**
 * Operator actions taken from a shell (`panelsync run --full-resync | --reset-cdc`, `panelsync
 * unlock`) go into the same audit log as the API's, with token kind `cli` (see
 * src/state/audit-log.ts). Recording never changes the command's outcome: a failure to record is
 * a warning on stderr.
 */
import type Database from 'better-sqlite3';
import { redact } from '../http/http-client.ts';
import type { AuditEntry } from '../state/audit-log.ts';
import { SqliteAuditLog } from '../state/sqlite-audit-log.ts';

/**
 * Records `entry` (its `token_kind` is `cli`) in the audit log of the open state database `db`.
 * @param secrets the project's secrets (redacted from `detail` and from a warning)
 */
export function recordCliAction(db: Database.Database, secrets: readonly string[], entry: Omit<AuditEntry, 'token_kind'>): void {
  try {
    new SqliteAuditLog(db, { secrets }).record({ token_kind: 'cli', ...entry });
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error), secrets);
    process.stderr.write(`panelsync: warning: the ${entry.action} of sync "${entry.sync}" could not be recorded in the audit log: ${message}\n`);
  }
}
