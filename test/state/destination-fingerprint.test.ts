/**
 * A sync's snapshot is tied to the destination that acknowledged it (base_url, environment,
 * destination name, SHA-256 of the API key). Pointing the sync elsewhere stops the run before any
 * call, naming what changed and the two ways forward: --full-resync (send every row to the new
 * destination; the snapshot is replaced) and --reset-cdc (the new panel already holds the rows).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/start-emulator.ts';
import { planSync } from '../../src/engine/plan-sync.ts';
import { ACCEPT } from '../../src/destinations/user-interviews/wire.ts';
import { TEST_API_KEY, TEST_CHARACTERISTICS } from '../helpers/chinook-project.ts';
import { SYNC, expectAddsUp, runProject, writeCalls } from '../helpers/run-helpers.ts';
import { createPeopleProject, person, type PeopleProject } from '../engine/people-project.ts';

const OTHER_KEY = 'other-key-8d2e41';
const ACCOUNT_B_KEY = 'account-b-key-5f07c3';

/** The project file with every occurrence of `from` replaced by `to`. */
function rewriteProject(p: PeopleProject, from: string, to: string): void {
  const file = join(p.dir, 'panelsync.yml');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replaceAll(from, to));
}

async function emulatorState(e: RunningEmulator): Promise<{ participants: Array<{ id: string; email: string; first_name: string | null }> }> {
  return (await (await fetch(`${e.url}/_emulator/state`)).json()) as { participants: Array<{ id: string; email: string; first_name: string | null }> };
}

async function emulatorCalls(e: RunningEmulator): Promise<Record<string, number>> {
  return ((await (await fetch(`${e.url}/_emulator/stats`)).json()) as { by_route: Record<string, number> }).by_route;
}

/**
 * The text (latin1) of every file in the state directory. The run lock's heartbeat thread closes its
 * connection just after a run ends, which may remove the `-wal` / `-shm` files while they are read:
 * a file gone meanwhile is skipped.
 */
