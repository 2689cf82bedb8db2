/**
 * Concurrent first starts and upgrades: several processes opening one state database at the same
 * moment (a fresh file, or one at schema version 3) all succeed, and every migration is applied
 * exactly once. Each process is a real `node` child, released at once through its stdin.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/state/migrations.ts';

const CHILD = fileURLToPath(new URL('./open-state-store.ts', import.meta.url));
const PROCESSES = 4;
/** Each case is repeated: a single round of a race may happen to pass. */
const ROUNDS = 3;

/** Starts `count` children on `path`, releases them together once all are loaded, and collects how each ended. */
async function openAtOnce(path: string, count: number): Promise<Array<{ code: number | null; output: string }>> {
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['--import', 'tsx', CHILD, path], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const ended = children.map(
    (child) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.on('close', (code) => resolve({ code, output }));
      }),
  );
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          let seen = '';
          const onData = (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.includes('ready')) {
              child.stdout.off('data', onData);
              resolve();
            }
          };
          child.stdout.on('data', onData);
          child.on('close', () => reject(new Error(`a child exited before it was ready: ${seen}`)));
        }),
    ),
  );
  for (const child of children) child.stdin.write('go\n');
  return Promise.all(ended);
}

function appliedVersions(path: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
  } finally {
    db.close();
  }
}

/** A database as panelsync left it at schema version 3 (WAL mode, as every version set it). */
function writeVersion3Database(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2024-01-01T00:00:00.000Z');
    }
  } finally {
    db.close();
  }
}

describe('migrations under concurrent starts', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it(`${PROCESSES} processes starting at once on a fresh database all succeed and apply each migration once`, async () => {
    dir = mkdtempSync(join(tmpdir(), 'panelsync-migrate-'));
    for (let round = 0; round < ROUNDS; round++) {
      const path = join(dir, `state-${round}.db`);
      const results = await openAtOnce(path, PROCESSES);
      expect(results).toEqual(Array.from({ length: PROCESSES }, () => ({ code: 0, output: 'ready\nopened\n' })));
      expect(appliedVersions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    }
  }, 30_000);

  it(`${PROCESSES} processes upgrading a version-3 database at once all succeed and apply each later migration once`, async () => {
    dir = mkdtempSync(join(tmpdir(), 'panelsync-migrate-'));
    for (let round = 0; round < ROUNDS; round++) {
      const path = join(dir, `state-${round}.db`);
      writeVersion3Database(path);
      const results = await openAtOnce(path, PROCESSES);
      expect(results).toEqual(Array.from({ length: PROCESSES }, () => ({ code: 0, output: 'ready\nopened\n' })));
      expect(appliedVersions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    }
  }, 30_000);
});
