/**
 * The one place that turns a `sources.NAME` entry of the project file into a {@link Source}.
 */
import { resolve } from 'node:path';
import type { SourceConfig } from '../config/schema.ts';
import { DuckdbSource } from './duckdb-source.ts';
import { MysqlSource } from './mysql-source.ts';
import { PostgresSource } from './postgres-source.ts';
import type { Source } from './source.ts';
import { SqliteSource } from './sqlite-source.ts';

/**
 * Creates the source for `config`. Nothing connects yet: the database opens on the first
 * `stream()` call, where connection problems throw `SourceError` (`SOURCE_CONNECT_FAILED`).
 * Relative file paths (the DuckDB or SQLite file, and files a DuckDB model reads such as
 * `'people.csv'`) are resolved against `projectDir`, the directory of the project file.
 */
export function createSource(config: SourceConfig, projectDir: string): Source {
  const baseDir = resolve(projectDir);
  switch (config.type) {
    case 'duckdb':
      return new DuckdbSource({
        path: config.path === ':memory:' ? ':memory:' : resolve(baseDir, config.path),
        fileSearchPath: baseDir,
      });
    case 'sqlite':
      return new SqliteSource({ path: resolve(baseDir, config.path) });
    case 'postgres':
      return new PostgresSource({ url: config.url });
    case 'mysql':
      return new MysqlSource({ url: config.url });
  }
}
