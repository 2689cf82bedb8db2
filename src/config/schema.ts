/**
 * The project file (`panelsync.yml`) schema: the public interface users write. Keys are kept
 * forever; new ones are added, none renamed. The JSON Schema (`npm run schema`) is generated from
 * this same source.
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
const name = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, "_", "-" and "."');

const duckdbSource = z.strictObject({
  type: z.literal('duckdb'),
  /** A DuckDB database file relative to the project file, or `:memory:` (the default). */
  path: z.string().min(1).default(':memory:'),
});
const sqliteSource = z.strictObject({
  type: z.literal('sqlite'),
  /** The SQLite file, relative to the project file. Opened read-only. */
  path: z.string().min(1),
});
const postgresSource = z.strictObject({
  type: z.literal('postgres'),
  /** `postgres://user:password@host:port/database` */
  url: z.string().min(1),
});
const mysqlSource = z.strictObject({
  type: z.literal('mysql'),
  /** `mysql://user:password@host:port/database` */
  url: z.string().min(1),
});
export const sourceSchema = z.discriminatedUnion('type', [duckdbSource, sqliteSource, postgresSource, mysqlSource]);
export type SourceConfig = z.infer<typeof sourceSchema>;

export const destinationSchema = z.strictObject({
  type: z.literal('user-interviews'),
  /** Secret: write it as `"${UI_API_KEY}"`. Never logged, stored or shown. */
  api_key: z.string().min(1),
  environment: z.enum(ENVIRONMENTS),
  /** Overrides the API base URL (ends in `/api`); required for sandbox. */
  base_url: z.url().optional(),
  /** Batches in flight at once. */
  concurrency: z.number().int().min(1).max(16).default(4),
  /** Participants per batch; at most 100, the API's limit. */
  batch_size: z.number().int().min(1).max(100).default(100),
  /** Per-request timeout, ms. */
  timeout_ms: z.number().int().min(100).default(30_000),
  /** Attempts per request on transient failures (429, 5xx, resets, timeouts). */
  max_attempts: z.number().int().min(1).max(20).default(5),
});
export type DestinationConfig = z.infer<typeof destinationSchema>;

export const modelSchema = z.strictObject({
  source: name,
  /** The model column whose value identifies a row between runs (unique, non-null). */
  primary_key: z.string().min(1),
  sql: z.string().min(1),
});
export type ModelConfig = z.infer<typeof modelSchema>;

/** `first_name` … `country`, or `characteristics.<slug>`. */
const mappingTarget = z.string().min(1);
const fromMapping = z.strictObject({ from: z.string().min(1), to: mappingTarget });
const staticMapping = z.strictObject({
  static: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  to: mappingTarget,
});
/** A Liquid template rendered with `row` (the model row). */
const templateMapping = z.strictObject({ template: z.string(), to: mappingTarget });
export const mappingSchema = z.union([fromMapping, staticMapping, templateMapping]);
export type MappingConfig = z.infer<typeof mappingSchema>;

export const syncSchema = z.strictObject({
  model: name,
  destination: name,
  mode: z.enum(SYNC_MODES).default('upsert'),
  /** The model column matched to the participant's email (record matching). */
  match: z.string().min(1),
  mappings: z.array(mappingSchema).default([]),
  delete_behavior: z.enum(DELETE_BEHAVIORS).default('do_nothing'),
  /** Share (0..1] of synced rows a run may clear or delete without `--allow-mass-delete`. */
  max_delete_share: z.number().gt(0).max(1).default(0.5),
  split_retries: z.boolean().default(true),
});
export type SyncConfig = z.infer<typeof syncSchema>;

export const projectSchema = z.strictObject({
  version: z.literal(1),
  /** The state database (SQLite file), relative to the project file. */
  state: z.string().min(1).default('.panelsync/state.db'),
  sources: z.record(name, sourceSchema),
  destinations: z.record(name, destinationSchema),
  models: z.record(name, modelSchema),
  syncs: z.record(name, syncSchema),
});
/** A project file after defaults, before cross-field rules. */
export type ProjectConfig = z.infer<typeof projectSchema>;

/** Where a mapping writes: a default participant field or a characteristic slug. */
export type MappingTarget =
  | { kind: 'field'; field: (typeof PARTICIPANT_FIELDS)[number] }
  | { kind: 'characteristic'; slug: string };
