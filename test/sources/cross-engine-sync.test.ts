/**
 * Issue 2: the same Chinook sync from the SQLite file, from PostgreSQL and from MariaDB leaves the
 * emulator in the same state. Each engine gets its own emulator and project; the three panels are
 * compared field by field (ids and timestamps aside, which the emulator assigns).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHINOOK_CUSTOMERS_MYSQL, CHINOOK_CUSTOMERS_POSTGRES, CHINOOK_CUSTOMERS_SQLITE } from '../helpers/chinook-models.ts';
import { createChinookProject, STANDARD_MAPPINGS, type ChinookProject, type EmulatorParticipant } from '../helpers/chinook-project.ts';
import { createMysqlDatabase, createPostgresDatabase, loadChinookMysql, loadChinookPostgres, type TestDatabase } from '../helpers/databases.ts';
import { expectAddsUp, runProject } from '../helpers/run-helpers.ts';

/** The standard mappings, with the cross-engine model's timestamp column for the date characteristic. */
const MAPPINGS = STANDARD_MAPPINGS.map((m) =>
  'from' in m && m.from === 'last_purchase' ? { from: 'last_invoice_at', to: m.to } : m,
);

type Engine = 'sqlite' | 'postgres' | 'mysql';

/** A participant without what the emulator assigns, keyed for comparison. */
function panel(participants: EmulatorParticipant[]): Array<Omit<EmulatorParticipant, 'id'>> {
  return participants
    .map(({ id: _id, created_at: _c, updated_at: _u, ...rest }: EmulatorParticipant & { created_at?: string; updated_at?: string }) => rest)
    .sort((a, b) => a.email.localeCompare(b.email));
}

describe('the Chinook sync from SQLite, PostgreSQL and MariaDB', () => {
  let postgresDb: TestDatabase;
  let mysqlDb: TestDatabase;
  const projects: Partial<Record<Engine, ChinookProject>> = {};
  const panels: Partial<Record<Engine, Array<Omit<EmulatorParticipant, 'id'>>>> = {};

  beforeAll(async () => {
    [postgresDb, mysqlDb] = await Promise.all([createPostgresDatabase(), createMysqlDatabase()]);
    await Promise.all([loadChinookPostgres(postgresDb.url), loadChinookMysql(mysqlDb.url)]);
    const setups: Record<Engine, { source?: Record<string, unknown>; sql: string }> = {
      sqlite: { sql: CHINOOK_CUSTOMERS_SQLITE },
      postgres: { source: { type: 'postgres', url: postgresDb.url }, sql: CHINOOK_CUSTOMERS_POSTGRES },
      mysql: { source: { type: 'mysql', url: mysqlDb.url }, sql: CHINOOK_CUSTOMERS_MYSQL },
    };
    for (const [engine, setup] of Object.entries(setups) as Array<[Engine, (typeof setups)[Engine]]>) {
      const project = await createChinookProject({ ...setup, sync: { mappings: MAPPINGS } });
      projects[engine] = project;
      const first = await runProject(project);
      expect(first.summary.status, `${engine}: ${first.summary.error ?? ''}`).toBe('success');
      expect(first.summary.succeeded.added).toBe(59);
      expectAddsUp(first.summary);
      const second = await runProject(project);
      expect(second.summary.rows.unchanged).toBe(59);
      expect(second.calls.filter((c) => c.method !== 'GET')).toEqual([]);
      panels[engine] = panel(await project.participants());
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(projects).map((p) => p.close()));
    await Promise.all([postgresDb?.drop(), mysqlDb?.drop()]);
  });

  it('creates the same 59 participants with the same fields and characteristics', () => {
    expect(panels.sqlite).toHaveLength(59);
    expect(panels.postgres).toEqual(panels.sqlite);
    expect(panels.mysql).toEqual(panels.sqlite);
    const leonie = panels.sqlite!.find((p) => p.email === 'leonekohler@surfeu.de');
    expect(leonie).toMatchObject({
      first_name: 'Leonie',
      last_name: 'Köhler',
      city: 'Stuttgart',
      country: 'Germany',
      characteristics: { lifetime_value: 37.62, last_purchase: '2024-07-13', source: 'chinook', location: 'Stuttgart, Germany' },
    });
  });
});
