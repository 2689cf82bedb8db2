/**
 * `npm run schema`: writes panelsync.schema.json (repository root) from the zod schema in
 * src/config/schema.ts. Run it after changing the schema and commit the result.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_JSON_SCHEMA_FILE, projectJsonSchema } from '../src/config/project-json-schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, PROJECT_JSON_SCHEMA_FILE);
await writeFile(file, `${JSON.stringify(projectJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
