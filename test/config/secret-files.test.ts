/**
 * Secrets from files (issue 13): `${file:/path}` and `VAR_FILE` when `VAR` is unset, read by the
 * real loader from real files; a run authenticates with a key read that way.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadProject } from '../../src/config/load-project.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import { TEST_API_KEY } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { createPeopleProject } from '../engine/people-project.ts';
import { EXAMPLE_YAML } from './example-project.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'panelsync-secret-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadError(env: Record<string, string>): Promise<ConfigError> {
  const error = await loadProject({ projectDir: dir, env }).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('secrets from files', () => {
  it('${file:/path} reads the file, trailing newlines trimmed, and its contents are redacted everywhere', async () => {
    await writeFile(path.join(dir, 'ui_api_key'), 'key-from-file-81c2\r\n\n');
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML.replace('"${UI_API_KEY}"', `"\${file:${path.join(dir, 'ui_api_key')}}"`));
    const project = await loadProject({ projectDir: dir, env: {} });
    expect(project.destinations.panel!.api_key).toBe('key-from-file-81c2');
    expect(project.secrets).toContain('key-from-file-81c2');
  });

  it('VAR_FILE is read when VAR is unset (a relative path from the project directory); VAR wins when set', async () => {
    await mkdir(path.join(dir, 'secrets'));
    await writeFile(path.join(dir, 'secrets', 'ui'), 'key-from-var-file\n');
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML);
    const fromFile = await loadProject({ projectDir: dir, env: { UI_API_KEY_FILE: 'secrets/ui' } });
    expect(fromFile.destinations.panel!.api_key).toBe('key-from-var-file');
    const fromVar = await loadProject({ projectDir: dir, env: { UI_API_KEY: 'key-from-var', UI_API_KEY_FILE: 'secrets/ui' } });
    expect(fromVar.destinations.panel!.api_key).toBe('key-from-var');
  });

  it('a missing or unreadable file is a configuration error naming the path, never the contents', async () => {
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML);
    const missing = path.join(dir, 'nope', 'ui_api_key');
    expect((await loadError({ UI_API_KEY_FILE: missing })).issues).toEqual([
      {
        path: 'destinations.panel.api_key',
        message: `cannot read the secret file ${missing} (named by UI_API_KEY_FILE, read because UI_API_KEY is not set): no such file; create it, or correct the path`,
      },
    ]);
    expect((await loadError({ UI_API_KEY_FILE: dir })).issues[0]!.message).toBe(
      `cannot read the secret file ${dir} (named by UI_API_KEY_FILE, read because UI_API_KEY is not set): it is a directory; name the file inside it`,
    );
    // A file read but its value refused (an unknown source name is quoted in the message): never a byte of it.
    await writeFile(path.join(dir, 'source'), 's3cr3t-value\n');
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML.replace('source: chinook', 'source: "${file:source}"'));
    const refused = await loadError({ UI_API_KEY: 'k' });
    expect(refused.issues).toEqual([{ path: 'models.customers.source', message: 'unknown source "[redacted]" (known: chinook)' }]);
  });

  it('a run authenticates with an API key read from UI_API_KEY_FILE', async () => {
    const people = await createPeopleProject({ rows: 3 });
    try {
      await writeFile(path.join(dir, 'key'), `${TEST_API_KEY}\n`);
      const project = await loadProject({ projectDir: people.dir, env: { UI_API_KEY_FILE: path.join(dir, 'key') } });
      const summary = await runSync({ project, sync: SYNC });
      expect(summary.status).toBe('success');
      expect(summary.succeeded.added).toBe(3);
      expect((await people.participants()).length).toBe(3);
    } finally {
      await people.close();
    }
  });
});
