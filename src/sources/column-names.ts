/**
 * The column names of a model's result. A {@link Row} is keyed by column name, so two columns of
 * the same name (`SELECT p.*, o.email …`) would leave one value per row, the last, silently: every
 * source refuses such a result from the engine's column metadata, before its first row.
 */
import { SourceError } from './source.ts';

/** A name that can stand unquoted in the alias example of the message on every engine. */
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks that `columns` (the result's column names in query order, as the engine reports them,
 * 0 rows included) holds no name twice, and not `__proto__` (a row keyed by it would lose the
 * value, or take it as its prototype). Names are compared exactly, as the keys of a row are:
 * `email` and `Email` are two columns. Called once per query, never per row.
 *
 * Throws {@link SourceError} `SOURCE_DUPLICATE_COLUMNS` naming each duplicated column and how
 * many times it appears, e.g. `The model returns column "email" 2 times, but a row keeps only one
 * value per column name: give each a distinct name with AS in the model's sql, e.g.
 * SELECT p.*, o.email AS order_email.`; `SOURCE_RESERVED_COLUMN` for a column named `__proto__`.
 */
export function assertColumnNames(columns: readonly string[]): void {
  if (columns.includes('__proto__')) {
    throw new SourceError(
      'SOURCE_RESERVED_COLUMN',
      'The model returns a column named "__proto__", which a row cannot hold as a value (it is the name of a JavaScript object\'s prototype): rename it with AS in the model\'s sql, e.g. SELECT __proto__ AS proto.',
    );
  }
  if (new Set(columns).size === columns.length) return;
  const counts = new Map<string, number>();
  for (const name of columns) counts.set(name, (counts.get(name) ?? 0) + 1);
  const duplicated = [...counts].filter(([, count]) => count > 1);
  const list = duplicated.map(([name, count]) => `"${name}" ${count} times`).join(', ');
  const first = duplicated[0]![0];
  const example = PLAIN_IDENTIFIER.test(first) ? first : 'email';
  throw new SourceError(
    'SOURCE_DUPLICATE_COLUMNS',
    `The model returns ${duplicated.length === 1 ? 'column' : 'columns'} ${list}, but a row keeps only one value per column name: give each a distinct name with AS in the model's sql, e.g. SELECT p.*, o.${example} AS order_${example}.`,
  );
}
