/**
 * `panelsync check` (issue 12) against the emulator: it confirms the built-in contract, names the
 * refutation of each variant, a profile recorded from a variant answers like it, a killed
 * `--write-test` is cleaned up by the next one, and production needs the confirmation flag.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/check/check-report.ts';
import { CONTRACT_ASSUMPTIONS } from '../../src/destinations/user-interviews/wire.ts';
import { loadContractProfile } from '../../src/emulator/contract-profile.ts';
import { VARIANTS, variantContract, type VariantName } from '../../src/emulator/variants.ts';
import { onlyJson, panelsync } from '../debugger/cli-capture.ts';
import { startCheckFixture, type CheckFixture } from './check-fixture.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let fixture: CheckFixture | undefined;
const recordDirs: string[] = [];
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  for (const dir of recordDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function check(args: string[] = ['--write-test']): Promise<{ code: number; report: CheckReport }> {
  const result = await panelsync(fixture!.dir, ['check', 'panel', '--json', ...args], fixture!.env);
  return { code: result.code, report: onlyJson<CheckReport>(result) };
}

const refutedIds = (report: CheckReport) => report.assumptions.filter((a) => a.result === 'refuted').map((a) => a.id).sort();

/** What each variant must be caught at, and nothing else. */
const REFUTATIONS: Record<VariantName, string[]> = {
  'per-row-errors': ['batch.all_or_nothing'],
  'page-per-page': ['participants.max_page_size', 'participants.page_shape', 'participants.paging'],
  'error-object': ['batch.error_pointer', 'errors.body_shape', 'participant.create_existing_refused'],
  'no-rename-by-id': ['participant.rename_by_id'],
  'delete-200': ['participant.delete'],
  'batch-limit-50': ['batch.max_size'],
  'camel-case-keys': ['participant.request_keys'],
};

describe('panelsync check', () => {
  it('confirms every assumption against the built-in emulator, and leaves no test participant', async () => {
    fixture = await startCheckFixture();
    const { code, report } = await check();
    expect(code).toBe(0);
    expect(report.assumptions.map((a) => a.id)).toEqual(CONTRACT_ASSUMPTIONS.map((a) => a.id));
    const notConfirmed = report.assumptions.filter((a) => a.result !== 'confirmed');
    // Only a 429 shows how a rate limit is announced; check does not provoke one.
    expect(notConfirmed.map((a) => [a.id, a.result])).toEqual([['rate_limit.retry_after', 'not_checked']]);
    expect(report).toMatchObject({ destination: 'panel', environment: 'sandbox', base_url: fixture.emulator.emulator.apiUrl, write_test: true });
    expect(await fixture.markedParticipants()).toEqual([]);
  });

  it('is read-only by default: no write reaches the API, and the write items say they need --write-test', async () => {
    fixture = await startCheckFixture();
    const before = (await fixture.emulator.control('GET', '/stats')) as { by_route: Record<string, number> };
    const { code, report } = await check([]);
    const after = (await fixture.emulator.control('GET', '/stats')) as { by_route: Record<string, number> };
    expect(code).toBe(0);
    const sent = Object.keys(after.by_route).filter((route) => after.by_route[route] !== before.by_route[route]);
    expect(sent.every((route) => route.startsWith('GET '))).toBe(true);
    const writes = report.assumptions.filter((a) => CONTRACT_ASSUMPTIONS.find((c) => c.id === a.id)!.needs === 'write');
    expect(writes.every((a) => a.result === 'not_checked' && a.why!.startsWith('needs --write-test'))).toBe(true);
    expect(report.counts.refuted).toBe(0);
  });

  it.each(VARIANTS.map((v) => v.name))('names the refutation of the variant %s, and a profile recorded from it answers alike', async (name) => {
    fixture = await startCheckFixture(variantContract(name));
    const recordDir = mkdtempSync(path.join(tmpdir(), 'panelsync-record-'));
    recordDirs.push(recordDir);
    const { code, report } = await check(['--write-test', '--record', recordDir]);
    expect(code).toBe(1);
    expect(refutedIds(report)).toEqual(REFUTATIONS[name]);
    expect(await fixture.markedParticipants()).toEqual([]);
    // Every exchange was kept, without the key.
    const exchanges = readdirSync(path.join(recordDir, 'exchanges'));
    expect(exchanges.length).toBeGreaterThan(20);
    const recorded = exchanges.map((file) => readFileSync(path.join(recordDir, 'exchanges', file), 'utf8')).join('\n');
    expect(recorded).not.toContain('demo-key');

    await fixture.close();
    fixture = await startCheckFixture(loadContractProfile(recordDir));
    const replayed = await check();
    expect(refutedIds(replayed.report)).toEqual(REFUTATIONS[name]);
    expect(replayed.report.observed).toEqual(report.observed);
  });

  it('removes, by its record, what a killed --write-test left', async () => {
    fixture = await startCheckFixture();
    await fixture.emulator.control('PATCH', '/knobs', { latency_ms: 150 });
    const child = spawn(process.execPath, ['bin/panelsync.js', 'check', 'panel', '--write-test', '--project', fixture.dir], {
      cwd: root,
      env: { ...process.env, ...fixture.env },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 20_000;
    while ((await fixture.markedParticipants()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await once(child, 'exit');
    const left = await fixture.markedParticipants();
    expect(left.length).toBeGreaterThan(0);
    const ledger = path.join(fixture.dir, '.panelsync', 'check-test-participants.json');
    expect(readFileSync(ledger, 'utf8')).toContain(left[0]!.email);

    await fixture.emulator.control('PATCH', '/knobs', { latency_ms: 0 });
    const { report } = await check();
    expect(report.leftovers_removed).toBe(left.length);
    expect(await fixture.markedParticipants()).toEqual([]);
    expect(existsSync(ledger) ? JSON.parse(readFileSync(ledger, 'utf8')) : {}).toEqual({});
  });

  it('refuses --write-test on production without --confirm-production, before sending anything', async () => {
    fixture = await startCheckFixture({}, 'production');
    const before = (await fixture.emulator.control('GET', '/stats')) as { total: number };
    const result = await panelsync(fixture.dir, ['check', 'panel', '--write-test'], fixture.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('environment: production');
    expect(result.stderr).toContain('--confirm-production');
    expect(((await fixture.emulator.control('GET', '/stats')) as { total: number }).total).toBe(before.total);

    const confirmed = await check(['--write-test', '--confirm-production']);
    expect(confirmed.code).toBe(0);
    expect(confirmed.report.environment).toBe('production');
  });

  it('prints one line per item in text form, and exits 2 for an unknown destination', async () => {
    fixture = await startCheckFixture(variantContract('delete-200'));
    const text = await panelsync(fixture.dir, ['check', 'panel', '--write-test'], fixture.env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^ {2}REFUTED {6}participant\.delete +DELETE \/participants\/\{id\} answers 204\.\n +expected: 204, then not listed\n +seen: +200 with /m);
    expect(text.stdout).toMatch(/27 assumptions: 25 confirmed, 1 refuted, 1 not checked\n$/);
    const unknown = await panelsync(fixture.dir, ['check', 'nope'], fixture.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown destination "nope" (known: panel)');
  });
});
