/** Running a sync in-process in tests, with everything it emitted. */
import { expect } from 'vitest';
import { SyncEvents } from '../../src/engine/events.ts';
import { runSync, type RunSyncOptions } from '../../src/engine/run-sync.ts';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import type { ApiCall } from '../../src/http/http-client.ts';
import type { ChinookProject } from './chinook-project.ts';

export const SYNC = 'customers-to-panel';

export interface RunRecordForTest {
  summary: RunSummary;
  calls: ApiCall[];
  invalid: Array<{ pk: string | null; reason: string }>;
  rejected: Array<{ pk: string; error: string }>;
}

/** Runs `customers-to-panel` of the project and collects its calls and row events. */
export async function runProject(
  project: ChinookProject,
  options: Omit<RunSyncOptions, 'project' | 'sync' | 'events'> = {},
): Promise<RunRecordForTest> {
  const events = new SyncEvents();
  const calls: ApiCall[] = [];
  const invalid: RunRecordForTest['invalid'] = [];
  const rejected: RunRecordForTest['rejected'] = [];
  events.on('call:done', (e) => calls.push(e.call));
  events.on('row:invalid', (e) => invalid.push({ pk: e.pk, reason: e.reason }));
  events.on('row:rejected', (e) => rejected.push({ pk: e.pk, error: e.error }));
  const summary = await runSync({ project: await project.load(), sync: SYNC, events, ...options });
  return { summary, calls, invalid, rejected };
}

/** The summary's arithmetic: asserted after every run. Every planned row is succeeded, rejected, skipped or unsent. */
export function expectAddsUp(s: RunSummary): void {
  expect(s.rows.queried).toBe(s.rows.added + s.rows.changed + s.rows.unchanged + s.rows.invalid);
  for (const c of ['added', 'changed', 'removed'] as const) {
    expect(s.succeeded[c] + s.rejected[c] + s.skipped[c] + s.unsent[c]).toBe(s.rows[c]);
  }
}

/** Write calls (anything but GET) among recorded calls. */
export function writeCalls(calls: ApiCall[]): ApiCall[] {
  return calls.filter((c) => c.method !== 'GET');
}

/** Participants in the bodies of the successful batch calls. */
export function sentInBatches(calls: ApiCall[]): Array<Record<string, unknown>> {
  return calls
    .filter((c) => c.method === 'PATCH' && c.status === 200)
    .flatMap((c) => (JSON.parse(c.request_body!) as { participants: Array<Record<string, unknown>> }).participants);
}
