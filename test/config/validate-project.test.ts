import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { urlSecrets, validateProject } from '../../src/config/validate-project.ts';
import { EXAMPLE_ENV, exampleRaw } from './example-project.ts';

const DIR = '/srv/project';

/** Validates `raw` and returns its issues as `path: message` lines. */
function issuesOf(raw: unknown, env: Record<string, string | undefined> = EXAMPLE_ENV) {
  return validateProject(raw, env, { projectDir: DIR }).issues;
}

describe('validateProject: the example project', () => {
  it('is valid, with defaults applied and paths normalized', () => {
    const raw = exampleRaw();
    raw.destinations.panel.base_url = 'http://127.0.0.1:4010/api/';
    const { project, issues } = validateProject(raw, EXAMPLE_ENV, { projectDir: DIR });
    expect(issues).toEqual([]);
    expect(project).toBeDefined();
    expect(project!.projectDir).toBe(DIR);
    expect(project!.statePath).toBe(path.join(DIR, '.panelsync/state.db'));
    expect(project!.sources.chinook).toEqual({ type: 'sqlite', path: path.join(DIR, 'data/chinook.sqlite') });
    expect(project!.destinations.panel).toEqual({
      type: 'user-interviews',
      api_key: 'ui-key-7f3a9c',
      environment: 'sandbox',
      base_url: 'http://127.0.0.1:4010/api',
      concurrency: 4,
      batch_size: 100,
      timeout_ms: 30_000,
      max_attempts: 5,
    });
    const sync = project!.syncs['customers-to-panel']!;
    expect(sync.max_delete_share).toBe(0.5);
    expect(sync.mappings).toHaveLength(5);
    expect(sync.mappings[3]).toEqual({ static: 'chinook', to: 'characteristics.source' });
    expect(project!.secrets).toEqual(['ui-key-7f3a9c']);
  });

  it('applies the defaults of keys left out', () => {
    const raw = exampleRaw();
    delete raw.state;
    const sync = raw.syncs['customers-to-panel'];
    for (const key of ['mode', 'delete_behavior', 'split_retries', 'mappings']) delete sync[key];
    raw.sources.mem = { type: 'duckdb' };
    const { project } = validateProject(raw, EXAMPLE_ENV, { projectDir: DIR });
    expect(project!.state).toBe('.panelsync/state.db');
    expect(project!.sources.mem).toEqual({ type: 'duckdb', path: ':memory:' });
    expect(project!.syncs['customers-to-panel']).toMatchObject({
      mode: 'upsert',
      delete_behavior: 'do_nothing',
      split_retries: true,
      mappings: [],
    });
  });
});

