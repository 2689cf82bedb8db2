import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { expectAddsUp, runProject as run, sentInBatches as sentParticipants, SYNC } from '../helpers/run-helpers.ts';

const PATCH = 'PATCH /api/participants/batches';

describe('core sync (upsert) against the emulator, on the Chinook customers', () => {
  let project: ChinookProject;
  beforeEach(async () => {
    project = await createChinookProject();
  });
  afterEach(async () => {
    await project.close();
  });

  it('creates the 59 customers as participants with their fields and characteristics', async () => {
    const { summary } = await run(project);
    expect(summary).toMatchObject({
      sync: SYNC,
      status: 'success',
      rows: { queried: 59, added: 59, changed: 0, removed: 0, unchanged: 0, invalid: 0 },
      succeeded: { added: 59, changed: 0, removed: 0 },
      rejected: { added: 0, changed: 0, removed: 0 },
    });
    expectAddsUp(summary);
    const participants = await project.participants();
    expect(participants).toHaveLength(59);
    const luis = participants.find((p) => p.email === 'luisg@embraer.com.br')!;
    expect(luis).toMatchObject({
      first_name: 'Luís',
      last_name: 'Gonçalves',
      phone_number: '+55 (12) 3923-5555',
      company: 'Embraer - Empresa Brasileira de Aeronáutica S.A.',
      city: 'São José dos Campos',
      state: 'SP',
      country: 'Brazil',
      characteristics: { lifetime_value: 39.62, last_purchase: '2025-08-07', source: 'chinook', location: 'São José dos Campos, Brazil' },
    });
    // A NULL column clears the field: Chinook customer 2 has no company.
    const leonie = participants.find((p) => p.email === 'leonekohler@surfeu.de')!;
    expect(leonie.company).toBeNull();
    // 59 rows fit in one batch of 100: one read of the characteristics, one write.
    expect(await project.stats()).toEqual({ 'GET /api/characteristics': 1, [PATCH]: 1 });
    expect(summary.api_calls).toBe(2);
  });

  it('sends nothing on a second run when the model did not change', async () => {
    await run(project);
    const before = await project.stats();
    const { summary } = await run(project);
    expect(summary.status).toBe('success');
    expect(summary.rows).toEqual({ queried: 59, added: 0, changed: 0, removed: 0, unchanged: 59, invalid: 0 });
    expectAddsUp(summary);
    expect((await project.stats())[PATCH]).toBe(before[PATCH]);
  });

  it('sends exactly the 3 customers that changed, and a new one as added', async () => {
    await run(project);
    project.db.prepare(`UPDATE Customer SET LastName = 'Köhler-O''Brien' WHERE CustomerId = 2`).run();
    project.db.prepare(`UPDATE Customer SET City = 'Porto' WHERE CustomerId = 10`).run();
    project.db.prepare(`UPDATE Customer SET Phone = NULL WHERE CustomerId = 20`).run();
    project.db
      .prepare(`INSERT INTO Customer (CustomerId, FirstName, LastName, Email) VALUES (60, 'Ada', 'Lovelace', 'ada@example.com')`)
      .run();
    const { summary, calls } = await run(project);
    expect(summary.rows).toEqual({ queried: 60, added: 1, changed: 3, removed: 0, unchanged: 56, invalid: 0 });
    expect(summary.succeeded).toEqual({ added: 1, changed: 3, removed: 0 });
    expectAddsUp(summary);
    const sent = sentParticipants(calls);
    expect(sent.map((p) => p.email).sort()).toEqual(
      ['ada@example.com', 'leonekohler@surfeu.de', 'eduardo@woodstock.com.br', 'dmiller@comcast.com'].sort(),
    );
    const participants = await project.participants();
    expect(participants).toHaveLength(60);
    const byEmail = new Map(participants.map((p) => [p.email, p]));
    // An apostrophe and non-ASCII reach the API unchanged.
    expect(byEmail.get('leonekohler@surfeu.de')!.last_name).toBe("Köhler-O'Brien");
    expect(byEmail.get('eduardo@woodstock.com.br')!.city).toBe('Porto');
    expect(byEmail.get('eduardo@woodstock.com.br')!.characteristics.location).toBe('Porto, Brazil');
    expect(byEmail.get('dmiller@comcast.com')!.phone_number).toBeNull();
    expect(byEmail.get('ada@example.com')).toMatchObject({ first_name: 'Ada', characteristics: { lifetime_value: 0 } });
  });

  it('counts null email, duplicated primary key and malformed email as invalid, and syncs every other row', async () => {
    const sql = `
      SELECT CustomerId, FirstName, LastName, NULL AS Company, City, State, Country, Phone,
             CASE CustomerId WHEN 3 THEN NULL WHEN 4 THEN 'not-an-email' WHEN 5 THEN '   ' ELSE Email END AS Email,
             '0.00' AS lifetime_value, NULL AS last_purchase
      FROM Customer
      UNION ALL SELECT 7, 'Dup', 'Copy', NULL, NULL, NULL, NULL, NULL, 'dup@example.com', '0', NULL`;
    const custom = await createChinookProject({ sql });
    try {
      const { summary, invalid } = await run(custom);
      expect(summary.status).toBe('warning');
      expect(summary.rows).toMatchObject({ queried: 60, added: 55, invalid: 5 });
      expectAddsUp(summary);
      const reasons = new Map<string | null, string[]>();
      for (const r of invalid) reasons.set(r.pk, [...(reasons.get(r.pk) ?? []), r.reason]);
      expect(reasons.get('3')).toEqual(['email is null']);
      expect(reasons.get('4')![0]).toMatch(/not a valid email/);
      expect(reasons.get('5')).toEqual(['email is blank']);
      expect(reasons.get('7')).toHaveLength(2);
      expect(reasons.get('7')![0]).toMatch(/primary key '7' appears 2 times/);
      const emails = (await custom.participants()).map((p) => p.email);
      expect(emails).toHaveLength(55);
      expect(emails).not.toContain('dup@example.com');
      expect(emails).not.toContain('not-an-email');
    } finally {
      await custom.close();
    }
  });

  it('records the run, and a full resync sends every row again', async () => {
    await run(project);
    const { summary } = await run(project, { fullResync: true });
    expect(summary.rows).toMatchObject({ added: 59, unchanged: 0 });
    expect(summary.succeeded.added).toBe(59);
    expect(await project.participants()).toHaveLength(59);
  });
});
