/**
 * Values at the edges (issue 11, items 9-11), against the emulator on loopback: the same text in
 * NFC and then NFD is no change; an internationalized domain and its punycode are one participant;
 * emails with invisible characters, `..`, trailing dots or a local part over 64 characters, and
 * characteristic texts over MAX_CHARACTERISTIC_TEXT_LENGTH, are invalid rows never sent, and the
 * emulator refuses the same values with the same rule.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { castCharacteristic, castEmail, castFieldValue } from '../../src/destinations/user-interviews/fields.ts';
import {
  ACCEPT,
  CONTENT_TYPE,
  MAX_CHARACTERISTIC_TEXT_LENGTH,
  MAX_EMAIL_LOCAL_PART_LENGTH,
  normalizeEmail,
} from '../../src/destinations/user-interviews/wire.ts';
import { SqliteStateStore } from '../../src/state/sqlite-state-store.ts';
import { MIGRATIONS } from '../../src/state/migrations.ts';
import { TEST_API_KEY } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject as run, writeCalls } from '../helpers/run-helpers.ts';
import { peopleProjectPerTest } from './people-project.ts';

const start = peopleProjectPerTest();

const NFC_NAME = 'Zo\u00e9 Ren\u00e9e'; // é as one code point
const NFD_NAME = 'Zoe\u0301 Rene\u0301e'; // e + combining acute accent
const NFC_EMAIL = 'zo\u00e9@example.com';
const NFD_EMAIL = 'zoe\u0301@example.com';

/** Emails that must never be sent, each with the words its reason must hold. */
const BAD_EMAILS: Array<[string, RegExp]> = [
  ['nul\u0000@example.com', /U\+0000/],
  ['tab\u0009x@example.com', /U\+0009/],
  ['\u202Emoc.elpmaxe@evil.com', /U\+202E/],
  ['zero\u200Bwidth@example.com', /U\+200B/],
  ['joiner@exam\u200Dple.com', /U\+200D/],
  ['bom\uFEFF@example.com', /U\+FEFF/],
  ['trailing@example.com.', /not a valid email address/],
  ['two..dots@example.com', /not a valid email address/],
  ['dot@example..com', /not a valid email address/],
  [`${'a'.repeat(MAX_EMAIL_LOCAL_PART_LENGTH + 1)}@example.com`, /local part .* 65 characters: at most 64/],
];

async function emulatorWrite(p: { emulator: { apiUrl: string } }, participant: Record<string, unknown>) {
  const res = await fetch(`${p.emulator.apiUrl}/participants/batches`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, accept: ACCEPT, 'content-type': CONTENT_TYPE },
    body: JSON.stringify({ participants: [participant] }),
  });
  return { status: res.status, body: (await res.json()) as { errors?: Array<{ detail: string }> } };
}

describe('one Unicode normal form', () => {
  it('a name and an email written composed (NFC), then decomposed (NFD), is no change: nothing is sent the second time', async () => {
    const p = await start({ rows: 2 });
    p.db.prepare('UPDATE people SET first_name = ?, email = ? WHERE id = 1').run(NFC_NAME, NFC_EMAIL);
    const first = await run(p);
    expect(first.summary).toMatchObject({ status: 'success', rows: { added: 2 } });

    p.db.prepare('UPDATE people SET first_name = ?, email = ? WHERE id = 1').run(NFD_NAME, NFD_EMAIL);
    const second = await run(p);
    expect(second.summary.rows).toMatchObject({ added: 0, changed: 0, unchanged: 2 });
    expect(writeCalls(second.calls)).toEqual([]);
    // The participant keeps one address, in NFC.
    const zoe = (await p.participants()).filter((x) => x.first_name === NFC_NAME);
    expect(zoe.map((x) => x.email)).toEqual([NFC_EMAIL]);
  });

  it('a first run in NFD sends NFC, so the panel holds one form whatever the model returns', async () => {
    const p = await start({ rows: 1 });
    p.db.prepare('UPDATE people SET first_name = ?, email = ? WHERE id = 1').run(NFD_NAME, NFD_EMAIL);
    const { summary, calls } = await run(p);
    expectAddsUp(summary);
    const sent = JSON.parse(writeCalls(calls)[0]!.request_body!) as { participants: Array<Record<string, unknown>> };
    expect(sent.participants[0]).toMatchObject({ email: NFC_EMAIL, first_name: NFC_NAME });
  });

  it('castFieldValue and text characteristics map NFD to NFC', () => {
    expect(castFieldValue('first_name', NFD_NAME)).toEqual({ ok: true, value: NFC_NAME });
    expect(castCharacteristic('source', 'text', NFD_NAME)).toEqual({ ok: true, value: NFC_NAME });
    expect(castEmail(` ${NFD_EMAIL} `)).toEqual({ ok: true, value: NFC_EMAIL });
  });
});

