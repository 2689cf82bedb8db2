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
  type FieldTarget,
} from '../destinations/user-interviews/fields.ts';
import { MAX_PARTICIPANT_JSON_BYTES, type CharacteristicType, type CharacteristicValue } from '../destinations/user-interviews/wire.ts';
import type { JsonValue, Row } from '../sources/source.ts';
import { createTemplateEngine } from './template-engine.ts';

/**
 * The mapped values of one row, without the email: default fields at the top level, custom fields
 * under `characteristics`. Serialized with sorted keys, it is what the snapshot stores and the
 * diff compares.
 */
export interface MappedFields {
  [field: string]: string | null | Record<string, CharacteristicValue>;
}

/** One mapped row, or the reason it is invalid. `pk` is the primary key as text; `null` when missing. */
export type MappedRow =
  | { ok: true; pk: string; email: string; fields: MappedFields }
  | { ok: false; pk: string | null; reason: string };

interface CompiledMapping {
  target: FieldTarget;
  value: (row: Row) => JsonValue;
  /** `syncs.NAME.mappings[i]`, for error messages. */
  path: string;
  /** The model columns the mapping reads: a `from` column, or the `row.X` a template names. */
  columns: string[];
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
  private checkedColumns = false;

  constructor(
    private readonly primaryKey: string,
    private readonly match: string,
    mappings: MappingConfig[],
    private readonly characteristicTypes: ReadonlyMap<string, CharacteristicType>,
    syncName = 'sync',
  ) {
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
      if ('from' in mapping) {
        const column = mapping.from;
        return { target, value: (row: Row) => row[column] ?? null, path: `${path}.from`, columns: [column] };
      }
      if ('static' in mapping) {
        const value = mapping.static;
        return { target, value: () => value, path: `${path}.static`, columns: [] };
      }
      const template: Template[] = liquid.parse(mapping.template);
      return {
        target,
        value: (row: Row) => liquid.renderSync(template, { row }) as string,
        path: `${path}.template`,
        columns: templateColumns(liquid, template, `${path}.template`),
      };
    });
  }

  /** Maps one row. Never throws for a bad value: the row comes back invalid with its reason. */
  map(row: Row): MappedRow {
    if (!this.checkedColumns) this.checkColumns(row);
    const pk = primaryKeyText(row[this.primaryKey] ?? null);
    if (pk === null) return { ok: false, pk: null, reason: `primary key ${this.primaryKey} is null or blank` };
    const email = castEmail(row[this.match] ?? null);
    if (!email.ok) return { ok: false, pk, reason: email.reason };
    const fields: MappedFields = {};
    let characteristics: Record<string, CharacteristicValue> | undefined;
    for (const mapping of this.mappings) {
      const raw = mapping.value(row);
      if (mapping.target.kind === 'field') {
        const cast = castFieldValue(mapping.target.field, raw);
        if (!cast.ok) return { ok: false, pk, reason: cast.reason };
        fields[mapping.target.field] = cast.value;
      } else {
        const slug = mapping.target.slug;
        const cast = castCharacteristic(slug, this.characteristicTypes.get(slug)!, raw);
        if (!cast.ok) return { ok: false, pk, reason: cast.reason };
        (characteristics ??= {})[slug] = cast.value;
      }
    }
    if (characteristics) fields.characteristics = characteristics;
    return { ok: true, pk, email: email.value, fields };
  }

  /** The model's columns are known only from its first row: a missing one is a user error. */
  private checkColumns(row: Row): void {
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
 * Why a participant is too large to send, or `null`: its email and mapped fields (`payload`, their
 * {@link canonicalJson}) over {@link MAX_PARTICIPANT_JSON_BYTES} bytes of JSON. The reason names
 * its largest fields. Cheap for the usual row: bytes are counted only for a long payload.
 */
export function oversizeReason(email: string, fields: MappedFields, payload: string): string | null {
  // A UTF-16 unit is at most 3 bytes of UTF-8: a short text cannot be over the limit.
  if ((payload.length + email.length) * 3 + 16 <= MAX_PARTICIPANT_JSON_BYTES) return null;
  const bytes = Buffer.byteLength(payload) + Buffer.byteLength(JSON.stringify(email)) + '"email":,'.length;
  if (bytes <= MAX_PARTICIPANT_JSON_BYTES) return null;
  const sizes: Array<[string, number]> = [];
  for (const [field, value] of Object.entries(fields)) {
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

/** Serializes mapped fields with sorted keys, so equal values always give equal text. */
export function canonicalJson(fields: MappedFields): string {
  return JSON.stringify(fields, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return value;
  });
}
