/**
 * DuckDB, the embedded default source: a DuckDB database file or `:memory:`, whose models can read
 * CSV, Parquet and JSON files through DuckDB's own readers (`SELECT * FROM 'people.csv'`,
 * `read_parquet('data/*.parquet')`), with relative paths resolved against the project directory.
 */
import {
  arrayFromArrayValue,
  arrayFromListValue,
  createDuckDBValueConverter,
  DuckDBBlobValue,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBValueConverter,
  fromVariantValue,
  objectArrayFromMapValue,
  objectFromStructValue,
  objectFromUnionValue,
} from '@duckdb/node-api';
import { chunkRows, chunkSizeOf } from './chunk-rows.ts';
import { assertColumnNames } from './column-names.ts';
import { base64FromBytes, floatValue, integerValue, isoFromEpochMicros, parseJsonText } from './normalize-value.ts';
import { type JsonValue, type Row, type Source, SourceError, type StreamOptions } from './source.ts';

export interface DuckdbSourceOptions {
  /** Absolute path of the DuckDB database file (opened read-only), or `:memory:`. */
  path: string;
  /**
   * Absolute directory that relative file paths in the model's SQL are resolved against
   * (DuckDB's `file_search_path`); usually the project directory.
   */
  fileSearchPath: string;
}

const text = (value: DuckDBValue): string => String(value);

function timestampValue(value: DuckDBValue): string {
  let micros: bigint;
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) micros = value.micros;
  else if (value instanceof DuckDBTimestampSecondsValue) micros = value.seconds * 1_000_000n;
  else if (value instanceof DuckDBTimestampMillisecondsValue) micros = value.millis * 1000n;
  else if (value instanceof DuckDBTimestampNanosecondsValue) micros = value.nanos / 1000n;
  else return String(value);
  // `infinity` and instants beyond JavaScript's range keep DuckDB's text.
  return isoFromEpochMicros(micros) ?? String(value);
}

/** DuckDB value -> {@link JsonValue}, by column type (see the conventions in `source.ts`). */
const toJson: DuckDBValueConverter<JsonValue> = createDuckDBValueConverter<JsonValue>({
  [DuckDBTypeId.INVALID]: undefined,
  [DuckDBTypeId.BOOLEAN]: (value) => Boolean(value),
  [DuckDBTypeId.TINYINT]: (value) => Number(value),
  [DuckDBTypeId.SMALLINT]: (value) => Number(value),
  [DuckDBTypeId.INTEGER]: (value) => Number(value),
  [DuckDBTypeId.UTINYINT]: (value) => Number(value),
  [DuckDBTypeId.USMALLINT]: (value) => Number(value),
  [DuckDBTypeId.UINTEGER]: (value) => Number(value),
  [DuckDBTypeId.BIGINT]: (value) => integerValue(value as bigint),
  [DuckDBTypeId.UBIGINT]: (value) => integerValue(value as bigint),
  [DuckDBTypeId.HUGEINT]: (value) => integerValue(value as bigint),
  [DuckDBTypeId.UHUGEINT]: (value) => integerValue(value as bigint),
  [DuckDBTypeId.BIGNUM]: (value) => integerValue(String(value)),
  [DuckDBTypeId.FLOAT]: (value) => floatValue(value as number),
  [DuckDBTypeId.DOUBLE]: (value) => floatValue(value as number),
  // DuckDBDecimalValue prints the exact decimal with the column's scale ("12.50").
  [DuckDBTypeId.DECIMAL]: text,
  [DuckDBTypeId.DATE]: text,
  [DuckDBTypeId.TIME]: text,
  [DuckDBTypeId.TIME_TZ]: text,
  [DuckDBTypeId.TIME_NS]: text,
  [DuckDBTypeId.TIMESTAMP]: timestampValue,
  [DuckDBTypeId.TIMESTAMP_S]: timestampValue,
  [DuckDBTypeId.TIMESTAMP_MS]: timestampValue,
  [DuckDBTypeId.TIMESTAMP_NS]: timestampValue,
  [DuckDBTypeId.TIMESTAMP_TZ]: timestampValue,
  [DuckDBTypeId.INTERVAL]: text,
  // JSON is a VARCHAR with the alias "JSON".
  [DuckDBTypeId.VARCHAR]: (value, type) => (type.alias === 'JSON' ? parseJsonText(String(value)) : String(value)),
  [DuckDBTypeId.BLOB]: (value) => (value instanceof DuckDBBlobValue ? base64FromBytes(value.bytes) : String(value)),
  [DuckDBTypeId.UUID]: text,
  [DuckDBTypeId.ENUM]: text,
  [DuckDBTypeId.BIT]: text,
  [DuckDBTypeId.GEOMETRY]: text,
  [DuckDBTypeId.LIST]: arrayFromListValue,
  [DuckDBTypeId.ARRAY]: arrayFromArrayValue,
  [DuckDBTypeId.STRUCT]: objectFromStructValue,
  [DuckDBTypeId.MAP]: objectArrayFromMapValue,
  [DuckDBTypeId.UNION]: objectFromUnionValue,
  [DuckDBTypeId.VARIANT]: fromVariantValue,
  [DuckDBTypeId.SQLNULL]: () => null,
  [DuckDBTypeId.ANY]: undefined,
  [DuckDBTypeId.STRING_LITERAL]: text,
  [DuckDBTypeId.INTEGER_LITERAL]: (value) => integerValue(String(value)),
});

