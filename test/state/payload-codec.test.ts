/**
 * A payload as stored (layout and values, see src/state/payload-codec.ts) gives back its canonical
 * JSON byte for byte, and the fast encoder agrees with the parsing one: the diff compares stored
 * payloads, so any difference would show a row as changed (or hide a change).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodedLength, decodePayload, encodeCanonical, encodeWithLayout, VALUE_SEPARATOR } from '../../src/state/payload-codec.ts';

const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('0', '7', '42', 'characteristics', 'a,b', '"q"', 'x:y', VALUE_SEPARATOR));
const payloadObject = fc.dictionary(
  key,
  fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })),
  { maxKeys: 6 },
);

describe('payload codec', () => {
  it('decodes what it encodes to the same canonical JSON, and encodes it again the same way', () => {
    fc.assert(
      fc.property(payloadObject, (object) => {
        const json = JSON.stringify(object);
        const { layout, values } = encodeCanonical(json);
        expect(decodePayload(layout, values)).toBe(json);
        expect(decodedLength(layout, values)).toBe(json.length);
        expect(encodeWithLayout(json, layout)).toBe(values);
        expect(layout.length - 1).toBe(layout.length === 1 ? 0 : values.split(VALUE_SEPARATOR).length);
      }),
      { numRuns: 2_000, seed: 20261207 },
    );
  });

  it('tells a payload of another layout apart', () => {
    const a = encodeCanonical('{"characteristics":{"score":1.5,"vip":false},"city":"Oslo"}');
    expect(a.layout).toEqual(['{"characteristics":{"score":', ',"vip":', '},"city":', '}']);
    expect(a.values).toBe(`1.5${VALUE_SEPARATOR}false${VALUE_SEPARATOR}"Oslo"`);
    expect(encodeWithLayout('{"characteristics":{"score":1.5,"vip":false},"town":"Oslo"}', a.layout)).toBeNull();
    expect(encodeWithLayout('{"characteristics":{"score":1.5,"vip":false},"city":"Oslo","x":1}', a.layout)).toBeNull();
    expect(encodeWithLayout('{"characteristics":{"score":[1,{"a":"},\\"city\\":"}],"vip":false},"city":"Oslo"}', a.layout)).toBe(
      `[1,{"a":"},\\"city\\":"}]${VALUE_SEPARATOR}false${VALUE_SEPARATOR}"Oslo"`,
    );
    // Text JSON.stringify would not write is kept whole.
    expect(encodeCanonical('{ "city": "Oslo" }')).toEqual({ layout: ['{ "city": "Oslo" }'], values: '' });
    expect(encodeCanonical('{}')).toEqual({ layout: ['{}'], values: '' });
  });
});
