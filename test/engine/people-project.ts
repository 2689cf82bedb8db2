/**
 * A small, editable model for the engine tests: a `people` table (id, email, first_name,
 * last_name) in the project's SQLite copy, synced by `customers-to-panel` with the name mappings.
 * Row i is `user{i}@example.com`, `First{i}`, `Last{i}`. Tests change rows with plain SQL on `db`.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect } from 'vitest';
import { ACCEPT } from '../../src/destinations/user-interviews/wire.ts';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import { decodePayload } from '../../src/state/payload-codec.ts';
import type { StartEmulatorOptions } from '../../src/emulator/start-emulator.ts';
import { createChinookProject, NAME_MAPPINGS, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';

/** The model over `people`, with the column names the Chinook project file expects. */
export const PEOPLE_MODEL = `SELECT id AS CustomerId, email AS Email, first_name AS FirstName, last_name AS LastName
  FROM people ORDER BY id`;

export const PATCH_BATCHES = 'PATCH /api/participants/batches';
export const POST_PARTICIPANTS = 'POST /api/participants';
export const DELETE_PARTICIPANT = 'DELETE /api/participants/{id}';
export const GET_PARTICIPANTS = 'GET /api/participants';

export interface PeopleProject extends ChinookProject {
  /** Adds people `from..to` (inclusive) with the default values. */
  addPeople(from: number, to: number): void;
  /** GET /_emulator/writes: writes applied per normalized email. */
  writeCounts(): Promise<Record<string, number>>;
  /** The sync's snapshot rows in the state database, by primary key. */
  snapshot(): Map<string, { email: string; participantId: string | null; payload: string }>;
  /** The row outcomes a run recorded, in order. */
  outcomes(runId: string): Array<{ pk: string | null; class: string; result: string; error: string | null }>;
  /** Deletes the participant holding `email` straight in the emulator (as if by hand in User Interviews), through its API. */
  deleteByHand(email: string): Promise<void>;
}

/** The participant holding `email` (case aside) in the project's emulator, if any. */
export async function participantByEmail(p: Pick<PeopleProject, 'participants'>, email: string) {
  return (await p.participants()).find((x) => x.email.toLowerCase() === email.toLowerCase());
}

/** The default person `i` as the emulator should hold it after a sync. */
export function person(i: number): { email: string; first_name: string; last_name: string } {
  return { email: `user${i}@example.com`, first_name: `First${i}`, last_name: `Last${i}` };
}

/**
 * Starts an emulator and a project whose model is `people` with `rows` people.
 * @param options.sync overrides of the sync (mode, delete_behavior, …); mappings default to names
 */
export async function createPeopleProject(
  options: {
    rows?: number;
    sync?: Record<string, unknown>;
    destination?: Record<string, unknown>;
    emulator?: StartEmulatorOptions;
  } = {},
): Promise<PeopleProject> {
  const project = await createChinookProject({
    sql: PEOPLE_MODEL,
    sync: { mappings: NAME_MAPPINGS, ...options.sync },
    destination: options.destination,
    emulator: options.emulator,
  });
  project.db.exec('CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT)');
  const insert = project.db.prepare('INSERT INTO people (id, email, first_name, last_name) VALUES (?, ?, ?, ?)');
  const addPeople = (from: number, to: number) =>
    project.db.transaction(() => {
      for (let i = from; i <= to; i++) insert.run(i, `user${i}@example.com`, `First${i}`, `Last${i}`);
    })();
  addPeople(1, options.rows ?? 10);
  return {
    ...project,
    addPeople,
    async writeCounts() {
      const body = (await (await fetch(`${project.emulator.url}/_emulator/writes`)).json()) as { by_email: Record<string, number> };
      return body.by_email;
    },
    async deleteByHand(email) {
      const participant = (await project.participants()).find((x) => x.email.toLowerCase() === email.toLowerCase());
      if (!participant) throw new Error(`deleteByHand: no participant has ${email}`);
      const res = await fetch(`${project.emulator.apiUrl}/participants/${participant.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, accept: ACCEPT },
      });
      if (res.status !== 204) throw new Error(`deleteByHand: ${res.status} ${await res.text()}`);
    },
    outcomes(runId) {
      const state = new Database(join(project.dir, 'state', 'state.db'), { readonly: true, fileMustExist: true });
      try {
        return state.prepare('SELECT pk, class, result, error FROM row_outcomes WHERE run_id = ? ORDER BY rowid').all(runId) as Array<{
          pk: string | null; class: string; result: string; error: string | null;
        }>;
      } finally {
        state.close();
      }
    },
    snapshot() {
      const state = new Database(join(project.dir, 'state', 'state.db'), { readonly: true, fileMustExist: true });
      try {
        // As stored (migration 15): the email only when it differs from its key, the payload as layout and values.
        const rows = state
          .prepare(
            `SELECT pk, coalesce(email, email_key) AS email, participant_id, l.parts, payload_values
             FROM snapshot JOIN payload_layouts AS l ON l.id = payload_layout WHERE sync = ?`,
          )
          .all(SYNC) as Array<{ pk: string; email: string; participant_id: string | null; parts: string; payload_values: string }>;
        return new Map(
          rows.map((r) => [r.pk, { email: r.email, participantId: r.participant_id, payload: decodePayload(JSON.parse(r.parts) as string[], r.payload_values) }]),
        );
      } finally {
        state.close();
      }
    },
  };
}

/**
 * The arithmetic of a run that stopped before acting on every planned row (`failed`,
 * `interrupted`): the row counts add up, and no class has more outcomes than planned rows.
 * Finished runs use `expectAddsUp`.
 */
export function expectStoppedRunAddsUp(s: RunSummary): void {
  expect(s.rows.queried).toBe(s.rows.added + s.rows.changed + s.rows.unchanged + s.rows.invalid);
  for (const c of ['added', 'changed', 'removed'] as const) {
    expect(s.succeeded[c] + s.rejected[c] + s.skipped[c]).toBeLessThanOrEqual(s.rows[c]);
  }
}

/** The repository root, where `bin/panelsync.js` lives. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs the real CLI (`node bin/panelsync.js ARGS`) with the test API key in `UI_API_KEY`.
 * @param as the user (`uid`, `gid`) to run it as; this process's own unless given
 * @returns exit code and output; a non-zero exit is returned, not thrown
 */
export async function runCli(args: string[], as: { uid?: number; gid?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO, 'bin', 'panelsync.js'), ...args], {
      cwd: REPO,
      env: { ...process.env, UI_API_KEY: TEST_API_KEY },
      ...as,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * For a test file whose tests each use one people project: returns `start(options)`, which
 * creates it, and closes it after each test.
 */
export function peopleProjectPerTest(): (options?: Parameters<typeof createPeopleProject>[0]) => Promise<PeopleProject> {
  let project: PeopleProject | undefined;
  afterEach(async () => {
    await project?.close();
    project = undefined;
  });
  return async (options) => (project = await createPeopleProject(options));
}
