/**
 * The cross-field rules of `log_to` (the project's and each sync's): it names a defined source,
 * and one that keeps what is written (not a DuckDB `:memory:` database).
 */
import type { ConfigPathSegment } from './config-path.ts';
import { isRecord } from './zod-issues.ts';

/**
 * Problems of every `log_to` in the interpolated project file `value`; shapes are the schema's.
 * @param add receives each problem's path and message
 */
export function logToIssues(value: Record<string, unknown>, add: (at: ConfigPathSegment[], message: string) => void): void {
  const sources = isRecord(value.sources) ? value.sources : {};
  const check = (at: ConfigPathSegment[], logTo: unknown) => {
    if (!isRecord(logTo) || typeof logTo.source !== 'string') return;
    const source = sources[logTo.source];
    if (!Object.hasOwn(sources, logTo.source)) {
      const known = Object.keys(sources);
      add([...at, 'source'], `unknown source "${logTo.source}" ` + (known.length === 0 ? '(no sources are defined; add one under sources)' : `(known: ${known.join(', ')})`));
    } else if (isRecord(source) && source.type === 'duckdb' && (source.path === undefined || source.path === ':memory:')) {
      add([...at, 'source'], `source "${logTo.source}" is an in-memory DuckDB database: logs written there vanish when the run ends; give it a path to a database file`);
    }
  };
  check(['log_to'], value.log_to);
  for (const [name, sync] of Object.entries(isRecord(value.syncs) ? value.syncs : {})) {
    if (isRecord(sync)) check(['syncs', name, 'log_to'], sync.log_to);
  }
}
