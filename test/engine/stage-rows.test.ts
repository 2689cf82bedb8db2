/**
 * A stage worker maps model rows as the calling thread does: generated rows of every kind of
 * value a source gives (text with quotes, controls and lone surrogates, integers, finite doubles,
 * -0, booleans, null, JSON objects and arrays), generated mappings (fields, characteristics of
 * every type, a template), emails to normalize and repeated keys, planned once with every row
 * mapped here and once with the worker mapping every slice after the first (handed only the
 * columns the mapper reads, packed). Compared: the counts, every planned row and every
 * invalid row with its reason.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { CharacteristicType } from '../../src/destinations/user-interviews/wire.ts';
import { RowMapper } from '../../src/engine/row-mapper.ts';
import { stageMapping } from '../../src/engine/stage-rows.ts';
import type { JsonValue, Row } from '../../src/sources/source.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';

const TYPES = new Map<string, CharacteristicType>([
  ['t', 'text'],
  ['n', 'number'],
  ['d', 'date'],
  ['b', 'boolean'],
]);
const TARGETS = ['first_name', 'last_name', 'characteristics.t', 'characteristics.n', 'characteristics.d', 'characteristics.b'];

const value: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom('a', 'É', '"', '\\', '\u0000', '\u2028', '\ud800', '😀', ' ') }),
  fc.constantFrom('12.50', '2026-01-02', '2026-01-02T03:04:05.000Z', 'true', '0', '1e400', '9007199254740993'),
  fc.integer(),
  fc.double({ noDefaultInfinity: true, noNaN: true }),
  fc.constantFrom(-0, true, false, null),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>,
);

const row = fc.record({
  id: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(null, ' ', 'k1', -0)),
  email: fc.oneof(fc.constantFrom('a@x.io', ' B@X.IO ', 'c@x.io', 'not an email', 'ü@bücher.de'), value),
  c0: value,
  c1: value,
  c2: value,
});

const mappings = fc.uniqueArray(
  fc.record({ column: fc.constantFrom('c0', 'c1', 'c2'), to: fc.constantFrom(...TARGETS), template: fc.boolean() }),
  { selector: (m) => m.to, minLength: 1, maxLength: 4 },
).map((list) => list.map((m) => (m.template ? { template: `{{ row.${m.column} }}/{{ row.c1 | upcase }}`, to: m.to } : { from: m.column, to: m.to })));

let cases = 0;

async function planOf(dir: string, rows: Row[], mapper: RowMapper, inWorker: boolean) {
  const store = new SqliteStateStore(join(dir, `case${++cases}.db`), {
    stageWorkerFromRows: inWorker ? 1 : Number.MAX_SAFE_INTEGER,
    stageWorkerMapsBelowBacklog: inWorker ? Infinity : 0,
  });
  const stage = store.openStage('s', 'run1', { fullResync: false });
  try {
    // Slices of 3 rows: the first mapped here (the worker starts after it), every later one by the worker.
    for (let at = 0; at < rows.length; at += 3) await stage.insertModelRows(rows.slice(at, at + 3), stageMapping(mapper));
    return { counts: await stage.diff(), plan: stage.page(['added', 'changed', 'removed'], 0, 1_000), invalid: stage.invalidRows(0, 1_000) };
  } finally {
    stage.drop();
    store.close();
  }
}

it('stages every model row the same in a stage worker as in the calling thread', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'panelsync-stage-rows-'));
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 4, maxLength: 30 }), mappings, async (rows, mapped) => {
        const mapper = new RowMapper('id', 'email', mapped, TYPES);
        const here = await planOf(dir, rows, mapper, false);
        expect(here.counts.queried).toBe(rows.length);
        expect(await planOf(dir, rows, mapper, true)).toEqual(here);
      }),
      { seed: 20261208, numRuns: Number(process.env.STAGE_ROWS_RUNS ?? 15) },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
