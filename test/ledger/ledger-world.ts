/**
 * The real system of the randomized ledger test: a people project (SQLite `people` table, the
 * emulator on loopback, a state database) and the ways a run meets trouble: writes applied but
 * unanswered, 5xx / 429 / dropped connections, a run aborted through its AbortSignal while the
 * emulator is slow, and the real CLI killed with SIGKILL mid-run. It keeps what the checks need
 * across runs: every summary, and which participant each primary key was tied to.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { TEST_API_KEY, type EmulatorParticipant } from '../helpers/chinook-project.ts';
import { runProject, SYNC } from '../helpers/run-helpers.ts';
import { createPeopleProject, PATCH_BATCHES, REPO, type PeopleProject } from '../engine/people-project.ts';
import { REFUSED_PATTERN, type DeleteBehavior, type PersonRow } from './ledger-reference.ts';

export const FAULTS = ['500', '429', 'drop'] as const;
export type Fault = (typeof FAULTS)[number];

/** What goes wrong during one run. */
export type Trouble =
  | { kind: 'none' }
  /** The next `writes` write requests are applied, then their connection is dropped (writes in doubt). */
  | { kind: 'apply-then-drop'; writes: number }
  /** The next API requests fail, in order. */
  | { kind: 'fail-next'; faults: Fault[] }
  /** Every response takes `latencyMs`; the run's AbortSignal fires after `afterMs`. */
  | { kind: 'abort'; latencyMs: number; afterMs: number }
  /** The CLI runs the sync and is killed with SIGKILL once `afterBatches` batch requests arrived. */
  | { kind: 'kill'; afterBatches: number };

export function describeTrouble(t: Trouble): string {
  switch (t.kind) {
    case 'none':
      return 'no trouble';
    case 'apply-then-drop':
      return `next ${t.writes} writes applied then dropped`;
    case 'fail-next':
      return `fail_next [${t.faults.join(', ')}]`;
    case 'abort':
      return `latency ${t.latencyMs} ms, aborted after ${t.afterMs} ms`;
    case 'kill':
      return `CLI killed (SIGKILL) after ${t.afterBatches} batch requests`;
  }
}

/** Small retries and timeouts, small batches (several requests per run), two in flight. */
const DESTINATION = { batch_size: 3, concurrency: 2, max_attempts: 2, timeout_ms: 2_000 };
const LAST_NAME_MAPPING = { from: 'LastName', to: 'last_name' };
const FIRST_NAME_MAPPING = { from: 'FirstName', to: 'first_name' };

export interface RecordedRun {
  /** Index of the run in the sequence, from 1. */
  n: number;
  label: string;
  /** Null for a killed CLI run (no summary printed). */
  summary: RunSummary | null;
  /** Rows the run reported rejected, with the error (in-process runs only). */
  rejected: Array<{ pk: string; error: string }>;
}

export interface Tie {
  pk: number;
  epoch: number;
  /** The run after which it was first seen. */
  run: number;
}

export class LedgerWorld {
  readonly runs: RecordedRun[] = [];
  /** Participant id -> the key the snapshot tied it to, last seen. */
  readonly ties = new Map<string, Tie>();
  /** Key -> the participant id the snapshot last tied it to (in the key's current or last stay). */
  readonly lastTie = new Map<number, { id: string; epoch: number }>();

  private constructor(readonly project: PeopleProject) {}

  static async create(rows: number, deleteBehavior: DeleteBehavior, lastNameMapped: boolean): Promise<LedgerWorld> {
    const project = await createPeopleProject({
      rows,
      sync: { delete_behavior: deleteBehavior, mappings: mappings(lastNameMapped) },
      destination: DESTINATION,
      emulator: { rejectEmailPattern: REFUSED_PATTERN },
    });
    return new LedgerWorld(project);
  }

  async close(): Promise<void> {
    await this.project.close();
  }

  // ---- model edits (plain SQL) and configuration ----

  insertRow(pk: number, row: PersonRow): void {
    this.project.db.prepare('INSERT INTO people (id, email, first_name, last_name) VALUES (?, ?, ?, ?)').run(pk, row.email, row.first_name, row.last_name);
  }

  deleteRow(pk: number): void {
    this.project.db.prepare('DELETE FROM people WHERE id = ?').run(pk);
  }

  setColumn(pk: number, column: 'email' | 'first_name' | 'last_name', value: string): void {
    this.project.db.prepare(`UPDATE people SET ${column} = ? WHERE id = ?`).run(value, pk);
  }

  setDeleteBehavior(behavior: DeleteBehavior): void {
    this.project.writeSync({ delete_behavior: behavior });
  }

  setLastNameMapped(mapped: boolean): void {
    this.project.writeSync({ mappings: mappings(mapped) });
  }

  // ---- runs ----

