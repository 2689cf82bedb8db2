/**
 * An interrupted run: the real CLI (`node bin/panelsync.js run … --json`) is killed with SIGKILL at
 * several points of a sync against an emulator with latency, then run again to the end. The next
 * run must finish the job without sending any acknowledged row twice and without losing one.
 *
 * "Acknowledged" is what the killed process recorded in its snapshot: the emulator's per-email
 * write counts (`GET /_emulator/writes`) must not grow for those rows afterwards. Rows of the
 * batches in flight at the kill may be written again: the dead process never got their answer.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import { TEST_API_KEY, type EmulatorParticipant } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject, SYNC } from '../helpers/run-helpers.ts';
import { createPeopleProject, PATCH_BATCHES, person, REPO, type PeopleProject } from './people-project.ts';

const ROWS = 300;
const LATENCY_MS = 60;

const projects: PeopleProject[] = [];
afterEach(async () => {
  for (const p of projects.splice(0)) await p.close();
});

/** Starts `panelsync run SYNC --project DIR --json` as a child process. */
function startCli(p: PeopleProject): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stdout: () => string } {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'panelsync.js'), 'run', SYNC, '--project', p.dir, '--json'], {
    cwd: REPO,
    env: { ...process.env, UI_API_KEY: TEST_API_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exit, stdout: () => out };
}

/** Batch requests the emulator has received so far. */
async function batchRequests(p: PeopleProject): Promise<number> {
  return (await p.stats())[PATCH_BATCHES] ?? 0;
}

/**
 * Runs the CLI and kills it (SIGKILL) once `requests` more batch requests reached the emulator,
 * then waits `settleMs` for the requests in flight to land. Returns what the dead run had
 * acknowledged, and the write counts then.
 */
async function runAndKill(
  p: PeopleProject,
  requests: number,
  settleMs = LATENCY_MS * 3,
): Promise<{ acknowledged: Set<string>; writes: Record<string, number> }> {
  const target = (await batchRequests(p)) + requests;
  const cli = startCli(p);
  let exited = false;
  void cli.exit.then(() => (exited = true));
  while (!exited && (await batchRequests(p)) < target) await delay(5);
  cli.child.kill('SIGKILL');
  const { signal } = await cli.exit;
  expect(signal, 'the run ended before the kill point; raise the latency or the rows').toBe('SIGKILL');
  await delay(settleMs);
  return { acknowledged: new Set(p.snapshot().keys()), writes: await p.writeCounts() };
}

function panel(participants: EmulatorParticipant[]) {
  return participants
    .map(({ email, first_name, last_name, characteristics }) => ({ email, first_name, last_name, characteristics }))
    .sort((a, b) => (a.email < b.email ? -1 : 1));
}

describe('an interrupted run (process killed)', () => {
  it('is finished by the next run: every row exactly once, nothing acknowledged sent twice', async () => {
    const p = await createPeopleProject({
      rows: ROWS,
      destination: { batch_size: 10, concurrency: 2 },
      emulator: { latencyMs: LATENCY_MS },
    });
    projects.push(p);

    // Killed as the first batch arrives (held 400 ms, so that nothing can be acknowledged yet
    // however slow this machine is), after some batches, and after most.
    await p.knobs({ fail_next: [{ slow_ms: 400 }, { slow_ms: 400 }] });
    const kills = [await runAndKill(p, 1, 600), await runAndKill(p, 8), await runAndKill(p, 14)];
    expect(kills[0]!.acknowledged.size).toBe(0);
    expect(kills[1]!.acknowledged.size).toBeGreaterThan(0);
    expect(kills[2]!.acknowledged.size).toBeGreaterThan(kills[1]!.acknowledged.size);
    expect(kills[2]!.acknowledged.size).toBeLessThan(ROWS);
    // Acknowledged rows are in the panel with their values.
    const midway = new Map((await p.participants()).map((x) => [x.email, x]));
    for (const pk of kills[2]!.acknowledged) expect(midway.get(person(Number(pk)).email)).toMatchObject(person(Number(pk)));

    const cli = startCli(p);
    const { code } = await cli.exit;
    expect(code).toBe(0);
    const summary = JSON.parse(cli.stdout()) as RunSummary;
    // The writes in flight at the last kill were in doubt: settled first (found in the panel: sent
    // again as changed), the rows never sent are added, the acknowledged ones unchanged.
    const inDoubt = new Database(join(p.dir, 'state', 'state.db'), { readonly: true });
    expect(summary).toMatchObject({
      status: 'success',
      rows: { queried: ROWS, unchanged: kills[2]!.acknowledged.size, removed: 0 },
    });
    expect(summary.rows.added + summary.rows.changed).toBe(ROWS - kills[2]!.acknowledged.size);
    expect(summary.rows.changed).toBeGreaterThan(0);
    expect(inDoubt.prepare('SELECT count(*) FROM write_intents').pluck().get()).toBe(0);
    inDoubt.close();
    expectAddsUp(summary);

    // Every model row is in the panel exactly once, with its values.
    const participants = await p.participants();
    expect(participants).toHaveLength(ROWS);
    expect(new Set(participants.map((x) => x.email)).size).toBe(ROWS);
    // No row acknowledged by a killed run was written again afterwards.
    const writes = await p.writeCounts();
    for (const kill of kills) {
      for (const pk of kill.acknowledged) {
        const email = person(Number(pk)).email;
        expect(writes[email], `${email} was sent again after it was acknowledged`).toBe(kill.writes[email]);
      }
    }
    // Only rows of the batches in flight at a kill were written twice; none more than that.
    const extra = Object.values(writes).reduce((sum, n) => sum + n, 0) - ROWS;
    expect(extra).toBeLessThanOrEqual(kills.length * 2 * 10);
    expect(Math.max(...Object.values(writes))).toBeLessThanOrEqual(1 + kills.length);

    // The killed runs are on record as interrupted; the last one as a success.
    const state = new Database(join(p.dir, 'state', 'state.db'), { readonly: true });
    const statuses = state.prepare('SELECT status FROM runs ORDER BY started_at').pluck().all();
    state.close();
    expect(statuses).toEqual(['interrupted', 'interrupted', 'interrupted', 'success']);

    // The end state equals a clean run's.
    const clean = await createPeopleProject({ rows: ROWS });
    projects.push(clean);
    const cleanRun = await runProject(clean);
    expectAddsUp(cleanRun.summary);
    expect(panel(participants)).toEqual(panel(await clean.participants()));
    expect(new Map([...p.snapshot()].map(([pk, r]) => [pk, r.payload]))).toEqual(
      new Map([...clean.snapshot()].map(([pk, r]) => [pk, r.payload])),
    );
  });
});
