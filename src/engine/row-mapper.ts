/**
 * Turns one model row into what a run compares and sends: the primary key, the email (record
 * matching) and the mapped participant fields, each cast to its destination type. A row that
 * cannot be sent gets the reason instead; it is counted invalid and never reaches the API.
 */
import type { Liquid, Template } from 'liquidjs';
import type { MappingConfig } from '../config/schema.ts';
import {
  castCharacteristic,
  castEmail,
  castFieldValue,
  parseFieldTarget,
  type CastResult,
  type FieldTarget,
} from '../destinations/user-interviews/fields.ts';
import { MAX_PARTICIPANT_JSON_BYTES, type CharacteristicType, type CharacteristicValue } from '../destinations/user-interviews/wire.ts';
import type { JsonValue, Row } from '../sources/source.ts';
import { decodedLength, decodePayload, VALUE_SEPARATOR, type PayloadLayout } from '../state/payload-codec.ts';
import { createTemplateEngine } from './template-engine.ts';

/**
 * The mapped values of one row, without the email: default fields at the top level, custom fields
 * under `characteristics`. Serialized with sorted keys, it is what the snapshot stores and the
 * diff compares.
 */
export interface MappedFields {
  [field: string]: string | null | Record<string, CharacteristicValue>;
}

/**
 * One mapped row, or the reason it is invalid. `pk` is the primary key as text; `null` when
 * missing. `values` are the {@link MappedFields} encoded for the mapper's
 * {@link RowMapper.layout} (see ../state/payload-codec.ts): with it, their canonical JSON (keys
 * sorted), what the snapshot stores and the diff compares.
 */
export type MappedRow =
  | { ok: true; pk: string; email: string; values: string }
  | { ok: false; pk: string | null; reason: string };

interface CompiledMapping {
  target: FieldTarget;
  value: (row: Row) => JsonValue;
  /** Casts the value to the target's type (a field's text, a characteristic's type). */
  cast: (value: JsonValue) => CastResult<CharacteristicValue>;
  /** `syncs.NAME.mappings[i]`, for error messages. */
  path: string;
  /** The model columns the mapping reads: a `from` column, or the `row.X` a template names. */
  columns: string[];
}

/**
 * What a {@link RowMapper} is built from, as plain data (structured-cloneable): a stage worker
 * thread builds the same mapper from it (see ./stage-rows.ts).
 */
export interface RowMapperSpec {
  primaryKey: string;
  match: string;
  mappings: MappingConfig[];
  /** slug -> type, from `GET /characteristics`. */
  characteristicTypes: Array<[string, CharacteristicType]>;
  syncName: string;
}

export const ROW_MAPPER_ERROR_CODES = ['MAPPING_INVALID'] as const;

/** A mapping cannot be applied: a column is missing from the model, or a characteristic is unknown. */
export class RowMapperError extends Error {
  readonly code = 'MAPPING_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RowMapperError';
  }
}

/**
 * Compiles a sync's mappings once; `map(row)` is then called for every row of the model.
 *
 * @param characteristicTypes slug -> type, from `GET /characteristics`
 * @throws RowMapperError when a mapping names a characteristic the destination does not have
 */
export class RowMapper {
  private readonly mappings: CompiledMapping[];
  /**
   * The mappings' indexes in payload order: fields and `characteristics` sorted by name,
   * characteristics by slug within it (the order of canonical JSON), so the values are written
   * directly, without an object or a sort per row.
   */
  private readonly order: number[];
  /** The canonical JSON around the values of every row this mapper maps (see ../state/payload-codec.ts). */
  readonly layout: PayloadLayout;
  /** The length of {@link layout}'s text, UTF-16 units. */
  readonly layoutLength: number;
  /** What this mapper was built from (see {@link RowMapper.fromSpec}). */
  readonly spec: RowMapperSpec;
  /**
   * Every model column {@link map} reads: the primary key, the match column, `from` columns and
   * the columns templates name (templates can read no other). A row holding only these maps the same.
   */
  readonly columns: readonly string[];
  private checkedColumns = false;

  /** The mapper `spec` describes; the same mapping, row for row, as the one it was taken from. */
  static fromSpec(spec: RowMapperSpec): RowMapper {
    return new RowMapper(spec.primaryKey, spec.match, spec.mappings, new Map(spec.characteristicTypes), spec.syncName);
  }

