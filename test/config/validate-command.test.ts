import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { EXAMPLE_YAML } from './example-project.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'panelsync-validate-'));
  process.env.UI_API_KEY = 'cli-secret-key-42';
});
afterEach(async () => {
  delete process.env.UI_API_KEY;
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `panelsync ...args` in-process and captures what it wrote. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const code = await main(['node', 'panelsync', ...args]);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

describe('panelsync validate', () => {
  it('prints the counts and exits 0 for a valid project', async () => {
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML);
    const result = await run('validate', '--project', dir);
    expect(result).toEqual({
      code: 0,
      stdout: `ok: 1 sync, 1 model, 1 source, 1 destination (${path.join(dir, 'panelsync.yml')})\n`,
      stderr: '',
    });
  });

  it('prints every issue as `path: message` on stderr and exits 2', async () => {
    const yaml = EXAMPLE_YAML.replace('source: chinook', 'source: warehouse')
      .replace('to: phone_number', 'to: phone')
      .replace('    base_url: http://127.0.0.1:4010/api\n', '');
    await writeFile(path.join(dir, 'panelsync.yml'), yaml);
    const result = await run('validate', '--project', dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`${path.join(dir, 'panelsync.yml')} is not valid (3 problems); fix them and run again:`);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/^destinations\.panel\.base_url: missing: environment sandbox needs base_url/),
      'models.customers.source: unknown source "warehouse" (known: chinook)',
      expect.stringMatching(/^syncs\.customers-to-panel\.mappings\[1\]\.to: unknown participant field "phone" /),
    ]);
    expect(result.stderr).not.toContain('cli-secret-key-42');
  });

  it('exits 2 and names the directory when there is no project file', async () => {
    const result = await run('validate', '--project', dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `no panelsync.yml (or panelsync.yaml) in ${dir}; create one there, or point --project at the directory that holds it\n`,
    );
  });

  it('exits 2 for a missing environment variable', async () => {
    delete process.env.UI_API_KEY;
    await writeFile(path.join(dir, 'panelsync.yml'), EXAMPLE_YAML);
    const result = await run('validate', '--project', dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('destinations.panel.api_key: environment variable UI_API_KEY is not set');
  });

  it('documents --project in its help', async () => {
    const result = await run('validate', '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--project <dir>');
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('the directory holding panelsync.yml (default: current directory)');
  });
});
