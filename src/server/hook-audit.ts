/**
 * The audit record of an inbound webhook call (`POST /api/v1/hooks/{name}`): the hook route
 * records {@link hookAuditEntry} once per sync the call started or queued a run of, and once with
 * `sync: null` for a call refused as a whole (a wrong or stale signature, an unknown hook).
 */
import type { AuditEntry } from '../state/audit-log.ts';

/** One hook call's outcome, as the audit log keeps it. */
export interface HookCall {
  /** The hook's name (a key of `hooks` in the project file, or the name the path gave). */
  hook: string;
  /** The sync whose run it started or queued; `null` for a call that triggered nothing. */
  sync: string | null;
  /** The run started or queued; `null` when none. */
  runId: string | null;
  /** `started` / `queued` a run, or `refused` (bad signature, stale timestamp, unknown hook, the sync running elsewhere). */
  result: 'started' | 'queued' | 'refused';
  /** Why it was refused, in words without the secret or the body; `null` otherwise. */
  detail?: string | null;
}

/** The audit entry of `call`: token kind `hook`, action `hook`, the hook as target. */
export function hookAuditEntry(call: HookCall): AuditEntry {
  return { token_kind: 'hook', action: 'hook', sync: call.sync, target: call.hook, run_id: call.runId, result: call.result, detail: call.detail ?? null };
}