  constructor(
    private readonly primaryKey: string,
    private readonly match: string,
    mappings: MappingConfig[],
    characteristicTypes: ReadonlyMap<string, CharacteristicType>,
    syncName = 'sync',
  ) {
    this.spec = { primaryKey, match, mappings, characteristicTypes: [...characteristicTypes], syncName };
    const liquid = createTemplateEngine();
    this.mappings = mappings.map((mapping, index) => {
      const parsed = parseFieldTarget(mapping.to);
      const path = `syncs.${syncName}.mappings[${index}]`;
      if ('error' in parsed) throw new RowMapperError(`${path}.to: ${parsed.error}`);
      const { target } = parsed;
      if (target.kind === 'characteristic' && !characteristicTypes.has(target.slug)) {
        const known = [...characteristicTypes.keys()].sort().join(', ') || 'none';
        throw new RowMapperError(`${path}.to: unknown characteristic "${target.slug}" (known: ${known})`);
      }
      const cast = castFor(target, characteristicTypes);
      if ('from' in mapping) {
        const column = mapping.from;
        return { target, cast, value: (row: Row) => row[column] ?? null, path: `${path}.from`, columns: [column] };
      }
      if ('static' in mapping) {
        const value = mapping.static;
        return { target, cast, value: () => value, path: `${path}.static`, columns: [] };
      }
      const template: Template[] = liquid.parse(mapping.template);
      return {
        target,
        cast,
        value: (row: Row) => liquid.renderSync(template, { row }) as string,
        path: `${path}.template`,
        columns: templateColumns(liquid, template, `${path}.template`),
      };
    });
    this.columns = [...new Set([primaryKey, match, ...this.mappings.flatMap((m) => m.columns)])];
    const { order, closing } = payloadLayout(this.mappings);
    this.order = order.map((o) => o.index);
    this.layout = [...order.map((o) => o.prefix), closing];
    this.layoutLength = this.layout.join('').length;
  }

  /** Maps one row. Never throws for a bad value: the row comes back invalid with its reason. */
  map(row: Row): MappedRow {
    if (!this.checkedColumns) this.assertColumns(row);
    const pk = primaryKeyText(row[this.primaryKey] ?? null);
    if (pk === null) return { ok: false, pk: null, reason: `primary key ${this.primaryKey} is null or blank` };
    const email = castEmail(row[this.match] ?? null);
    if (!email.ok) return { ok: false, pk, reason: email.reason };
    // The mappings are cast in the order they are written, so the first bad one gives the reason.
    const values: CharacteristicValue[] = new Array(this.mappings.length);
    for (let i = 0; i < this.mappings.length; i++) {
      const mapping = this.mappings[i]!;
      const cast = mapping.cast(mapping.value(row));
      if (!cast.ok) return { ok: false, pk, reason: cast.reason };
      values[i] = cast.value;
    }
    const { order } = this;
    let text = '';
    for (let i = 0; i < order.length; i++) text += (i === 0 ? '' : VALUE_SEPARATOR) + jsonText(values[order[i]!]!);
    return { ok: true, pk, email: email.value, values: text };
  }

  /**
   * Checks the model's columns against the mappings, from one of its rows (the columns are known
   * only from a row); {@link map} does so at its first row.
   * @throws RowMapperError naming every mapped column the model does not return
   */
  assertColumns(row: Row): void {
    this.checkedColumns = true;
    const columns = Object.keys(row);
    const missing = [
      { path: 'primary_key', column: this.primaryKey },
      { path: 'match', column: this.match },
      ...this.mappings.flatMap((m) => m.columns.map((column) => ({ path: m.path, column }))),
    ].filter((c) => !(c.column in row));
    if (missing.length > 0) {
      const list = missing.map((c) => `${c.path}: column "${c.column}" is not in the model`).join('; ');
      throw new RowMapperError(`${list} (the model returns: ${columns.join(', ')})`);
    }
  }
}

/** Text with no character JSON escapes: no `"`, `\\`, control character or surrogate. */
const PLAIN_TEXT = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/**
 * `JSON.stringify(value)`, exactly, for a mapped value: plain text is quoted as it is, finite
 * numbers and booleans are their text; anything else goes to `JSON.stringify`. About three times
 * as fast for the usual row (a call of the runtime's serializer costs more than a short value).
 */
export function jsonText(value: CharacteristicValue): string {
  switch (typeof value) {
    case 'string':
      return PLAIN_TEXT.test(value) ? `"${value}"` : JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return JSON.stringify(value);
  }
}

/** The cast of a mapping's value to its target's type. */
function castFor(target: FieldTarget, characteristicTypes: ReadonlyMap<string, CharacteristicType>): CompiledMapping['cast'] {
  if (target.kind === 'field') {
    const { field } = target;
    return (value) => castFieldValue(field, value);
  }
  const { slug } = target;
  const type = characteristicTypes.get(slug)!;
  return (value) => castCharacteristic(slug, type, value);
}

/**
 * Where each mapping's value goes in the canonical JSON of {@link MappedFields}: the same text
 * `JSON.stringify` gives for an object whose keys (and the keys of `characteristics`) were set in
 * UTF-16 code unit order (integer-like keys come first, in numeric order, as in every JavaScript
 * object). `index` is the mapping's position in `mappings`.
 */
