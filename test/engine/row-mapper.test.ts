/**
 * The row mapper writes each row's payload values directly in canonical order: with its layout,
 * the text must be exactly `JSON.stringify` of the mapped fields with sorted keys (what the
 * snapshot stores, so a changed order would make every synced row look changed), whatever fields
 * and characteristics are mapped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PARTICIPANT_FIELDS, type CharacteristicType } from '../../src/destinations/user-interviews/wire.ts';
import { jsonText, RowMapper } from '../../src/engine/row-mapper.ts';
import { decodePayload, encodeCanonical, encodeWithLayout } from '../../src/state/payload-codec.ts';

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const slug = fc.stringMatching(/^[a-z0-9_]{1,12}$/);
const text = fc.oneof(fc.constant(null), fc.string({ maxLength: 20 }).map((s) => s.normalize('NFC')));

describe('RowMapper payload', () => {
  it('is the canonical JSON of the mapped fields', () => {
    fc.assert(
      fc.property(
        fc.subarray([...PARTICIPANT_FIELDS]),
        fc.uniqueArray(slug, { maxLength: 5 }),
        fc.array(text, { minLength: 20, maxLength: 20 }),
        (fields, slugs, values) => {
          const targets = fc.sample(fc.shuffledSubarray([...fields.map((f) => f), ...slugs.map((s) => `characteristics.${s}`)], { minLength: fields.length + slugs.length }), { numRuns: 1, seed: values.length })[0]!;
          const types = new Map<string, CharacteristicType>(slugs.map((s) => [s, 'text']));
          const mappings = targets.map((to, i) => ({ from: `c${i}`, to }));
          const mapper = new RowMapper('id', 'email', mappings, types);
          const row: Record<string, string | null> = { id: '1', email: 'a@example.com' };
          targets.forEach((_, i) => (row[`c${i}`] = values[i]!));
          const mapped = mapper.map(row);
          expect(mapped.ok).toBe(true);
          if (!mapped.ok) return;
          const expected: Record<string, unknown> = {};
          targets.forEach((to, i) => {
            if (to.startsWith('characteristics.')) ((expected.characteristics ??= {}) as Record<string, unknown>)[to.slice(16)] = values[i];
            else expected[to] = values[i];
          });
          const payload = decodePayload(mapper.layout, mapped.values);
          expect(payload).toBe(sortedJson(expected));
          expect(JSON.parse(payload)).toEqual(expected);
          // A snapshot row stored before layouts (canonical JSON) is encoded as the mapper encodes it:
          // the upgrade does not make a row look changed.
          expect(encodeCanonical(payload)).toEqual({ layout: mapper.layout, values: mapped.values });
          expect(encodeWithLayout(payload, mapper.layout)).toBe(mapped.values);
        },
      ),
      { numRuns: 500, seed: 20261207 },
    );
  });

  it('writes each value exactly as JSON.stringify does (quotes, backslashes, controls, lone surrogates, numbers)', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('a', '"', '\\', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udc00', 'é', '😀') }),
      fc.double(),
      fc.integer(),
      fc.constantFrom(-0, Number.MAX_SAFE_INTEGER + 2, 1e21, 5e-324, true, false, null),
    );
    fc.assert(
      fc.property(value, (v) => {
        expect(jsonText(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 2_000, seed: 20261207 },
    );
  });
});
