/**
 * Liquid filters `sha256` and `md5` (issue 13): a characteristic carries the hex hash of a value
 * instead of the value, end to end through the emulator; an unknown filter is refused by `validate`.
 */
import { describe, expect, it } from 'vitest';
import { validateProject } from '../../src/config/validate-project.ts';
import { SYNC, runProject } from '../helpers/run-helpers.ts';
import { exampleRaw } from '../config/example-project.ts';
import { participantByEmail, peopleProjectPerTest } from './people-project.ts';

const start = peopleProjectPerTest();

describe('hash filters', () => {
  it('writes the sha256 and md5 (lower-case hex of the UTF-8 text) of model values', async () => {
    const p = await start({
      rows: 2,
      sync: {
        mappings: [
          { template: '{{ row.Email | sha256 }}', to: 'characteristics.source' },
          { template: '{{ row.Email | md5 }}', to: 'characteristics.location' },
          // A number is hashed as Liquid prints it; a missing value stays missing.
          { template: '{{ row.CustomerId | times: 21 | sha256 }}{{ row.Missing | sha256 }}', to: 'company' },
        ],
      },
    });
    p.writeModel(`SELECT id AS CustomerId, email AS Email, NULL AS Missing FROM people ORDER BY id`);
    const { summary } = await runProject(p);
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('success');
    const first = await participantByEmail(p, 'user1@example.com');
    // Reference digests from coreutils: printf 'user1@example.com' | sha256sum / md5sum; printf 42 | sha256sum
    expect(first?.characteristics.source).toBe('b36a83701f1c3191e19722d6f90274bc1b5501fe69ebf33313e440fe4b0fe210');
    expect(first?.characteristics.location).toBe('111d68d06e2d317b5a59c2c6c5bad808');
    expect((await participantByEmail(p, 'user2@example.com'))?.company).toBe('73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049');
  });

  it('validate refuses a filter Liquid does not know, at the template', () => {
    const raw = exampleRaw();
    raw.syncs[SYNC].mappings[4].template = '{{ row.Email | sha257 }}';
    const { issues } = validateProject(raw, { UI_API_KEY: 'k' });
    expect(issues).toEqual([
      { path: `syncs.${SYNC}.mappings[4].template`, message: expect.stringMatching(/^the Liquid template does not parse: undefined filter: sha257/) },
    ]);
  });
});
