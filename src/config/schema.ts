/**
 * The project file (`panelsync.yml`) schema: the public interface users write. Keys are kept
 * forever; new ones are added, none renamed. The JSON Schema (`npm run schema`, written to
 * `panelsync.schema.json`) is generated from this same source, so every `.describe()` text below
 * is what an editor shows on hover.
 *
 * This file holds the shapes only. Rules that span several keys (names that must exist, mapping
 * targets, sandbox needs `base_url`, delete behaviour per mode) live in `validate-project.ts`.
 */
import { z } from 'zod';
import { PARTICIPANT_FIELDS } from '../destinations/user-interviews/wire.ts';

export const SOURCE_TYPES = ['duckdb', 'sqlite', 'postgres', 'mysql'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const SYNC_MODES = ['upsert', 'update', 'insert'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const DELETE_BEHAVIORS = ['do_nothing', 'clear', 'delete'] as const;
export type DeleteBehavior = (typeof DELETE_BEHAVIORS)[number];

export const ENVIRONMENTS = ['sandbox', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Names of sources, models, destinations and syncs: used in paths, URLs and CLI arguments. */
const name = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, "_", "-" and "." (not starting with "-" or ".")');

/** A model column name: any text that is not blank. */
const column = (description: string) =>
  z.string().regex(/\S/, 'must name a model column; it is blank').describe(description);

const duckdbSource = z.strictObject({
  type: z.literal('duckdb'),
  path: z
    .string()
    .min(1)
    .default(':memory:')
    .describe('A DuckDB database file, relative to the project file, or ":memory:" (the default).'),
});
const sqliteSource = z.strictObject({
  type: z.literal('sqlite'),
  path: z.string().min(1).describe('The SQLite file, relative to the project file. Opened read-only.'),
});
const postgresSource = z.strictObject({
  type: z.literal('postgres'),
  url: z
    .string()
    .min(1)
    .describe('postgres://user:password@host:port/database (write the password as "${PGPASSWORD}").'),
});
const mysqlSource = z.strictObject({
  type: z.literal('mysql'),
  url: z
    .string()
    .min(1)
    .describe('mysql://user:password@host:port/database (write the password as "${MYSQL_PASSWORD}").'),
});
export const sourceSchema = z
  .discriminatedUnion('type', [duckdbSource, sqliteSource, postgresSource, mysqlSource])
  .describe('A database connection that models query.');
export type SourceConfig = z.infer<typeof sourceSchema>;

export const destinationSchema = z
  .strictObject({
    type: z.literal('user-interviews'),
    api_key: z
      .string()
      .min(1)
      .describe('Secret: write it as "${UI_API_KEY}". Never logged, stored or shown.'),
    environment: z.enum(ENVIRONMENTS).describe('sandbox or production; sandbox needs base_url.'),
    base_url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL ending in /api' })
      .optional()
      .describe('Overrides the API base URL (ends in /api); required for sandbox.'),
    concurrency: z.number().int().min(1).max(16).default(4).describe('Batches in flight at once.'),
    batch_size: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .describe("Participants per batch; at most 100, the API's limit."),
    timeout_ms: z.number().int().min(100).default(30_000).describe('Per-request timeout, ms.'),
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(5)
      .describe('Attempts per request on transient failures (429, 5xx, resets, timeouts).'),
  })
  .describe('A User Interviews account.');
export type DestinationConfig = z.infer<typeof destinationSchema>;

export const modelSchema = z
  .strictObject({
    source: name.describe('The name of a source defined under sources.'),
    primary_key: column('The model column whose value identifies a row between runs (unique, non-null).'),
    sql: z.string().min(1).describe('The query whose rows are synced.'),
  })
  .describe('A SQL query on a source, with a primary key column.');
export type ModelConfig = z.infer<typeof modelSchema>;

const mappingTarget = z
  .string()
  .min(1)
  .describe(`The participant field written: ${PARTICIPANT_FIELDS.join(', ')}, or characteristics.<slug>.`);
const fromMapping = z.strictObject({ from: column('The model column whose value is written.'), to: mappingTarget });
const staticMapping = z.strictObject({
  static: z
    .union([z.string(), z.number(), z.boolean(), z.null()])
    .describe('A fixed value written for every row.'),
  to: mappingTarget,
});
const templateMapping = z.strictObject({
  template: z.string().describe('A Liquid template rendered with `row` (the model row): "{{ row.City }}".'),
  to: mappingTarget,
});
/** Exactly one of `from`, `static` or `template`, and `to`. */
export const mappingSchema = z
  .union([fromMapping, staticMapping, templateMapping])
  .describe('Writes one participant field: exactly one of from, static or template, and to.');
export type MappingConfig = z.infer<typeof mappingSchema>;

export const syncSchema = z
  .strictObject({
    model: name.describe('The name of a model defined under models.'),
    destination: name.describe('The name of a destination defined under destinations.'),
    mode: z
      .enum(SYNC_MODES)
      .default('upsert')
      .describe('insert: only create; update: only existing participants; upsert: both.'),
    match: column("The model column matched to the participant's email (record matching)."),
    mappings: z.array(mappingSchema).default([]).describe('The participant fields written, besides email.'),
    delete_behavior: z
      .enum(DELETE_BEHAVIORS)
      .default('do_nothing')
      .describe('For rows that left the model: do_nothing, clear (upsert, update) or delete (upsert).'),
    max_delete_share: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      .describe('Share (0..1] of synced rows a run may clear or delete without --allow-mass-delete.'),
    split_retries: z
      .boolean()
      .default(true)
      .describe('Split a batch rejected as a whole until each row is accepted or rejected on its own.'),
  })
  .describe('Keeps a destination in step with a model.');
export type SyncConfig = z.infer<typeof syncSchema>;

export const projectSchema = z
  .strictObject({
    version: z.literal(1).describe('The project file format version: 1.'),
    state: z
      .string()
      .min(1)
      .default('.panelsync/state.db')
      .describe('The state database (SQLite file), relative to the project file.'),
    sources: z.record(name, sourceSchema).describe('Database connections, by name.'),
    destinations: z.record(name, destinationSchema).describe('User Interviews accounts, by name.'),
    models: z.record(name, modelSchema).describe('SQL models, by name.'),
    syncs: z.record(name, syncSchema).describe('Syncs from a model to a destination, by name.'),
  })
  .meta({ title: 'panelsync project file (panelsync.yml)' });
/** A project file after defaults, before cross-field rules. */
export type ProjectConfig = z.infer<typeof projectSchema>;

/** Where a mapping writes: a default participant field or a characteristic slug. */
export type MappingTarget =
  | { kind: 'field'; field: (typeof PARTICIPANT_FIELDS)[number] }
  | { kind: 'characteristic'; slug: string };
