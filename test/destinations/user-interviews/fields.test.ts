/**
 * Local validation of model values (fields.ts) against the wire contract: number characteristics
 * are never silently changed on their way to a JSON number, and the text length limit is counted
 * the same way by the client and by the emulator (one `textLength` in wire.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { castCharacteristic, castEmail, castFieldValue } from '../../../src/destinations/user-interviews/fields.ts';
import { ACCEPT, CONTENT_TYPE, MAX_TEXT_LENGTH, textLength } from '../../../src/destinations/user-interviews/wire.ts';
import { createChinookProject, TEST_API_KEY, type ChinookProject } from '../../helpers/chinook-project.ts';
import { expectAddsUp, runProject } from '../../helpers/run-helpers.ts';

describe('number characteristics', () => {
  it('refuses a decimal string a JSON number cannot hold exactly, naming the characteristic and the problem', () => {
    for (const text of ['9007199254740993', '-9007199254740993', '123456789012345678901234567890', '0.300000000000000001', '1e-400']) {
      const cast = castCharacteristic('lifetime_value', 'number', text);
      expect(cast.ok, text).toBe(false);
      if (!cast.ok) {
        expect(cast.reason).toContain('characteristics.lifetime_value');
        expect(cast.reason).toContain(JSON.stringify(text));
        expect(cast.reason).toMatch(/cannot be sent as a JSON number without changing it/);
      }
    }
    const huge = castCharacteristic('lifetime_value', 'number', '1e400');
    expect(huge).toEqual({ ok: false, reason: 'characteristics.lifetime_value: "1e400" is beyond the range of a JSON number (about ±1.8e308)' });
  });

  it('says what the value would have become', () => {
    const cast = castCharacteristic('x', 'number', '9007199254740993');
    expect(cast.ok ? cast.value : cast.reason).toMatch(/would become 9007199254740992/);
  });

  it('keeps exact decimals and integers up to 2^53, whatever their notation', () => {
    const cases: Array<[string | number, number]> = [
      ['39.62', 39.62],
      ['12.50', 12.5],
      ['0.1', 0.1],
      ['  42 ', 42],
      ['-0.25', -0.25],
      ['.5', 0.5],
      ['1.5e-7', 1.5e-7],
      ['1e21', 1e21],
      ['00012.3400', 12.34],
      ['9007199254740992', 9007199254740992],
      ['-9007199254740991', -9007199254740991],
      ['0.30000000000000004', 0.30000000000000004],
      [39.62, 39.62],
    ];
    for (const [input, value] of cases) expect(castCharacteristic('x', 'number', input), String(input)).toEqual({ ok: true, value });
  });

  it('refuses text that is not a number, and non-finite numbers', () => {
    for (const input of ['abc', '', 'NaN', 'Infinity', '1.2.3']) expect(castCharacteristic('x', 'number', input).ok, input).toBe(false);
  });
});

describe('emails', () => {
  // Found by test/engine/stage-rows.test.ts (shrunk): validator's byte count threw URIError on a
  // lone surrogate, and the whole plan failed instead of the one row.
  it('refuses an email holding a lone surrogate as an invalid row, without throwing', () => {
    expect(castEmail('\ud800')).toEqual({ ok: false, reason: expect.stringContaining('contains U+D800, half of a UTF-16 surrogate pair') });
    expect(castEmail('a\udc00@example.com')).toMatchObject({ ok: false });
    expect(castEmail('ü@bücher.de')).toMatchObject({ ok: true });
    // A whole pair is a character: whatever validator says of it, it is not called a surrogate.
    expect(castEmail('😀@example.com')).not.toMatchObject({ reason: expect.stringContaining('surrogate') });
  });
});

describe('textLength', () => {
  it('counts code points: a character outside the Basic Multilingual Plane counts 1', () => {
    expect(textLength('')).toBe(0);
    expect(textLength('Köhler')).toBe(6);
    expect(textLength('😀')).toBe(1);
    expect(textLength('a😀b')).toBe(3);
  });

  it('is the limit of default participant fields', () => {
    const longest = '😀'.repeat(MAX_TEXT_LENGTH);
    expect(castFieldValue('first_name', longest)).toEqual({ ok: true, value: longest });
    expect(castFieldValue('first_name', `${longest}😀`)).toEqual({
      ok: false,
      reason: `first_name: longer than ${MAX_TEXT_LENGTH} characters (${MAX_TEXT_LENGTH + 1})`,
    });
  });
});

describe('with the emulator', () => {
  let p: ChinookProject | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('the client and the emulator draw the text limit at the same place', async () => {
    p = await createChinookProject();
    const send = (first_name: string) =>
      fetch(`${p!.emulator.apiUrl}/participants/batches`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, accept: ACCEPT, 'content-type': CONTENT_TYPE },
        body: JSON.stringify({ participants: [{ email: 'ann@example.com', first_name }] }),
      });
    for (const text of ['😀'.repeat(MAX_TEXT_LENGTH), `${'😀'.repeat(MAX_TEXT_LENGTH)}😀`, 'é'.repeat(MAX_TEXT_LENGTH), 'a'.repeat(MAX_TEXT_LENGTH + 1)]) {
      const local = castFieldValue('first_name', text).ok;
      const response = await send(text);
      expect({ length: textLength(text), emulatorAccepts: response.status === 200 }).toEqual({ length: textLength(text), emulatorAccepts: local });
    }
  });

  it('a run marks a row with an inexact number invalid, sends the others, and never sends a rounded value', async () => {
    p = await createChinookProject({
      sql: `SELECT 1 AS CustomerId, 'ann@example.com' AS Email, '9007199254740993' AS ltv
            UNION ALL SELECT 2, 'bob@example.com', '39.62'`,
      sync: { mappings: [{ from: 'ltv', to: 'characteristics.lifetime_value' }] },
    });
    const run = await runProject(p);
    expectAddsUp(run.summary);
    expect(run.summary.rows).toMatchObject({ queried: 2, added: 1, invalid: 1 });
    expect(run.invalid).toEqual([{ pk: '1', reason: expect.stringContaining('characteristics.lifetime_value: "9007199254740993" cannot be sent') }]);
    const participants = await p.participants();
    expect(participants.map((x) => [x.email, x.characteristics])).toEqual([['bob@example.com', { lifetime_value: 39.62 }]]);
  });
});
