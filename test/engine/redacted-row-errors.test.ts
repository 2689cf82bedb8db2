/**
 * A destination that echoes the API key in a row's error (issue 11, item 12): the key, raw or
 * base64, is in neither `row_outcomes`, nor `run`'s stderr or JSON summary. The destination is a
 * scripted server on loopback (the emulator never echoes a key): `GET /characteristics` answers
 * none, and each batch is refused row by row with the key in the details.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_API_KEY } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { startLocalServer, type Handler, type LocalServer } from '../http/local-server.ts';
import { createPeopleProject, runCli, type PeopleProject } from './people-project.ts';

const KEY_BASE64 = Buffer.from(TEST_API_KEY).toString('base64');

/** Characteristics: none; a batch: 422, each participant refused with the API key in its detail. */
const echoingDestination: Handler = (req, res, received) => {
  res.writeHead(req.method === 'GET' ? 200 : 422, { 'content-type': 'application/json' });
  if (req.method === 'GET') return void res.end(JSON.stringify({ data: [] }));
  const { participants } = JSON.parse(received.body) as { participants: unknown[] };
  const errors = participants.map((_, i) => ({
    status: '422',
    title: 'Invalid participant',
    detail: i === 0 ? `api key ${TEST_API_KEY} may not write this participant` : `credentials ${KEY_BASE64} refused`,
    source: { pointer: `/participants/${i}/email` },
  }));
  res.end(JSON.stringify({ errors }));
};

let server: LocalServer | undefined;
let project: PeopleProject | undefined;
afterEach(async () => {
  await project?.close();
  await server?.close();
  project = server = undefined;
});

describe('an API key echoed in a row error', () => {
  it('is redacted in row_outcomes, on stderr and in the JSON summary', async () => {
    server = await startLocalServer(echoingDestination);
    project = await createPeopleProject({ rows: 2, destination: { base_url: server.baseUrl } });
    const { stdout, stderr } = await runCli(['run', SYNC, '--project', project.dir, '--json']);
    const summary = JSON.parse(stdout) as { run_id: string; rejected: { added: number } };
    expect(summary.rejected.added).toBe(2);
    const errors = project.outcomes(summary.run_id).map((o) => o.error ?? '');
    expect(errors).toEqual(['email: api key [REDACTED] may not write this participant', 'email: credentials [REDACTED] refused']);
    for (const text of [stdout, stderr, errors.join('\n')]) {
      expect(text).not.toContain(TEST_API_KEY);
      expect(text).not.toContain(KEY_BASE64);
    }
    expect(stderr).toContain('[REDACTED]');
  });
});
