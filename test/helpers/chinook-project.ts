/**
 * A throwaway Chinook project for integration tests: a writable copy of the Chinook SQLite file,
 * a project file pointing at a running emulator, and helpers to change the model's data.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadProject, type Project } from '../../src/config/load-project.ts';
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../../src/emulator/start-emulator.ts';

export const CHINOOK_SQLITE = fileURLToPath(new URL('../../examples/chinook/data/chinook.sqlite', import.meta.url));
export const TEST_API_KEY = 'test-key-5f1c9a';

/** The characteristics the standard test mappings write. */
export const TEST_CHARACTERISTICS: NonNullable<StartEmulatorOptions['characteristics']> = [
  { slug: 'lifetime_value', type: 'number' },
  { slug: 'last_purchase', type: 'date' },
  { slug: 'source', type: 'text' },
  { slug: 'location', type: 'text' },
];

export const CHINOOK_SQLITE_MODEL = `
  SELECT c.CustomerId, c.FirstName, c.LastName, c.Company, c.City, c.State, c.Country, c.Phone, c.Email,
         printf('%.2f', coalesce(sum(i.Total), 0)) AS lifetime_value, max(i.InvoiceDate) AS last_purchase
  FROM Customer c LEFT JOIN Invoice i ON i.CustomerId = c.CustomerId
  GROUP BY c.CustomerId ORDER BY c.CustomerId`;

export const STANDARD_MAPPINGS = [
  { from: 'FirstName', to: 'first_name' },
  { from: 'LastName', to: 'last_name' },
  { from: 'Phone', to: 'phone_number' },
  { from: 'Company', to: 'company' },
  { from: 'City', to: 'city' },
  { from: 'State', to: 'state' },
  { from: 'Country', to: 'country' },
  { from: 'lifetime_value', to: 'characteristics.lifetime_value' },
  { from: 'last_purchase', to: 'characteristics.last_purchase' },
  { static: 'chinook', to: 'characteristics.source' },
  { template: '{{ row.City }}, {{ row.Country }}', to: 'characteristics.location' },
];

/**
 * A generated model of `rows` people (SQLite recursive CTE): CustomerId 1..rows, Email
 * `user{i}@example.com`, FirstName `First{i}`, LastName `Last{i}`. Use with {@link NAME_MAPPINGS}.
 */
export function generatedModel(rows: number): string {
  return `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
    SELECT i AS CustomerId, 'user' || i || '@example.com' AS Email, 'First' || i AS FirstName, 'Last' || i AS LastName FROM n`;
}
export const NAME_MAPPINGS = [
  { from: 'FirstName', to: 'first_name' },
  { from: 'LastName', to: 'last_name' },
];

export interface ChinookProject {
  dir: string;
  /** The project's writable copy of the Chinook database (only for sqlite-sourced projects). */
  db: Database.Database;
  emulator: RunningEmulator;
  load(): Promise<Project>;
  /** Rewrites panelsync.yml with changes to the sync `customers-to-panel`. */
  writeSync(changes: Record<string, unknown>): void;
  /** GET /_emulator/state. */
  participants(): Promise<EmulatorParticipant[]>;
  /** GET /_emulator/stats `by_route`. */
  stats(): Promise<Record<string, number>>;
  /** PATCH /_emulator/knobs. */
  knobs(patch: Record<string, unknown>): Promise<void>;
  /** Writes participants straight into the emulator (as if loaded by hand), through its API. */
  seed(participants: Array<Record<string, unknown>>): Promise<void>;
  /** Rewrites the model's SQL (and its primary key column, when given). */
  writeModel(sql: string, primaryKey?: string): void;
  close(): Promise<void>;
}

export interface EmulatorParticipant {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  phone_number: string | null;
  company: string | null;
  city: string | null;
  state: string | null;
  country: string | null;
  characteristics: Record<string, unknown>;
}

/**
 * Starts an emulator and writes a project whose model is the Chinook customers.
 * @param options.source overrides the source (e.g. postgres); default a copy of the SQLite file
 */
export async function createChinookProject(options: {
  emulator?: StartEmulatorOptions;
  source?: Record<string, unknown>;
  sql?: string;
  sync?: Record<string, unknown>;
  destination?: Record<string, unknown>;
} = {}): Promise<ChinookProject> {
  const dir = mkdtempSync(join(tmpdir(), 'panelsync-test-'));
  copyFileSync(CHINOOK_SQLITE, join(dir, 'chinook.sqlite'));
  const db = new Database(join(dir, 'chinook.sqlite'));
  const emulator = await startEmulator({
    apiKeys: [TEST_API_KEY],
    characteristics: TEST_CHARACTERISTICS,
    ...options.emulator,
  });
  let syncChanges: Record<string, unknown> = options.sync ?? {};
  let modelSql = options.sql ?? CHINOOK_SQLITE_MODEL;
  let primaryKeyColumn = 'CustomerId';
  const write = () => {
    const project = {
      version: 1,
      state: 'state/state.db',
      sources: { chinook: options.source ?? { type: 'sqlite', path: 'chinook.sqlite' } },
      destinations: {
        panel: {
          type: 'user-interviews',
          api_key: '${UI_API_KEY}',
          environment: 'sandbox',
          base_url: emulator.apiUrl,
          // The emulator answers or drops at once: no write lands late unless a test holds it (slow_ms, latency).
          late_write_ms: 0,
          ...options.destination,
        },
      },
      models: { customers: { source: 'chinook', primary_key: primaryKeyColumn, sql: modelSql } },
      syncs: {
        'customers-to-panel': {
          model: 'customers',
          destination: 'panel',
          mode: 'upsert',
          match: 'Email',
          mappings: STANDARD_MAPPINGS,
          delete_behavior: 'do_nothing',
          split_retries: true,
          ...syncChanges,
        },
      },
    };
    writeFileSync(join(dir, 'panelsync.yml'), stringify(project));
  };
  write();
  const getJson = async (path: string) => (await fetch(`${emulator.url}${path}`)).json();
  return {
    dir,
    db,
    emulator,
    load: () => loadProject({ projectDir: dir, env: { UI_API_KEY: TEST_API_KEY } }),
    writeSync(changes) {
      syncChanges = { ...syncChanges, ...changes };
      write();
    },
    writeModel(sql, primaryKey) {
      modelSql = sql;
      if (primaryKey !== undefined) primaryKeyColumn = primaryKey;
      write();
    },
    async knobs(patch) {
      const res = await fetch(`${emulator.url}/_emulator/knobs`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(patch),
      });
      if (!res.ok) throw new Error(`knobs: ${res.status} ${await res.text()}`);
    },
    async seed(participants) {
      for (let i = 0; i < participants.length; i += 100) {
        const res = await fetch(`${emulator.apiUrl}/participants/batches`, {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${TEST_API_KEY}`,
            accept: 'application/vnd.user-interviews.v2',
            'content-type': 'application/vnd.user-interviews.v2+json',
          },
          body: JSON.stringify({ participants: participants.slice(i, i + 100) }),
        });
        if (!res.ok) throw new Error(`seed: ${res.status} ${await res.text()}`);
      }
    },
    participants: async () => ((await getJson('/_emulator/state')) as { participants: EmulatorParticipant[] }).participants,
    stats: async () => ((await getJson('/_emulator/stats')) as { by_route: Record<string, number> }).by_route,
    async close() {
      db.close();
      await emulator.close();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }); // the lock's heartbeat thread may still be closing its connection
    },
  };
}