  /**
   * One run of the sync with `trouble`; every fault is off again afterwards. Returns its summary,
   * or null when the CLI was killed.
   */
  async run(trouble: Trouble, options: { fullResync?: boolean } = {}): Promise<RunSummary | null> {
    const label = `${describeTrouble(trouble)}${options.fullResync ? ', --full-resync' : ''}`;
    let summary: RunSummary | null;
    this.rejections = [];
    try {
      switch (trouble.kind) {
        case 'none':
          summary = await this.runInProcess(options);
          break;
        case 'apply-then-drop':
          await this.project.knobs({ apply_then_drop_next: trouble.writes });
          summary = await this.runInProcess(options);
          break;
        case 'fail-next':
          await this.project.knobs({
            fail_next: trouble.faults.map((f) => (f === '500' ? { status: 500 } : f === '429' ? { status: 429, retry_after: 0 } : { drop: true })),
          });
          summary = await this.runInProcess(options);
          break;
        case 'abort':
          await this.project.knobs({ latency_ms: trouble.latencyMs });
          summary = await this.runInProcess({ ...options, signal: AbortSignal.timeout(trouble.afterMs) });
          // Requests still in flight land before the next step.
          await delay(trouble.latencyMs * 2);
          break;
        case 'kill':
          summary = await this.runCliAndKill(trouble.afterBatches, options);
          break;
      }
    } finally {
      await this.faultsOff();
    }
    this.runs.push({ n: this.runs.length + 1, label, summary, rejected: this.rejections });
    return summary;
  }

  async faultsOff(): Promise<void> {
    await this.project.knobs({ fail_next: [], apply_then_drop_next: 0, latency_ms: 0 });
  }

  private rejections: RecordedRun['rejected'] = [];

  /**
   * One run in this process. Runs take turns at where the stage is written and diffed: in this
   * thread, by a stage worker from the first row, or by a worker taking over after two rows (the
   * worker joins what this thread wrote, then each slice as it comes, unless writes are in doubt).
   */
  private async runInProcess(options: { fullResync?: boolean; signal?: AbortSignal }): Promise<RunSummary> {
    const stageWorkerFromRows = [Number.MAX_SAFE_INTEGER, 0, 2][this.runs.length % 3]!;
    const store = new SqliteStateStore((await this.project.load()).statePath, { stageWorkerFromRows });
    try {
      const { summary, rejected } = await runProject(this.project, { allowMassDelete: true, store, ...options });
      this.rejections = rejected;
      return summary;
    } finally {
      store.close();
    }
  }

  /** The CLI with 40 ms of latency per request, killed once `afterBatches` more batch requests arrived. */
  private async runCliAndKill(afterBatches: number, options: { fullResync?: boolean }): Promise<RunSummary | null> {
    const latencyMs = 40;
    await this.project.knobs({ latency_ms: latencyMs });
    const target = (await this.batchRequests()) + afterBatches;
    const args = ['run', SYNC, '--project', this.project.dir, '--json', '--allow-mass-delete', ...(options.fullResync ? ['--full-resync'] : [])];
    const child = spawn(process.execPath, [join(REPO, 'bin', 'panelsync.js'), ...args], {
      cwd: REPO,
      env: { ...process.env, UI_API_KEY: TEST_API_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let exited = false;
    void exit.then(() => (exited = true));
    while (!exited && (await this.batchRequests()) < target) await delay(5);
    child.kill('SIGKILL');
    const { code, signal } = await exit;
    await delay(latencyMs * 3); // requests in flight at the kill land
    if (signal === 'SIGKILL') return null;
    // The run ended before the kill point: it is an ordinary CLI run.
    if (out.trim() === '') throw new Error(`the CLI exited ${code} without a summary: ${err}`);
    return JSON.parse(out) as RunSummary;
  }

  private async batchRequests(): Promise<number> {
    return (await this.project.stats())[PATCH_BATCHES] ?? 0;
  }

  // ---- what the checks read ----

  participants(): Promise<EmulatorParticipant[]> {
    return this.project.participants();
  }

  /** The sync's snapshot: primary key -> participant id (null when none recorded). */
  snapshotTies(): Map<number, string | null> {
    return new Map([...this.project.snapshot()].map(([pk, r]) => [Number(pk), r.participantId]));
  }

  async writeTotal(): Promise<number> {
    return Object.values(await this.project.writeCounts()).reduce((sum, n) => sum + n, 0);
  }

  describeRuns(): string {
    return this.runs
      .map((r) => {
        const s = r.summary;
        if (!s) return `  run ${r.n} (${r.label}): killed`;
        const unsent = (s as { unsent?: unknown }).unsent;
        return (
          `  run ${r.n} (${r.label}): ${s.status} rows ${JSON.stringify(s.rows)} succeeded ${JSON.stringify(s.succeeded)} ` +
          `rejected ${JSON.stringify(s.rejected)} skipped ${JSON.stringify(s.skipped)}` +
          (unsent === undefined ? '' : ` unsent ${JSON.stringify(unsent)}`) +
          (s.error ? ` error: ${s.error}` : '') +
          r.rejected.map((x) => `\n    rejected key ${x.pk}: ${x.error}`).join('')
        );
      })
      .join('\n');
  }
}

function mappings(lastNameMapped: boolean) {
  return lastNameMapped ? [FIRST_NAME_MAPPING, LAST_NAME_MAPPING] : [FIRST_NAME_MAPPING];
}
