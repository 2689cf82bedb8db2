import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { PROJECT_JSON_SCHEMA_FILE, projectJsonSchema } from '../../src/config/project-json-schema.ts';

describe('panelsync.schema.json', () => {
  it('is up to date with the zod schema (run `npm run schema` after changing it)', async () => {
    const committed = JSON.parse(await readFile(new URL(`../../${PROJECT_JSON_SCHEMA_FILE}`, import.meta.url), 'utf8'));
    expect(committed).toEqual(projectJsonSchema());
  });

  it('describes input: keys with defaults are optional, unknown keys are refused', () => {
    const schema = projectJsonSchema() as any;
    expect(schema.required).toEqual(['version', 'sources', 'destinations', 'models', 'syncs']);
    expect(schema.additionalProperties).toBe(false);
    const sync = schema.properties.syncs.additionalProperties;
    expect(sync.required).toEqual(['model', 'destination', 'match']);
    expect(sync.properties.mode.default).toBe('upsert');
    expect(sync.properties.match.description).toMatch(/record matching/);
  });
});
