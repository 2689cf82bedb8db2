/** The JSON Schema of the project file, generated from the zod schema (the one source of truth). */
import { z } from 'zod';
import { projectSchema } from './schema.ts';

/** The file `npm run schema` writes, relative to the repository root. */
export const PROJECT_JSON_SCHEMA_FILE = 'panelsync.schema.json';

/**
 * The JSON Schema (draft 2020-12) of `panelsync.yml` as users write it (`io: 'input'`: keys with
 * defaults are optional). Editors use it through `# yaml-language-server: $schema=…`. It checks
 * shapes only; cross-field rules (names that must exist, mapping targets) need `panelsync validate`.
 */
export function projectJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(projectSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