describe('validateProject: every rule reports its path', () => {
  const cases: { name: string; change: (raw: any) => void; path: string; message: RegExp }[] = [
    {
      name: 'model.source names a defined source',
      change: (raw) => (raw.models.customers.source = 'warehouse'),
      path: 'models.customers.source',
      message: /unknown source "warehouse" \(known: chinook\)/,
    },
    {
      name: 'sync.model names a defined model',
      change: (raw) => (raw.syncs['customers-to-panel'].model = 'buyers'),
      path: 'syncs.customers-to-panel.model',
      message: /unknown model "buyers" \(known: customers\)/,
    },
    {
      name: 'sync.destination names a defined destination',
      change: (raw) => (raw.syncs['customers-to-panel'].destination = 'prod'),
      path: 'syncs.customers-to-panel.destination',
      message: /unknown destination "prod" \(known: panel\)/,
    },
    {
      name: 'mapping to an unknown participant field',
      change: (raw) => (raw.syncs['customers-to-panel'].mappings[1].to = 'phone'),
      path: 'syncs.customers-to-panel.mappings[1].to',
      message: /^unknown participant field "phone" \(known: first_name, last_name, phone_number, .*country, or characteristics\.<slug>\); did you mean "phone_number"\?$/,
    },
    {
      name: 'email is not a mapping target',
      change: (raw) => raw.syncs['customers-to-panel'].mappings.push({ from: 'Email', to: 'email' }),
      path: 'syncs.customers-to-panel.mappings[5].to',
      message: /email is not a mapping target: .*`match` sets it/,
    },
    {
      name: 'characteristic slug shape',
      change: (raw) => (raw.syncs['customers-to-panel'].mappings[2].to = 'characteristics.Lifetime-Value'),
      path: 'syncs.customers-to-panel.mappings[2].to',
      message: /characteristic slug "Lifetime-Value" is not valid: .*\^\[a-z0-9_\]\+\$/,
    },
    {
      name: 'two mappings write the same target',
      change: (raw) => raw.syncs['customers-to-panel'].mappings.push({ from: 'Plan', to: 'characteristics.source' }),
      path: 'syncs.customers-to-panel.mappings[5].to',
      message: /characteristics\.source is already written by mappings\[3\]/,
    },
    {
      name: 'a mapping with two of from/static/template',
      change: (raw) => (raw.syncs['customers-to-panel'].mappings[0] = { from: 'FirstName', static: 'x', to: 'first_name' }),
      path: 'syncs.customers-to-panel.mappings[0]',
      message: /exactly one of from, static or template \(found from and static\)/,
    },
    {
      name: 'a mapping with none of from/static/template',
      change: (raw) => (raw.syncs['customers-to-panel'].mappings[0] = { to: 'first_name' }),
      path: 'syncs.customers-to-panel.mappings[0]',
      message: /exactly one of from, static or template \(found none\)/,
    },
    {
      name: 'a Liquid template must parse',
      change: (raw) => (raw.syncs['customers-to-panel'].mappings[4].template = '{{ row.City '),
      path: 'syncs.customers-to-panel.mappings[4].template',
      message: /the Liquid template does not parse: .*not closed/,
    },
    {
      name: 'sandbox needs base_url',
      change: (raw) => delete raw.destinations.panel.base_url,
      path: 'destinations.panel.base_url',
      message: /environment sandbox needs base_url/,
    },
    {
      name: 'delete is only for upsert',
      change: (raw) => Object.assign(raw.syncs['customers-to-panel'], { mode: 'update', delete_behavior: 'delete' }),
      path: 'syncs.customers-to-panel.delete_behavior',
      message: /^delete is not allowed in update mode \(allowed in update mode: do_nothing, clear; delete needs mode upsert\)$/,
    },
    {
      name: 'clear is not for insert',
      change: (raw) => Object.assign(raw.syncs['customers-to-panel'], { mode: 'insert', delete_behavior: 'clear' }),
      path: 'syncs.customers-to-panel.delete_behavior',
      message: /^clear is not allowed in insert mode \(allowed in insert mode: do_nothing; clear needs mode upsert or update\)$/,
    },
    {
      name: 'match must be non-blank',
      change: (raw) => (raw.syncs['customers-to-panel'].match = '   '),
      path: 'syncs.customers-to-panel.match',
      message: /must name a model column; it is blank/,
    },
    {
      name: 'primary_key must be non-blank',
      change: (raw) => (raw.models.customers.primary_key = ''),
      path: 'models.customers.primary_key',
      message: /must name a model column; it is blank/,
    },
    {
      name: 'unknown key in a sync',
      change: (raw) => (raw.syncs['customers-to-panel'].shedule = '0 * * * *'),
      path: 'syncs.customers-to-panel.shedule',
      message: /^unknown key "shedule"; remove it or check its spelling \(known: model, destination, mode, match, mappings, delete_behavior, max_delete_share, split_retries, /,
    },
    {
      name: 'unknown key in a source (union resolved by type)',
      change: (raw) => (raw.sources.chinook.readonly = true),
      path: 'sources.chinook.readonly',
      message: /unknown key "readonly".*\(known: type, path\)/,
    },
    {
      name: 'unknown key in a mapping',
      change: (raw) => (raw.syncs['customers-to-panel'].mappings[0].default = 'x'),
      path: 'syncs.customers-to-panel.mappings[0].default',
      message: /unknown key "default".*\(known: from, to\)/,
    },
    {
      name: 'unknown key at the top',
      change: (raw) => (raw.alert = {}),
      path: 'alert',
      message: /unknown key "alert".*\(known: version, state, retention_days, sources, destinations, models, syncs, alerts, /,
    },
    {
      name: 'unknown source type',
      change: (raw) => (raw.sources.chinook.type = 'oracle'),
      path: 'sources.chinook.type',
      message: /not a known type \(one of: duckdb, sqlite, postgres, mysql\)/,
    },
    {
      name: 'a missing required key says what belongs there',
      change: (raw) => delete raw.syncs['customers-to-panel'].match,
      path: 'syncs.customers-to-panel.match',
      message: /^missing: add it \(a string: the model column matched to the participant's email/,
    },
    {
      name: 'an enum lists its values',
      change: (raw) => (raw.syncs['customers-to-panel'].mode = 'merge'),
      path: 'syncs.customers-to-panel.mode',
      message: /^must be one of: upsert, update, insert$/,
    },
    {
      name: 'a number bound',
      change: (raw) => (raw.destinations.panel.batch_size = 500),
      path: 'destinations.panel.batch_size',
      message: /^must be at most 100$/,
    },
    {
      name: 'a bad name',
      change: (raw) => (raw.sources['my db'] = { type: 'duckdb' }),
      path: 'sources["my db"]',
      message: /the name "my db" is not allowed: use letters, digits/,
    },
    {
      name: 'base_url must be http(s)',
      change: (raw) => (raw.destinations.panel.base_url = 'ftp://example.com/api'),
      path: 'destinations.panel.base_url',
      message: /must be an http:\/\/ or https:\/\/ URL/,
    },
    {
      name: 'static must be a scalar',
      change: (raw) => (raw.syncs['customers-to-panel'].mappings[3].static = [1, 2]),
      path: 'syncs.customers-to-panel.mappings[3].static',
      message: /^expected a string, a number, a boolean or null, got a list$/,
    },
  ];

  for (const { name, change, path: at, message } of cases) {
    it(name, () => {
      const raw = exampleRaw();
      change(raw);
      const { project, issues } = validateProject(raw, EXAMPLE_ENV, { projectDir: DIR });
      expect(project).toBeUndefined();
      expect(issues).toHaveLength(1);
      expect(issues[0]!.path).toBe(at);
      expect(issues[0]!.message).toMatch(message);
    });
  }

  it('says when no source is defined at all', () => {
    const raw = exampleRaw();
    raw.sources = {};
    expect(issuesOf(raw)).toEqual([
      { path: 'models.customers.source', message: 'unknown source "chinook" (no sources are defined; add one under sources)' },
    ]);
  });

  it('reports every problem together: schema, cross-field and environment', () => {
    const raw = exampleRaw();
    raw.version = 2;
    raw.destinations.panel.timeout = 5;
    delete raw.destinations.panel.base_url;
    raw.models.customers.source = 'warehouse';
    raw.syncs['customers-to-panel'].mappings[1].to = 'phone';
    raw.syncs['customers-to-panel'].mappings[2].to = 'first_name';
    raw.syncs['customers-to-panel'].delete_behavior = 'remove';
    const issues = issuesOf(raw, {});
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'destinations.panel.api_key',
        'destinations.panel.base_url',
        'destinations.panel.timeout',
        'models.customers.source',
        'syncs.customers-to-panel.delete_behavior',
        'syncs.customers-to-panel.mappings[1].to',
        'syncs.customers-to-panel.mappings[2].to',
        'version',
      ].sort(),
    );
    expect(issues.find((i) => i.path === 'version')!.message).toBe('must be 1');
    expect(issues.find((i) => i.path === 'destinations.panel.api_key')!.message).toMatch(/UI_API_KEY is not set/);
  });

  it('reports a value that is not a mapping', () => {
    expect(issuesOf(null)).toEqual([{ path: '', message: 'expected a mapping of keys to values, got null' }]);
  });

  it('hints that a ${VAR} gives a string where a number is expected', () => {
    const raw = exampleRaw();
    raw.destinations.panel.batch_size = '${BATCH}';
    const issues = issuesOf(raw, { ...EXAMPLE_ENV, BATCH: '50' });
    expect(issues).toEqual([
      {
        path: 'destinations.panel.batch_size',
        message: 'expected a number, got a string; write the number without quotes (a ${VAR} reference always gives a string)',
      },
    ]);
  });
});

describe('validateProject: secrets', () => {
  it('lists api keys (interpolated or literal), secret-named values and URL passwords, longest first', () => {
    const raw = exampleRaw();
    raw.destinations.literal = { type: 'user-interviews', api_key: 'literal-key-123', environment: 'production' };
    raw.sources.pg = { type: 'postgres', url: 'postgres://app:${PGPASSWORD}@db.internal:5432/crm' };
    raw.sources.my = { type: 'mysql', url: 'mysql://root:p%40ss@127.0.0.1:3306/shop' };
    const env = { ...EXAMPLE_ENV, PGPASSWORD: 's3cr3t-pg' };
    const { project, issues } = validateProject(raw, env, { projectDir: DIR });
    expect(issues).toEqual([]);
    expect(project!.secrets).toEqual(['literal-key-123', 'ui-key-7f3a9c', 's3cr3t-pg', 'p%40ss', 'p@ss']);
    // An env value used outside secret-bearing keys is not a secret.
    const raw2 = exampleRaw();
    raw2.models.customers.sql = 'SELECT * FROM ${TABLE}';
    expect(validateProject(raw2, { ...env, TABLE: 'Customer' }).project!.secrets).toEqual(['ui-key-7f3a9c']);
  });

  it('never shows a secret in an issue message', () => {
    const raw = exampleRaw();
    // A user pasted the key into a field whose message would echo it.
    raw.syncs['customers-to-panel'].mappings[0].to = 'ui-key-7f3a9c';
    const issues = issuesOf(raw);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain('"[redacted]"');
    expect(issues[0]!.message).not.toContain('ui-key-7f3a9c');
  });

  it('finds URL passwords with unencoded "@" and secret query parameters', () => {
    expect(urlSecrets('postgres://u:pa@ss@host/db?sslpassword=kp&sslmode=require')).toEqual(['pa@ss', 'kp']);
    expect(urlSecrets('postgres://host/db')).toEqual([]);
  });
});
