import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACCEPT, CONTENT_TYPE, type ListCharacteristicsResponse } from '../../src/destinations/user-interviews/wire.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('panelsync emulator', () => {
  it('prints one "listening on" line, serves the API with the given options and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['bin/panelsync.js', 'emulator', '--port', '0', '--api-key', 'cli-key', '--api-key', 'production:prod-only', '--characteristics', 'plan:text,ltv:number', '--max-batch', '2'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening on" line; stderr: ${stderr}`)), 20_000);
        child.stdout.on('data', () => {
          const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}; stderr: ${stderr}`)));
      });
      const headers = { authorization: 'Bearer cli-key', accept: ACCEPT, 'content-type': CONTENT_TYPE };
      const characteristics = (await (await fetch(`${url}/api/characteristics`, { headers })).json()) as ListCharacteristicsResponse;
      expect(characteristics.data.map((c) => [c.attributes.slug, c.attributes.type])).toEqual([
        ['plan', 'text'],
        ['ltv', 'number'],
      ]);
      const tooMany = await fetch(`${url}/api/participants/batches`, {
        method: 'PATCH',
        headers,
        body: JSON.stringify({ participants: [{ email: 'a@example.com' }, { email: 'b@example.com' }, { email: 'c@example.com' }] }),
      });
      expect(tooMany.status).toBe(422);
      // A production key on the (default) sandbox emulator is refused.
      expect((await fetch(`${url}/api/characteristics`, { headers: { ...headers, authorization: 'Bearer prod-only' } })).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([expect.stringMatching(/^listening on http:\/\/127\.0\.0\.1:\d+$/), '']);
  });

  it('exits 2 on an invalid option', async () => {
    const child = spawn(process.execPath, ['bin/panelsync.js', 'emulator', '--port', '0', '--characteristics', 'plan:money'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown type "money"');
  });
});