describe('internationalized domains', () => {
  it('an address with a Unicode domain and the same address in punycode are one participant: matched, not created twice', async () => {
    const p = await start({ rows: 1 });
    p.db.prepare('UPDATE people SET email = ? WHERE id = 1').run('Ann@B\u00fccher.example');
    await run(p);
    p.db.prepare('UPDATE people SET email = ? WHERE id = 1').run('ann@xn--bcher-kva.example');
    const again = await run(p);
    expect(again.summary.rows).toMatchObject({ added: 0, changed: 0, unchanged: 1 });
    expect(writeCalls(again.calls)).toEqual([]);
    expect(await p.participants()).toHaveLength(1);
  });

  it('two rows with the IDN and the punycode form of one address share an email: both invalid', async () => {
    const p = await start({ rows: 1 });
    p.db.prepare('UPDATE people SET email = ? WHERE id = 1').run('ann@b\u00fccher.example');
    p.db.prepare(`INSERT INTO people VALUES (2, 'ANN@xn--bcher-kva.example', 'Two', 'Second')`).run();
    const { summary, invalid } = await run(p);
    expect(summary.rows).toMatchObject({ invalid: 2, added: 0 });
    expect(invalid.map((r) => r.reason).join('\n')).toMatch(/is shared by 2 rows/);
  });

  it('normalizeEmail: IDNA ASCII domain, NFC, lower case; ASCII emails keep the key they always had', () => {
    expect(normalizeEmail(' Ann@B\u00fccher.DE ')).toBe('ann@xn--bcher-kva.de');
    expect(normalizeEmail('ann@xn--bcher-kva.de')).toBe('ann@xn--bcher-kva.de');
    expect(normalizeEmail(NFD_EMAIL)).toBe(normalizeEmail(NFC_EMAIL));
    expect(normalizeEmail(' User1@Example.COM ')).toBe('user1@example.com');
  });
});

describe('email validation', () => {
  it('refuses control, bidi and zero-width characters, "..", trailing dots and long local parts, with the reason, before any call', async () => {
    const p = await start({ rows: 0 });
    const insert = p.db.prepare(`INSERT INTO people VALUES (?, ?, 'Bad', 'Email')`);
    BAD_EMAILS.forEach(([email], i) => insert.run(i + 1, email));
    p.db.prepare(`INSERT INTO people VALUES (100, 'fine@b\u00fccher.example', 'Fine', 'Email')`).run();
    const { summary, invalid, calls } = await run(p);
    expect(summary.rows).toMatchObject({ invalid: BAD_EMAILS.length, added: 1 });
    for (const [i, [email, reason]] of BAD_EMAILS.entries()) {
      const row = invalid.find((r) => r.pk === String(i + 1));
      expect(row?.reason, JSON.stringify(email)).toMatch(reason);
    }
    const sent = writeCalls(calls).map((c) => c.request_body!).join('\n');
    expect(sent).toContain('fine@b\u00fccher.example');
    expect(sent).not.toContain('"Bad"');
  });

  it('the emulator refuses the same emails with the same rule (422), and takes the IDN one', async () => {
    const p = await start({ rows: 0 });
    for (const [email, reason] of BAD_EMAILS) {
      const res = await emulatorWrite(p, { email });
      expect(res.status, JSON.stringify(email)).toBe(422);
      expect(res.body.errors?.[0]?.detail).toMatch(reason);
    }
    expect((await emulatorWrite(p, { email: 'fine@b\u00fccher.example' })).status).toBe(200);
  });
});

describe('characteristic text size', () => {
  it(`a text characteristic over ${MAX_CHARACTERISTIC_TEXT_LENGTH} characters makes the row invalid locally; the emulator refuses it too`, async () => {
    const p = await start({
      rows: 2,
      sync: { mappings: [{ from: 'FirstName', to: 'first_name' }, { from: 'LastName', to: 'characteristics.source' }] },
    });
    p.db.prepare('UPDATE people SET last_name = ? WHERE id = 1').run('x'.repeat(MAX_CHARACTERISTIC_TEXT_LENGTH + 1));
    p.db.prepare('UPDATE people SET last_name = ? WHERE id = 2').run('\u{1F600}'.repeat(MAX_CHARACTERISTIC_TEXT_LENGTH)); // at the limit in code points
    const { summary, invalid, calls } = await run(p);
    expect(summary.rows).toMatchObject({ invalid: 1, added: 1 });
    expect(invalid).toEqual([
      { pk: '1', reason: `characteristics.source: longer than ${MAX_CHARACTERISTIC_TEXT_LENGTH} characters (${MAX_CHARACTERISTIC_TEXT_LENGTH + 1}); shorten it in the model's SQL` },
    ]);
    expect(writeCalls(calls).map((c) => c.request_body!).join('')).not.toContain('x'.repeat(100));

    const res = await emulatorWrite(p, { email: 'long@example.com', characteristics: { source: 'y'.repeat(MAX_CHARACTERISTIC_TEXT_LENGTH + 1) } });
    expect(res.status).toBe(422);
    expect(res.body.errors?.[0]?.detail).toBe(`characteristic "source" is too long (maximum is ${MAX_CHARACTERISTIC_TEXT_LENGTH} characters)`);
  });
});

describe('snapshot email keys recorded before NFC and IDNA', () => {
  it('migration 10 computes the keys of non-ASCII emails again, so the next run sees no email move and sends nothing', async () => {
    const p = await start({ rows: 2 });
    p.db.prepare('UPDATE people SET email = ? WHERE id = 1').run('ann@b\u00fccher.example');
    await run(p);
    // Make the state database look as an older panelsync left it: the key as trim + lower case.
    const statePath = join(p.dir, 'state', 'state.db');
    const state = new Database(statePath);
    state.prepare(`UPDATE snapshot SET email_key = 'ann@b\u00fccher.example' WHERE pk = '1'`).run();
    state.prepare('DELETE FROM schema_migrations WHERE version = 10').run();
    state.close();

    new SqliteStateStore(statePath).close(); // applies migration 10 again
    const check = new Database(statePath, { readonly: true });
    expect(check.prepare(`SELECT email_key FROM snapshot WHERE pk IN ('1', '2') ORDER BY pk`).pluck().all()).toEqual([
      'ann@xn--bcher-kva.example',
      'user2@example.com',
    ]);
    check.close();
    expect(MIGRATIONS.at(-1)!.version).toBeGreaterThanOrEqual(10);

    const again = await run(p);
    expect(again.summary.rows).toMatchObject({ changed: 0, unchanged: 2 });
    expect(writeCalls(again.calls)).toEqual([]);
  });
});
