/**
 * The audit log of operator actions: who (by the kind of token or caller), when, what, and how it
 * went, kept in the state database (migration 13, table `audit_log`). Records are JSON-ready
 * (snake_case) as the API (`GET /api/v1/audit`) and the web UI show them. A record never holds a
 * token, a request or response body, or participant data: `detail` is a sentence made by panelsync
 * (a refusal's reason), with every secret redacted. The SQLite implementation is
 * {@link ./sqlite-audit-log.ts}.
 */

/**
 * Who acted, by the credential used: `operator` (`server.api_token`), `viewer`
 * (`server.viewer_token`: only ever `denied`), `hook` (a signed inbound webhook), `cli` (a
 * `panelsync` command run in a shell, with access to the state database).
 */
export const AUDIT_TOKEN_KINDS = ['operator', 'viewer', 'hook', 'cli'] as const;
export type AuditTokenKind = (typeof AUDIT_TOKEN_KINDS)[number];

/**
 * What was asked: a run (`trigger`), a run with `full_resync` or `reset_cdc`, breaking a run lock
 * (`unlock`), a test notification (`alert_test`), or a call of an inbound webhook (`hook`).
 */
export const AUDIT_ACTIONS = ['trigger', 'full_resync', 'reset_cdc', 'unlock', 'alert_test', 'hook'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * How it went: a run `started` or `queued`; the action `succeeded` or `failed` (an unlock, a test
 * notification); `refused` by panelsync (the sync runs in another process, the server is stopping,
 * a bad signature); `denied` to a token not allowed to act (a viewer).
 */
export const AUDIT_RESULTS = ['started', 'queued', 'succeeded', 'failed', 'refused', 'denied'] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** What a caller records. */
export interface AuditEntry {
  token_kind: AuditTokenKind;
  action: AuditAction;
  /** The sync acted on; `null` when the action names none (an alert test, a hook that matched no sync). */
  sync: string | null;
  /** The alert channel (`alert_test`) or hook (`hook`) named; `null` otherwise. */
  target: string | null;
  /** The run started or queued; `null` when none was. */
  run_id: string | null;
  result: AuditResult;
  /** One sentence: why it was refused, denied or failed, or what it did; `null` when nothing to add. Secrets are redacted when stored. */
  detail: string | null;
}

/** A stored entry: its id (increasing in the order recorded) and when it was recorded (ISO 8601 UTC). */
export interface AuditRecord extends AuditEntry {
  id: number;
  at: string;
}

/** Entries listed when no limit is given. */
export const DEFAULT_AUDIT_LIMIT = 100;

/** Reads and appends the audit log. */
export interface AuditLog {
  /**
   * Appends `entry`, timed now. An implementation may write it later, in order, when the database
   * is busy (see SqliteAuditLogOptions.deferWhenBusy): {@link list} shows it once written.
   * @throws the database error when it cannot be written and is not deferred
   */
  record(entry: AuditEntry): void;
  /**
   * Newest first: at most `limit` (default {@link DEFAULT_AUDIT_LIMIT}) records, only those of
   * `sync` when given, only those older than id `before` when given (the next page's `before` is
   * the `id` of the last record of a page).
   */
  list(options?: { limit?: number; before?: number; sync?: string }): AuditRecord[];
}
