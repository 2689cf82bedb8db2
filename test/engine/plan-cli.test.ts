/**
 * What `plan` (and `run`) tell a person. A mapping the model cannot satisfy is a configuration
 * error found before any row is sent: a
 * template naming a column the model lacks (it would write "" to every participant), a template
 * reading anything but `row`; `plan` reports it in one line with exit 2, `run` as a failed run, no
 * stack trace. A plan's sample says how many rows it did not show.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RowMapper, RowMapperError } from '../../src/engine/row-mapper.ts';
import { decodePayload } from '../../src/state/payload-codec.ts';
import { panelsync } from '../debugger/cli-capture.ts';
import { createChinookProject, STANDARD_MAPPINGS, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';

const TYPES = new Map([['location', 'text' as const]]);

describe('RowMapper templates', () => {
  it('rejects, on the first row, a template column the model does not return', () => {
    const mapper = new RowMapper('id', 'email', [{ template: '{{ row.City }}, {{ row.Countyr }}', to: 'characteristics.location' }], TYPES, 'people');
    expect(() => mapper.map({ id: 1, email: 'a@example.com', City: 'Oslo', Country: 'Norway' })).toThrow(
      new RowMapperError('syncs.people.mappings[0].template: column "Countyr" is not in the model (the model returns: id, email, City, Country)'),
    );
  });

  it('renders a template whose columns exist, null included', () => {
    const mapper = new RowMapper('id', 'email', [{ template: '{{ row.City }}|{{ row["Postal Code"] }}', to: 'characteristics.location' }], TYPES);
    const mapped = mapper.map({ id: 1, email: 'a@example.com', City: 'Oslo', 'Postal Code': null });
    expect(mapped).toEqual({ ok: true, pk: '1', email: 'a@example.com', values: '"Oslo|"' });
    expect(decodePayload(mapper.layout, '"Oslo|"')).toBe('{"characteristics":{"location":"Oslo|"}}');
  });

  it('refuses a template that reads a variable other than row', () => {
    expect(() => new RowMapper('id', 'email', [{ template: '{{ City }}', to: 'characteristics.location' }], TYPES, 'people')).toThrow(
      /mappings\[0\]\.template: the template reads "City", but only row\.COLUMN is available/,
    );
  });
});

describe('plan and run with a misspelt template column', () => {
  let project: ChinookProject | undefined;
  afterEach(async () => {
    await project?.close();
  });

  it('exit 2 with the mapping error, no stack trace, nothing sent', async () => {
    project = await createChinookProject({
      sync: { mappings: STANDARD_MAPPINGS.map((m) => ('template' in m ? { ...m, template: '{{ row.Cty }}' } : m)) },
    });
    const env = { UI_API_KEY: TEST_API_KEY };
    const plan = await panelsync(project.dir, ['plan', 'customers-to-panel', '--json'], env);
    expect(plan.code).toBe(2);
    expect(JSON.parse(plan.stdout)).toMatchObject({ error: { code: 'MAPPING_INVALID', message: expect.stringContaining('column "Cty" is not in the model') } });
    const run = await panelsync(project.dir, ['run', 'customers-to-panel', '--json'], env);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'failed', error: expect.stringContaining('column "Cty" is not in the model') });
    for (const { stderr } of [plan, run]) expect(stderr).not.toMatch(/\n\s+at /);
    expect(Object.keys(await project.stats()).filter((route) => !route.startsWith('GET '))).toEqual([]);
  });
});

describe('plan sample', () => {
  let project: ChinookProject | undefined;
  afterEach(async () => {
    await project?.close();
  });

  it('says how many rows it did not show, and --sample shows them', async () => {
    project = await createChinookProject();
    const env = { UI_API_KEY: TEST_API_KEY };
    const cut = await panelsync(project.dir, ['plan', 'customers-to-panel'], env);
    expect(cut.code).toBe(0);
    expect(cut.stdout.split('\n').filter((line) => line.startsWith('  added '))).toHaveLength(5);
    expect(cut.stdout).toContain('… and 54 more added rows (see them with --sample 59)');
    const all = await panelsync(project.dir, ['plan', 'customers-to-panel', '--sample', '59'], env);
    expect(all.stdout.split('\n').filter((line) => line.startsWith('  added '))).toHaveLength(59);
    expect(all.stdout).not.toContain('more added rows');
  });
});
