import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadProject, loadStateLocation } from '../../src/config/load-project.ts';
import { EXAMPLE_ENV, EXAMPLE_YAML } from './example-project.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'panelsync-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadError(options: Parameters<typeof loadProject>[0]): Promise<ConfigError> {
  const error = await loadProject(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadProject', () => {
  it('reports an unset variable; loadStateLocation does not (history commands need no credential)', async () => {
    const yaml = `${EXAMPLE_YAML}\nserver: { api_token: "\${PANELSYNC_API_TOKEN}" }\n`;
    await writeFile(path.join(dir, 'panelsync.yml'), yaml);
    const error = await loadError({ projectDir: dir, env: {} });
    expect(error.issues).toContainEqual({
      path: 'destinations.panel.api_key',
      message: 'environment variable UI_API_KEY is not set; set it, or write ${UI_API_KEY:-default} to give a default',
    });
    expect(await loadStateLocation({ projectDir: dir, env: {} })).toEqual({
      projectDir: dir,
      statePath: path.join(dir, '.panelsync', 'state.db'),
      syncs: ['customers-to-panel'],
      secrets: [],
      retentionDays: 30,
    });
    const withKey = await loadStateLocation({ projectDir: dir, env: { UI_API_KEY: 'k-123456' } });
    expect(withKey.secrets).toEqual(['k-123456']);
  });

  it('loads panelsync.yml from projectDir with env interpolation and absolute paths', async () => {
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML);
    const project = await loadProject({ projectDir: dir, env: EXAMPLE_ENV });
    expect(project.projectDir).toBe(dir);
    expect(project.projectFile).toBe(path.join(dir, 'panelsync.yml'));
    expect(project.statePath).toBe(path.join(dir, '.panelsync', 'state.db'));
    expect(project.destinations.panel!.api_key).toBe(EXAMPLE_ENV.UI_API_KEY);
    expect(project.sources.chinook).toEqual({ type: 'sqlite', path: path.join(dir, 'data', 'chinook.sqlite') });
    expect(project.syncs['customers-to-panel']!.mappings[4]).toEqual({
      template: '{{ row.City }}, {{ row.Country }}',
      to: 'characteristics.location',
    });
    expect(project.secrets).toEqual([EXAMPLE_ENV.UI_API_KEY]);
  });

  it('defaults to the current directory and process.env', async () => {
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML.replace('${UI_API_KEY}', '${PANELSYNC_TEST_KEY}'));
    const cwd = process.cwd();
    process.env.PANELSYNC_TEST_KEY = 'from-process-env';
    try {
      process.chdir(dir);
      const project = await loadProject();
      expect(project.projectDir).toBe(dir);
      expect(project.destinations.panel!.api_key).toBe('from-process-env');
    } finally {
      process.chdir(cwd);
      delete process.env.PANELSYNC_TEST_KEY;
    }
  });

  it('accepts panelsync.yaml', async () => {
    await writeFile(path.join(dir, 'panelsync.yaml'), EXAMPLE_YAML);
    const project = await loadProject({ projectDir: dir, env: EXAMPLE_ENV });
    expect(project.projectFile).toBe(path.join(dir, 'panelsync.yaml'));
  });

  it('names the directory when the project file is missing', async () => {
    const error = await loadError({ projectDir: dir, env: {} });
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toBe(
      `no panelsync.yml (or panelsync.yaml) in ${dir}; create one there, or point --project at the directory that holds it`,
    );
  });

  it('names a directory that does not exist', async () => {
    const missing = path.join(dir, 'nope');
    const error = await loadError({ projectDir: missing, env: {} });
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toContain(`the project directory ${missing} does not exist`);
  });

  it('refuses two project files', async () => {
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML);
    await writeFile(path.join(dir, 'panelsync.yaml'), EXAMPLE_YAML);
    const error = await loadError({ projectDir: dir, env: EXAMPLE_ENV });
    expect(error.message).toBe(`${dir} has both panelsync.yml and panelsync.yaml; keep one of them`);
  });

  it('reports YAML syntax errors with line:column', async () => {
    const broken = EXAMPLE_YAML.replace('    match: Email\n', '    match: Email: Address\n');
    await writeFile(path.join(dir, 'panelsync.yml'), broken);
    const line = broken.split('\n').findIndex((l) => l.includes('Email: Address')) + 1;
    const error = await loadError({ projectDir: dir, env: EXAMPLE_ENV });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues).toEqual([
      { path: `panelsync.yml:${line}:12`, message: 'YAML syntax error: Nested mappings are not allowed in compact mappings' },
    ]);
  });

  it('reports a duplicated key as a YAML error', async () => {
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML.replace('state: .panelsync/state.db\n', 'state: a\nstate: b\n'));
    const error = await loadError({ projectDir: dir, env: EXAMPLE_ENV });
    expect(error.issues).toEqual([{ path: 'panelsync.yml:3:1', message: 'YAML syntax error: Map keys must be unique' }]);
  });

  it('lists every problem in the message, one `path: message` per line, without the secret', async () => {
    const yaml = EXAMPLE_YAML.replace('mode: upsert', 'mode: insert').replace('delete_behavior: do_nothing', 'delete_behavior: delete')
      .replace("to: first_name", "to: \"${UI_API_KEY}\"");
    await writeFile(path.join(dir, 'panelsync.yml'), yaml);
    const error = await loadError({ projectDir: dir, env: EXAMPLE_ENV });
    expect(error.message.split('\n')).toEqual([
      `${path.join(dir, 'panelsync.yml')} is not valid (2 problems); fix them and run again:`,
      'syncs.customers-to-panel.delete_behavior: delete is not allowed in insert mode (allowed in insert mode: do_nothing; delete needs mode upsert)',
      expect.stringMatching(/^syncs\.customers-to-panel\.mappings\[0\]\.to: unknown participant field "\[redacted\]"/),
    ]);
  });

  it('shares keys with YAML anchors and merge keys', async () => {
    const yaml = EXAMPLE_YAML.replace('  customers-to-panel:\n', '  customers-to-panel: &base\n') +
      '  customers-again:\n    <<: *base\n    mode: update\n';
    await writeFile(path.join(dir, 'panelsync.yml'), yaml);
    const project = await loadProject({ projectDir: dir, env: EXAMPLE_ENV });
    expect(project.syncs['customers-again']).toMatchObject({ mode: 'update', match: 'Email', model: 'customers' });
  });

  it('reports an empty file', async () => {
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'sub', 'panelsync.yml'), '# nothing yet\n');
    const error = await loadError({ projectDir: path.join(dir, 'sub'), env: {} });
    expect(error.issues).toEqual([{ path: '', message: 'expected a mapping of keys to values, got null' }]);
  });
});

describe('loadProject: a cascade of YAML errors', () => {
  it('lists the first three and counts the rest', async () => {
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML.replace('to: first_name', 'to: ${UI_API_KEY}'));
    const error = await loadError({ projectDir: dir, env: EXAMPLE_ENV });
    expect(error.issues).toHaveLength(4);
    expect(error.issues[0]!.path).toMatch(/^panelsync\.yml:23:\d+$/);
    expect(error.issues.slice(0, 3).every((i) => i.message.startsWith('YAML syntax error: '))).toBe(true);
    expect(error.issues[3]).toEqual({
      path: 'panelsync.yml',
      message: expect.stringMatching(/^\d+ more YAML syntax errors after these, most likely caused by the first; fix it and run again$/),
    });
  });
});
