/** An emulator answering with a contract, seeded with participants, and a project whose destination is it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EmulatorContract } from '../../src/emulator/variants.ts';
import { startEmulatorFixture, type EmulatorFixture } from '../emulator/emulator-fixture.ts';

/** Participants listed before a check: more than a page of 200, so every paging item can be judged. */
export const SEEDED = 210;

export interface CheckFixture {
  emulator: EmulatorFixture;
  /** The project directory (destination `panel`, key `${UI_API_KEY}`). */
  dir: string;
  env: Record<string, string>;
  /** Participants whose email carries the test marker. */
  markedParticipants(): Promise<Array<{ id: string; email: string }>>;
  close(): Promise<void>;
}

/** Starts the emulator (four characteristics, one of each type), seeds {@link SEEDED} participants, writes the project. */
export async function startCheckFixture(contract: Partial<EmulatorContract> = {}, environment: 'sandbox' | 'production' = 'sandbox'): Promise<CheckFixture> {
  const emulator = await startEmulatorFixture({
    environment,
    contract,
    characteristics: [
      { slug: 'plan', type: 'text' },
      { slug: 'lifetime_value', type: 'number' },
      { slug: 'signed_up', type: 'date' },
      { slug: 'vip', type: 'boolean' },
    ],
  });
  for (let start = 0; start < SEEDED; start += 30) {
    const participants = Array.from({ length: Math.min(30, SEEDED - start) }, (_, i) => ({ email: `seed${start + i}@example.com` }));
    const res = await emulator.api('PATCH', '/participants/batches', { participants });
    if (res.status !== 200) throw new Error(`seeding: ${res.status} ${await res.text()}`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'panelsync-check-'));
  writeFileSync(
    path.join(dir, 'panelsync.yml'),
    [
      'version: 1',
      'sources:',
      '  db: { type: duckdb, path: ":memory:" }',
      'destinations:',
      '  panel:',
      '    type: user-interviews',
      '    api_key: "${UI_API_KEY}"',
      `    environment: ${environment}`,
      `    base_url: ${emulator.emulator.apiUrl}`,
      'models:',
      '  people: { source: db, primary_key: id, sql: "SELECT 1 AS id, \'a@example.com\' AS email" }',
      'syncs:',
      '  people-to-panel: { model: people, destination: panel, mode: upsert, match: email }',
      '',
    ].join('\n'),
  );
  return {
    emulator,
    dir,
    env: { UI_API_KEY: 'demo-key' },
    markedParticipants: async () => {
      const state = (await emulator.control('GET', '/state')) as { participants: Array<{ id: string; email: string }> };
      return state.participants.filter((p) => p.email.includes('panelsync-check-')).map(({ id, email }) => ({ id, email }));
    },
    close: async () => {
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