function payloadLayout(mappings: readonly CompiledMapping[]): { order: Array<{ index: number; prefix: string }>; closing: string } {
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const keyOf = (m: CompiledMapping) => (m.target.kind === 'field' ? m.target.field : m.target.slug);
  const indexed = mappings.map((mapping, index) => ({ mapping, index, key: keyOf(mapping) }));
  const fields = indexed.filter((m) => m.mapping.target.kind === 'field');
  // A JavaScript object lists integer-like keys (array indices: a slug such as "42") first, in
  // numeric order, whatever order they were set in: canonical JSON has always been written so.
  const arrayIndex = (key: string) => (/^(0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1 ? Number(key) : null);
  const jsOrder = (a: string, b: string) => {
    const [x, y] = [arrayIndex(a), arrayIndex(b)];
    if (x !== null && y !== null) return x - y;
    return x !== null ? -1 : y !== null ? 1 : byName(a, b);
  };
  const characteristics = indexed.filter((m) => m.mapping.target.kind === 'characteristic').sort((a, b) => jsOrder(a.key, b.key));
  const topKeys = [...fields.map((f) => f.key), ...(characteristics.length > 0 ? ['characteristics'] : [])].sort(byName);
  const layout: Array<{ index: number; prefix: string }> = [];
  // The text owed before the next key: the opening brace, or the brace closing `characteristics`.
  let before = '{';
  topKeys.forEach((key, k) => {
    const comma = k === 0 ? '' : ',';
    if (key === 'characteristics') {
      characteristics.forEach((c, i) => {
        layout.push({ index: c.index, prefix: `${before}${i === 0 ? `${comma}"characteristics":{` : ','}${JSON.stringify(c.key)}:` });
        before = '';
      });
      before = '}';
    } else {
      layout.push({ index: fields.find((f) => f.key === key)!.index, prefix: `${before}${comma}${JSON.stringify(key)}:` });
      before = '';
    }
  });
  const closing = `${before}}`;
  return { order: layout, closing };
}

/**
 * The model columns a template reads (`{{ row.City }}`, `{{ row["Postal Code"] }}`), so that a
 * misspelt column is an error before any row is sent rather than an empty string on every
 * participant. Only `row` is given to templates: any other variable is an error.
 * @throws RowMapperError naming the variable
 */
function templateColumns(liquid: Liquid, template: Template[], path: string): string[] {
  const columns = new Set<string>();
  for (const [root, column] of liquid.globalVariableSegmentsSync(template)) {
    if (root !== 'row' || typeof column !== 'string') {
      throw new RowMapperError(`${path}: the template reads "${String(root)}", but only row.COLUMN is available (e.g. {{ row.City }})`);
    }
    columns.add(column);
  }
  return [...columns];
}

/** A primary key value as text (the snapshot's key); `null` for null, blank, or a non-scalar. */
export function primaryKeyText(value: JsonValue): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/**
 * Why a participant is too large to send, or `null`: its email and mapped fields (`values` for
 * `layout`, whose canonical JSON is sent) over {@link MAX_PARTICIPANT_JSON_BYTES} bytes of JSON.
 * The reason names its largest fields. Cheap for the usual row: bytes are counted only for a long
 * payload.
 * @param layoutLength the length of `layout`'s text, when the caller knows it
 */
export function oversizeReason(email: string, layout: PayloadLayout, values: string, layoutLength?: number): string | null {
  // A UTF-16 unit is at most 3 bytes of UTF-8: a short text cannot be over the limit.
  if ((decodedLength(layout, values, layoutLength) + email.length) * 3 + 16 <= MAX_PARTICIPANT_JSON_BYTES) return null;
  const payload = decodePayload(layout, values);
  const bytes = Buffer.byteLength(payload) + Buffer.byteLength(JSON.stringify(email)) + '"email":,'.length;
  if (bytes <= MAX_PARTICIPANT_JSON_BYTES) return null;
  const sizes: Array<[string, number]> = [];
  for (const [field, value] of Object.entries(JSON.parse(payload) as MappedFields)) {
    if (field === 'characteristics' && value !== null && typeof value === 'object') {
      for (const [slug, v] of Object.entries(value)) sizes.push([`characteristics.${slug}`, Buffer.byteLength(JSON.stringify(v))]);
    } else {
      sizes.push([field, Buffer.byteLength(JSON.stringify(value))]);
    }
  }
  const largest = sizes.sort((a, b) => b[1] - a[1]).slice(0, 3).map(([field, n]) => `${field} ${n} bytes`);
  return (
    `the participant is ${bytes} bytes of JSON, over the limit of ${MAX_PARTICIPANT_JSON_BYTES} bytes (64 KiB) per participant ` +
    `(largest: ${largest.join(', ')}): shorten these values in the model, or stop mapping them`
  );
}