function stateFileTexts(stateDir: string): string[] {
  return readdirSync(stateDir).flatMap((f) => {
    try {
      return [readFileSync(join(stateDir, f)).toString('latin1')];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  });
}

function stateDb(p: PeopleProject): Database.Database {
  return new Database(join(p.dir, 'state', 'state.db'), { readonly: true });
}

describe('the snapshot is tied to its destination', () => {
  let p: PeopleProject | undefined;
  let b: RunningEmulator | undefined;
  afterEach(async () => {
    await b?.close();
    await p?.close();
    p = b = undefined;
  });

  async function twoPanels(rows = 5): Promise<{ p: PeopleProject; b: RunningEmulator }> {
    p = await createPeopleProject({ rows });
    b = await startEmulator({ apiKeys: [TEST_API_KEY], characteristics: TEST_CHARACTERISTICS, port: 0 });
    expectAddsUp((await runProject(p)).summary);
    return { p, b };
  }

  it('stops a run pointed at another base_url before any call, naming the change and both flags', async () => {
    const { p, b } = await twoPanels();
    rewriteProject(p, p.emulator.apiUrl, b.apiUrl);
    const run = await runProject(p);
    expect(run.summary).toMatchObject({ status: 'failed', api_calls: 0 });
    expect(run.summary.error).toBe(
      `the destination of sync "${SYNC}" changed since its snapshot was recorded (base_url ${p.emulator.apiUrl} -> ${b.apiUrl}). ` +
        "The snapshot's 5 rows were acknowledged by the old destination, so nothing was sent. " +
        'Run again with --full-resync to send every row to the new destination (the snapshot is replaced), ' +
        'or with --reset-cdc if the new panel already holds these rows (they are recorded as synced; nothing is sent).',
    );
    expect(await emulatorCalls(b)).toEqual({});
    expect(p.snapshot().size).toBe(5); // the snapshot is kept for the old destination
    // The plan says so too, instead of "5 unchanged".
    const plan = await planSync({ project: await p.load(), sync: SYNC });
    expect(plan.refused).toEqual({ code: 'DESTINATION_CHANGED', message: expect.stringContaining('so the run will send nothing') });
    expect(Object.keys(await emulatorCalls(b)).filter((route) => !route.startsWith('GET '))).toEqual([]);
    // Pointed back, the sync carries on as before.
    rewriteProject(p, b.apiUrl, p.emulator.apiUrl);
    expect((await runProject(p)).summary).toMatchObject({ status: 'success', rows: { unchanged: 5 } });
  });

  it('--full-resync sends every row to the new destination and replaces the snapshot, which then belongs to it', async () => {
    const { p, b } = await twoPanels();
    rewriteProject(p, p.emulator.apiUrl, b.apiUrl);
    const full = await runProject(p, { fullResync: true });
    expect(full.summary).toMatchObject({ status: 'success', rows: { added: 5 }, succeeded: { added: 5 } });
    const inB = await emulatorState(b);
    expect(inB.participants.map((x) => x.email).sort()).toEqual([1, 2, 3, 4, 5].map((i) => person(i).email).sort());
    // The snapshot holds B's participant ids now, none of A's.
    const idsInB = new Map(inB.participants.map((x) => [x.email, x.id]));
    for (const [pk, row] of p.snapshot()) expect(row.participantId, pk).toBe(idsInB.get(row.email));

    const next = await runProject(p);
    expect(next.summary).toMatchObject({ status: 'success', rows: { unchanged: 5 } });
    expect(writeCalls(next.calls)).toEqual([]);
    // Now A is the other destination.
    rewriteProject(p, b.apiUrl, p.emulator.apiUrl);
    expect((await runProject(p)).summary).toMatchObject({ status: 'failed', api_calls: 0 });
  });

  it('--reset-cdc records the rows the new panel already holds, with its participant ids, sending nothing', async () => {
    const { p, b } = await twoPanels(3);
    // The new panel was loaded by hand, after two other people: its ids differ from A's.
    const seeded = await fetch(`${b.apiUrl}/participants/batches`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, accept: ACCEPT, 'content-type': `${ACCEPT}+json` },
      body: JSON.stringify({ participants: [{ email: 'other1@example.com' }, { email: 'other2@example.com' }, person(1), person(2), person(3)] }),
    });
    expect(seeded.status).toBe(200);
    const idsInA = new Map((await p.participants()).map((x) => [x.email, x.id]));
    rewriteProject(p, p.emulator.apiUrl, b.apiUrl);
    const reset = await runProject(p, { resetCdc: true });
    expect(reset.summary).toMatchObject({ status: 'success', succeeded: { added: 3 } });
    expect(writeCalls(reset.calls)).toEqual([]);
    const idsInB = new Map((await emulatorState(b)).participants.map((x) => [x.email, x.id]));
    for (const [pk, row] of p.snapshot()) {
      expect(row.participantId, pk).toBe(idsInB.get(row.email));
      expect(row.participantId, pk).not.toBe(idsInA.get(row.email));
    }

    // A change goes to B's participant.
    p.db.exec(`UPDATE people SET first_name = 'Renamed' WHERE id = 2`);
    expect((await runProject(p)).summary).toMatchObject({ status: 'success', rows: { changed: 1, unchanged: 2 } });
    expect((await emulatorState(b)).participants.find((x) => x.id === idsInB.get(person(2).email))?.first_name).toBe('Renamed');
  });

  it('counts another environment or destination name as another destination, takes a rotated API key, and never stores the key', async () => {
    p = await createPeopleProject({ rows: 2, emulator: { apiKeys: [TEST_API_KEY, OTHER_KEY] } });
    await runProject(p);
    const db = stateDb(p);
    try {
      expect(db.prepare('SELECT destination, environment, base_url, api_key_sha256 FROM snapshot_destinations WHERE sync = ?').get(SYNC)).toEqual({
        destination: 'panel',
        environment: 'sandbox',
        base_url: p.emulator.apiUrl,
        api_key_sha256: createHash('sha256').update(TEST_API_KEY).digest('hex'),
      });
    } finally {
      db.close();
    }
    const stateDir = join(p.dir, 'state');
    for (const text of stateFileTexts(stateDir)) expect(text).not.toContain(TEST_API_KEY);

    const file = join(p.dir, 'panelsync.yml');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace("api_key: ${UI_API_KEY}", `api_key: ${OTHER_KEY}`));
    // A rotated key for the same account is routine: one directory read finds the snapshot's
    // participants, the run goes on, and the fingerprint takes the new key.
    const key = await runProject(p);
    expect(key.summary).toMatchObject({ status: 'success', rows: { unchanged: 2 } });
    expect(key.calls.filter((c) => c.tag === 'account-check').map((c) => `${c.method} ${c.status}`)).toEqual(['GET 200']);
    for (const text of stateFileTexts(stateDir)) expect(text).not.toContain(OTHER_KEY);
    // Once the fingerprint holds the new key, the next run reads no directory for it.
    expect((await runProject(p)).calls.filter((c) => c.tag === 'account-check')).toEqual([]);
    const rotated = stateDb(p);
    try {
      expect(rotated.prepare('SELECT api_key_sha256 FROM snapshot_destinations WHERE sync = ?').pluck().get(SYNC)).toBe(
        createHash('sha256').update(OTHER_KEY).digest('hex'),
      );
    } finally {
      rotated.close();
    }

    writeFileSync(file, original.replace('environment: sandbox', 'environment: production'));
    expect((await runProject(p)).summary.error).toContain('(environment sandbox -> production)');

    writeFileSync(file, original.replace('\n  panel:\n', '\n  panel-b:\n').replace('destination: panel\n', 'destination: panel-b\n'));
    expect((await runProject(p)).summary.error).toContain('(destination "panel" -> "panel-b")');

    writeFileSync(file, original);
    expect((await runProject(p)).summary).toMatchObject({ status: 'success', rows: { unchanged: 2 } });
  });

  it('ties the snapshot only once rows are committed: a run that got nothing acknowledged leaves the sync free to move', async () => {
    p = await createPeopleProject({ rows: 2 });
    b = await startEmulator({ apiKeys: [TEST_API_KEY], characteristics: TEST_CHARACTERISTICS, port: 0 });
    // A mistyped base_url (no /api): every write is refused, nothing is acknowledged.
    rewriteProject(p, p.emulator.apiUrl, p.emulator.url);
    const wrong = await runProject(p);
    expect(wrong.summary.succeeded.added).toBe(0);
    const db = stateDb(p);
    try {
      expect(db.prepare('SELECT count(*) FROM snapshot_destinations').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
    rewriteProject(p, p.emulator.url, b.apiUrl);
    expect((await runProject(p)).summary).toMatchObject({ status: 'success', rows: { added: 2 } });
    expect((await emulatorState(b)).participants).toHaveLength(2);
  });

  it('a snapshot recorded before fingerprints takes the destination of its next run', async () => {
    const { p, b } = await twoPanels(2);
    const writable = new Database(join(p.dir, 'state', 'state.db'));
    try {
      writable.exec('DELETE FROM snapshot_destinations'); // as a database from before this version
    } finally {
      writable.close();
    }
    const adopted = await runProject(p);
    expect(adopted.summary).toMatchObject({ status: 'success', rows: { unchanged: 2 } });
    const db = stateDb(p);
    try {
      expect(db.prepare('SELECT base_url, run_id FROM snapshot_destinations').get()).toEqual({ base_url: p.emulator.apiUrl, run_id: adopted.summary.run_id });
    } finally {
      db.close();
    }
    rewriteProject(p, p.emulator.apiUrl, b.apiUrl);
    expect((await runProject(p)).summary).toMatchObject({ status: 'failed', api_calls: 0 });
  });

  it('a key of another account at the same base_url (every account shares the production URL) is refused after one directory read', async () => {
    p = await createPeopleProject({ rows: 5 });
    await p.seed([{ email: 'a-other1@example.com' }, { email: 'a-other2@example.com' }, { email: 'a-other3@example.com' }]);
    expectAddsUp((await runProject(p)).summary); // the snapshot holds A's ids 4..8
    const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
    // Account B answers at the very same URL, with its own key. It holds user1 (by email, not by id)
    // and someone else: ids 1 and 2, none of the snapshot's.
    const port = Number(new URL(p.emulator.url).port);
    await p.emulator.close();
    b = await startEmulator({ apiKeys: [ACCOUNT_B_KEY], characteristics: TEST_CHARACTERISTICS, port });
    // A keep-alive socket of fetch's pool may still point at A's closed server: once more, on a new one.
    const seed = () =>
      fetch(`${b!.apiUrl}/participants/batches`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${ACCOUNT_B_KEY}`, accept: ACCEPT, 'content-type': `${ACCEPT}+json` },
        body: JSON.stringify({ participants: [person(1), { email: 'b-other@example.com' }] }),
      });
    const seeded = await seed().catch(seed);
    expect(seeded.status).toBe(200);
    rewriteProject(p, '${UI_API_KEY}', ACCOUNT_B_KEY);

    const run = await runProject(p);
    expect(run.summary.status).toBe('failed');
    expect(run.summary.error).toBe(
      `the API key of sync "${SYNC}"'s destination changed since its snapshot was recorded, and the panel the new key opens ` +
        "holds none of 5 of the snapshot's participants (looked up by id): the new key belongs to another User Interviews account, " +
        "or those participants were deleted. The snapshot's 5 rows were acknowledged by the old destination, so nothing was sent. " +
        'Run again with --full-resync to send every row to the new destination (the snapshot is replaced), ' +
        'or with --reset-cdc if the new panel already holds these rows (they are recorded as synced; nothing is sent).',
    );
    expect(run.calls.map((c) => `${c.method} ${c.tag}`)).toEqual(['GET account-check']);
    expect(await emulatorCalls(b)).toEqual({ 'PATCH /api/participants/batches': 1 /* the seed */, 'GET /api/participants': 1 });
    expect((await emulatorState(b)).participants).toHaveLength(2);
    expect(p.snapshot().size).toBe(5);
    const kept = stateDb(p);
    try {
      expect(kept.prepare('SELECT api_key_sha256 FROM snapshot_destinations').pluck().get()).toBe(sha256(TEST_API_KEY));
    } finally {
      kept.close();
    }
    // The plan says the same, reading only.
    const plan = await planSync({ project: await p.load(), sync: SYNC });
    expect(plan.refused).toEqual({ code: 'DESTINATION_CHANGED', message: expect.stringContaining('another User Interviews account') });
    expect(plan.refused?.message).toContain('so the run will send nothing');
    expect(await emulatorCalls(b)).toMatchObject({ 'PATCH /api/participants/batches': 1, 'GET /api/participants': 2 });
    expect((await emulatorState(b)).participants).toHaveLength(2);

    // --full-resync sends every row to account B, whose key the snapshot then belongs to.
    const full = await runProject(p, { fullResync: true });
    expect(full.summary).toMatchObject({ status: 'success', succeeded: { added: 5 } });
    expect((await emulatorState(b)).participants.map((x) => x.email).sort()).toEqual(
      ['b-other@example.com', ...[1, 2, 3, 4, 5].map((i) => person(i).email)].sort(),
    );
    const rebound = stateDb(p);
    try {
      expect(rebound.prepare('SELECT api_key_sha256 FROM snapshot_destinations').pluck().get()).toBe(sha256(ACCOUNT_B_KEY));
    } finally {
      rebound.close();
    }
    expect((await runProject(p)).summary).toMatchObject({ status: 'success', rows: { unchanged: 5 } });
  });

  it('a snapshot emptied on one destination and refilled on another belongs to the second', async () => {
    const { p, b } = await twoPanels(3);
    p.db.exec('DELETE FROM people');
    expect((await runProject(p, { allowMassDelete: true })).summary.status).toBe('success');
    expect(p.snapshot().size).toBe(0);
    p.addPeople(1, 3);
    rewriteProject(p, p.emulator.apiUrl, b.apiUrl);
    expect((await runProject(p)).summary).toMatchObject({ status: 'success', succeeded: { added: 3 } });
    const db = stateDb(p);
    try {
      expect(db.prepare('SELECT base_url FROM snapshot_destinations').pluck().all()).toEqual([b.apiUrl]);
    } finally {
      db.close();
    }
    // A change goes to B; pointing back at A (whose panel never saw it) is refused.
    p.db.exec(`UPDATE people SET first_name = 'Renamed' WHERE id = 1`);
    expect((await runProject(p)).summary).toMatchObject({ status: 'success', rows: { changed: 1, unchanged: 2 } });
    rewriteProject(p, b.apiUrl, p.emulator.apiUrl);
    const back = await runProject(p);
    expect(back.summary).toMatchObject({ status: 'failed', api_calls: 0 });
    expect(back.summary.error).toContain(`(base_url ${b.apiUrl} -> ${p.emulator.apiUrl})`);
    expect((await p.participants()).find((x) => x.email === person(1).email)?.first_name).toBe('First1');
  });
});
