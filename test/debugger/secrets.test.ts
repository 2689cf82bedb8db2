/**
 * The API key and the Authorization header never reach the state database (every byte of the
 * file and its WAL, after real runs: accepted, split, retried and refused) nor what the history
 * commands print or export.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebugJson } from '../../src/cli/debug-command.ts';
import { loadProject } from '../../src/config/load-project.ts';
import { runSync } from '../../src/engine/run-sync.ts';
import { createChinookProject, generatedModel, NAME_MAPPINGS, TEST_API_KEY, type ChinookProject } from '../helpers/chinook-project.ts';
import { runProject, SYNC } from '../helpers/run-helpers.ts';
import { onlyJson, panelsync } from './cli-capture.ts';

const WRONG_KEY = 'wrong-key-b41f07c2';

describe('secrets in run history', () => {
  let project: ChinookProject;
  let statePath: string;
  const runIds: string[] = [];
  const exportFile = join(tmpdir(), `panelsync-secrets-${process.pid}.jsonl`);

  beforeAll(async () => {
    project = await createChinookProject({ sql: generatedModel(40), sync: { mappings: NAME_MAPPINGS } });
    statePath = (await project.load()).statePath;
    await project.knobs({ reject_email_pattern: '^user7@', fail_next: [{ status: 500 }] });
    runIds.push((await runProject(project)).summary.run_id);
    const wrong = await runSync({ project: await loadProject({ projectDir: project.dir, env: { UI_API_KEY: WRONG_KEY } }), sync: SYNC });
    expect(wrong.status).toBe('failed');
    runIds.push(wrong.run_id);
    runIds.push((await runProject(project)).summary.run_id);
  });

  afterAll(async () => {
    rmSync(exportFile, { force: true });
    await project?.close();
  });

  it('no byte of the state database or its WAL holds the API key or an Authorization header', () => {
    // Every run closed its store (checkpointing the WAL); whatever -wal / -shm file is left is read too.
    const files = readdirSync(dirname(statePath)).map((name) => join(dirname(statePath), name));
    expect(files).toContain(statePath);
    const bytes = Buffer.concat(files.map((file) => readFileSync(file)));
    // The search does see what the debugger stored: the rejected row's email and the API's error.
    expect(bytes.includes('user7@example.com')).toBe(true);
    expect(bytes.includes('email is not deliverable')).toBe(true);
    // (The 401 body the API sends does say `send "Authorization: Bearer <key>"`: a hint, no key.)
    for (const secret of [TEST_API_KEY, WRONG_KEY, `Bearer ${TEST_API_KEY}`, `Bearer ${WRONG_KEY}`]) {
      expect(bytes.includes(secret), `"${secret}" found in the state database`).toBe(false);
    }
  });

  it('runs, debug (tree, --rejected, every --call), rows and the export never print the key', async () => {
    const outputs: string[] = [];
    const cli = async (...args: string[]) => {
      const result = await panelsync(project.dir, args, { UI_API_KEY: TEST_API_KEY });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      outputs.push(result.stdout, result.stderr);
      return result;
    };
    await cli('runs');
    await cli('runs', '--json');
    await cli('rows', SYNC, '--rejected');
    await cli('rows', SYNC, '--rejected', '--json');
    for (const runId of runIds) {
      await cli('debug', runId);
      await cli('debug', runId, '--rejected');
      const { calls } = onlyJson<DebugJson>(await cli('debug', runId, '--json'));
      for (const call of calls!) {
        await cli('debug', runId, '--call', String(call.seq));
        await cli('debug', runId, '--call', String(call.seq), '--json');
      }
      await cli('debug', runId, '--export', exportFile);
      outputs.push(readFileSync(exportFile, 'utf8'));
    }
    const all = outputs.join('\n');
    expect(all).toContain('email is not deliverable');
    expect(all).toContain('HTTP 401');
    for (const secret of [TEST_API_KEY, WRONG_KEY]) expect(all).not.toContain(secret);
  });
});
