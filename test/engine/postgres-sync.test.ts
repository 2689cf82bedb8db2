/**
 * Syncs whose model runs on a real PostgreSQL database (127.0.0.1:5432, a database per file):
 * the change / email change / delete flow, and the user-reported bugs of this class of tool
 * (0, false, "" and NULL are four values; an apostrophe arrives unchanged; a null match key is
 * never written).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { createPostgresDatabase, type TestDatabase } from '../helpers/databases.ts';
import { expectAddsUp, runProject as run, sentInBatches, writeCalls } from '../helpers/run-helpers.ts';

let db: TestDatabase;
let client: pg.Client;
let project: ChinookProject | undefined;

beforeAll(async () => {
  db = await createPostgresDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});
afterEach(async () => {
  await project?.close();
  project = undefined;
});

/** Every request body the run sent, as text. */
function bodies(calls: Array<{ request_body: string | null }>): string {
  return calls.map((c) => c.request_body ?? '').join('\n');
}

describe('a sync on PostgreSQL', () => {
  it('sends changes, follows an email change, deletes a removed row, and never writes a null email', async () => {
    await client.query(`CREATE TABLE people (id int PRIMARY KEY, email text, first_name text, last_name text)`);
    const insert = 'INSERT INTO people (id, email, first_name, last_name) VALUES ($1, $2, $3, $4)';
    await client.query(insert, [1, 'ann@example.com', 'Ann', "O'Brien"]);
    await client.query(insert, [2, 'bob@example.com', 'Bob', 'Kohler']);
    await client.query(insert, [3, 'cy@example.com', 'Cy', 'Young']);
    await client.query(insert, [4, null, 'Nobody', 'Nomail']);
    project = await createChinookProject({
      source: { type: 'postgres', url: db.url },
      sql: `SELECT id AS "CustomerId", email AS "Email", first_name AS "FirstName", last_name AS "LastName" FROM people ORDER BY id`,
      sync: {
        delete_behavior: 'delete',
        mappings: [
          { from: 'FirstName', to: 'first_name' },
          { from: 'LastName', to: 'last_name' },
        ],
      },
    });

    const first = await run(project);
    expect(first.summary).toMatchObject({
      status: 'warning',
      rows: { queried: 4, added: 3, invalid: 1 },
      succeeded: { added: 3 },
    });
    expectAddsUp(first.summary);
    expect(first.invalid).toEqual([{ pk: '4', reason: 'email is null' }]);
    expect(sentInBatches(first.calls)).toContainEqual({ email: 'ann@example.com', first_name: 'Ann', last_name: "O'Brien" });
    const before = new Map((await project.participants()).map((x) => [x.email, x]));
    expect(before.get('ann@example.com')!.last_name).toBe("O'Brien");

    await client.query(`UPDATE people SET last_name = 'Köhler' WHERE id = 2`);
    await client.query(`UPDATE people SET email = 'cy.young@example.org', last_name = 'D''Angelo' WHERE id = 3`);
    await client.query(`DELETE FROM people WHERE id = 1`);
    const second = await run(project);
    // The only problem is the row without an email, invalid for the same reason last run: no new problem.
    expect(second.summary).toMatchObject({
      status: 'success',
      known_invalid: 1,
      rows: { queried: 3, added: 0, changed: 2, removed: 1, unchanged: 0, invalid: 1 },
      succeeded: { changed: 2, removed: 1 },
    });
    expectAddsUp(second.summary);
    const after = await project.participants();
    expect(after.map((x) => x.email).sort()).toEqual(['bob@example.com', 'cy.young@example.org']);
    expect(after.find((x) => x.email === 'bob@example.com')!.last_name).toBe('Köhler');
    // The same participant, now under its new email, with an apostrophe unchanged.
    expect(after.find((x) => x.id === before.get('cy@example.com')!.id)).toMatchObject({ email: 'cy.young@example.org', last_name: "D'Angelo" });
    expect(writeCalls(second.calls).filter((c) => c.method === 'DELETE').map((c) => new URL(c.url).pathname)).toEqual([
      `/api/participants/${before.get('ann@example.com')!.id}`,
    ]);
    // The row without an email never reached the API.
    expect(bodies([...first.calls, ...second.calls])).not.toContain('Nobody');
  });

  it('keeps 0, false, "" and NULL apart: they arrive distinct, and a change from 0 to NULL is a change', async () => {
    await client.query(`CREATE TABLE kinds (id int PRIMARY KEY, email text, n int, b boolean, t text)`);
    await client.query(`INSERT INTO kinds VALUES (1, 'zero@example.com', 0, false, ''), (2, 'null@example.com', NULL, NULL, NULL)`);
    project = await createChinookProject({
      source: { type: 'postgres', url: db.url },
      sql: `SELECT id AS "CustomerId", email AS "Email", n, b, t FROM kinds ORDER BY id`,
      emulator: {
        characteristics: [
          { slug: 'score', type: 'number' },
          { slug: 'active', type: 'boolean' },
          { slug: 'note', type: 'text' },
          { slug: 'score_text', type: 'text' },
          { slug: 'active_text', type: 'text' },
        ],
      },
      sync: {
        mappings: [
          { from: 't', to: 'first_name' },
          { from: 'n', to: 'characteristics.score' },
          { from: 'b', to: 'characteristics.active' },
          { from: 't', to: 'characteristics.note' },
          { from: 'n', to: 'characteristics.score_text' },
          { from: 'b', to: 'characteristics.active_text' },
        ],
      },
    });

    const first = await run(project);
    expect(first.summary).toMatchObject({ status: 'success', succeeded: { added: 2 } });
    expectAddsUp(first.summary);
    const zeroSent = { score: 0, active: false, note: '', score_text: '0', active_text: 'false' };
    const nullSent = { score: null, active: null, note: null, score_text: null, active_text: null };
    expect(sentInBatches(first.calls)).toEqual([
      { email: 'zero@example.com', first_name: '', characteristics: zeroSent },
      { email: 'null@example.com', first_name: null, characteristics: nullSent },
    ]);
    const byEmail = async () => new Map((await project!.participants()).map((x) => [x.email, x]));
    let panel = await byEmail();
    expect(panel.get('zero@example.com')).toMatchObject({ first_name: '', characteristics: zeroSent });
    expect(panel.get('null@example.com')).toMatchObject({ first_name: null, characteristics: {} });

    // Nothing flips between runs: each of the four values compares equal only to itself.
    const second = await run(project);
    expect(second.summary.rows).toMatchObject({ unchanged: 2, changed: 0 });
    expectAddsUp(second.summary);
    expect(writeCalls(second.calls)).toEqual([]);

    // 0 -> NULL, false -> NULL, "" -> NULL is a change, and so is the way back.
    await client.query(`UPDATE kinds SET n = NULL, b = NULL, t = NULL WHERE id = 1`);
    await client.query(`UPDATE kinds SET n = 0, b = false, t = '' WHERE id = 2`);
    const third = await run(project);
    expect(third.summary).toMatchObject({ status: 'success', rows: { changed: 2 }, succeeded: { changed: 2 } });
    expectAddsUp(third.summary);
    // Synced keys write their own participant, by its id.
    const ids = new Map([...panel].map(([email, x]) => [email, x.id]));
    expect(sentInBatches(third.calls)).toEqual([
      { id: ids.get('zero@example.com'), email: 'zero@example.com', first_name: null, characteristics: nullSent },
      { id: ids.get('null@example.com'), email: 'null@example.com', first_name: '', characteristics: zeroSent },
    ]);
    panel = await byEmail();
    expect(panel.get('zero@example.com')).toMatchObject({ first_name: null, characteristics: {} });
    expect(panel.get('null@example.com')).toMatchObject({ first_name: '', characteristics: zeroSent });

    // One at a time: only 0 -> NULL in a number characteristic is still a change.
    await client.query(`UPDATE kinds SET n = NULL WHERE id = 2`);
    const fourth = await run(project);
    expect(fourth.summary.rows).toMatchObject({ changed: 1, unchanged: 1 });
    expectAddsUp(fourth.summary);
    expect((await byEmail()).get('null@example.com')!.characteristics).toEqual({ active: false, note: '', active_text: 'false' });
  });
});