/**
 * A DuckDB source. The database opens on the first {@link DuckdbSource.stream} call; each stream
 * runs on its own connection with a streaming result, pulling one DuckDB chunk (2,048 rows) at a
 * time, and closes that connection when the iteration ends or stops early.
 *
 * Type notes (beyond `source.ts`): `HUGEINT` follows the integer rule; `INTERVAL`, `TIME` and
 * `ENUM` are DuckDB's text; `LIST`/`ARRAY` become arrays, `STRUCT` objects, `MAP` an array of
 * `{ key, value }`.
 */
export class DuckdbSource implements Source {
  readonly type = 'duckdb' as const;
  readonly #options: DuckdbSourceOptions;
  #instance: Promise<DuckDBInstance> | undefined;
  #closed = false;

  constructor(options: DuckdbSourceOptions) {
    this.#options = options;
  }

  /**
   * See {@link Source.stream}. Throws {@link SourceError} `SOURCE_CONNECT_FAILED` when the
   * database file cannot be opened, `SOURCE_QUERY_FAILED` when DuckDB rejects or fails the query,
   * `SOURCE_DUPLICATE_COLUMNS` (before the first chunk) when two result columns share a name.
   */
  async *stream(sql: string, options?: StreamOptions): AsyncGenerator<Row[], void, undefined> {
    const chunkSize = chunkSizeOf(options);
    const connection = await this.#connect();
    try {
      yield* chunkRows(this.#rows(connection, sql), chunkSize);
    } finally {
      connection.closeSync();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const instance = this.#instance;
    this.#instance = undefined;
    if (instance) {
      await instance.then(
        (db) => db.closeSync(),
        () => undefined,
      );
    }
  }

  async *#rows(connection: DuckDBConnection, sql: string): AsyncGenerator<Row[], void, undefined> {
    let result;
    try {
      result = await connection.stream(sql);
    } catch (error) {
      throw queryFailed(error);
    }
    const names = result.columnNames();
    assertColumnNames(names);
    // The result's column types carry aliases (JSON is VARCHAR aliased "JSON"); vector types do not.
    const types = result.columnTypes();
    for (;;) {
      let chunk;
      try {
        chunk = await result.fetchChunk();
      } catch (error) {
        throw queryFailed(error);
      }
      if (!chunk || chunk.rowCount === 0) return;
      const columns = types.map((type, i) => chunk.getColumnValues(i).map((value) => toJson(value, type, toJson)));
      const rows: Row[] = new Array<Row>(chunk.rowCount);
      for (let r = 0; r < chunk.rowCount; r++) {
        const row: Row = {};
        for (let c = 0; c < names.length; c++) row[names[c]!] = columns[c]![r] ?? null;
        rows[r] = row;
      }
      yield rows;
    }
  }

  async #connect(): Promise<DuckDBConnection> {
    if (this.#closed) throw new SourceError('SOURCE_CONNECT_FAILED', 'The DuckDB source is closed; create a new one.');
    const { path, fileSearchPath } = this.#options;
    this.#instance ??= DuckDBInstance.create(path, {
      ...(path === ':memory:' ? {} : { access_mode: 'READ_ONLY' }),
      file_search_path: fileSearchPath,
    });
    try {
      const instance = await this.#instance;
      return await instance.connect();
    } catch (error) {
      this.#instance = undefined;
      throw new SourceError(
        'SOURCE_CONNECT_FAILED',
        `Cannot open the DuckDB database ${path}: ${messageOf(error)}. Check the source's path (relative to the project file) and that no other process has the file open for writing.`,
        { cause: error },
      );
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function queryFailed(error: unknown): SourceError {
  return new SourceError(
    'SOURCE_QUERY_FAILED',
    `DuckDB could not run the model's SQL: ${messageOf(error)}. Fix the model's sql.`,
    { cause: error },
  );
}
