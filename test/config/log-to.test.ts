/** `log_to` in the project file (issue 13): where it may point, and what `run` resolves for it. */
import { describe, expect, it } from 'vitest';
import { validateProject } from '../../src/config/validate-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { exampleRaw } from './example-project.ts';

const ENV = { UI_API_KEY: 'k' };

describe('log_to', () => {
  it('must name a source that keeps what is written, with a lower-case schema', () => {
    const raw = exampleRaw();
    raw.sources.scratch = { type: 'duckdb' };
    raw.log_to = { source: 'warehouse', schema: 'Ops' };
    raw.syncs[SYNC].log_to = { source: 'scratch' };
    expect(validateProject(raw, ENV).issues).toEqual([
      { path: 'log_to.schema', message: 'use lower-case letters, digits and "_" (not starting with a digit), at most 63 characters' },
      { path: 'log_to.source', message: 'unknown source "warehouse" (known: chinook, scratch)' },
      { path: `syncs.${SYNC}.log_to.source`, message: 'source "scratch" is an in-memory DuckDB database: logs written there vanish when the run ends; give it a path to a database file' },
    ]);
  });

  it('defaults the schema to panelsync; a sync may turn logging off with null', () => {
    const raw = exampleRaw();
    raw.log_to = { source: 'chinook' };
    raw.log_retention_days = 90;
    raw.syncs[SYNC].log_to = null;
    const { project } = validateProject(raw, ENV);
    expect(project?.log_to).toEqual({ source: 'chinook', schema: 'panelsync' });
    expect(project?.syncs[SYNC]!.log_to).toBeNull();
  });

  it('`run` needs the variables of the log source even when no model reads it', () => {
    const raw = exampleRaw();
    raw.sources.warehouse = { type: 'postgres', url: 'postgres://u:${WAREHOUSE_PASSWORD}@db/x' };
    raw.sources.other = { type: 'postgres', url: 'postgres://u:${OTHER_PASSWORD}@db/x' };
    raw.log_to = { source: 'warehouse' };
    const { issues } = validateProject(raw, ENV, { use: { sync: SYNC, alerts: false } });
    expect(issues.map((i) => i.path)).toEqual(['sources.warehouse.url']);
  });
});
