/**
 * Turns zod's issues into project-file issues whose messages say what to fix: unknown keys list
 * the known ones, a missing key shows what belongs there, a mapping with two kinds says to keep
 * one. Values are never echoed (they may be secrets); only their type is named.
 */
import { z } from 'zod';
import type { ConfigIssue } from './config-error.ts';
import { formatConfigPath, type ConfigPathSegment } from './config-path.ts';

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;

/** The mapping kinds: a mapping has exactly one of these keys. */
export const MAPPING_KINDS = ['from', 'static', 'template'] as const;

/**
 * Translates `issues` from `root.safeParse(raw)` into {@link ConfigIssue}s (one zod issue may
 * become several, e.g. one per unknown key). `mappingSchema` is the union whose failures are
 * explained as "exactly one of from, static or template".
 */
export function zodIssuesToConfigIssues(
  issues: readonly Issue[],
  raw: unknown,
  root: Schema,
  mappingSchema: Schema,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: ConfigPathSegment[], message: string) => out.push({ path: formatConfigPath(path), message });

  const translate = (issue: Issue, prefix: ConfigPathSegment[]): void => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    const value = valueAt(raw, path);
    switch (issue.code) {
      case 'invalid_type': {
        const expected = describeExpected(issue.expected);
        if (value === undefined) {
          const description = descriptionOf(schemaAt(root, raw, path));
          add(path, `missing: add it (${expected}${description === undefined ? '' : `: ${lowerFirst(description).replace(/\.$/, '')}`})`);
        } else {
          const hint =
            issue.expected === 'number' && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))
              ? '; write the number without quotes (a ${VAR} reference always gives a string)'
              : '';
          add(path, `expected ${expected}, got ${describeValue(value)}${hint}`);
        }
        return;
      }
      case 'unrecognized_keys': {
        const known = objectKeys(resolveUnion(unwrap(schemaAt(root, raw, path)), value));
        for (const key of issue.keys) {
          add(
            [...path, key],
            `unknown key "${key}"; remove it or check its spelling` +
              (known === undefined ? '' : ` (known: ${known.join(', ')})`),
          );
        }
        return;
      }
      case 'invalid_value': {
        const values = issue.values.map((v) => String(v));
        add(path, values.length === 1 ? `must be ${values[0]}` : `must be one of: ${values.join(', ')}`);
        return;
      }
      case 'too_small': {
        if (issue.origin === 'string' && Number(issue.minimum) === 1) add(path, 'must not be empty');
        else if (issue.origin === 'number' || issue.origin === 'int')
          add(path, `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}`);
        else add(path, issue.message);
        return;
      }
      case 'too_big': {
        if (issue.origin === 'number' || issue.origin === 'int')
          add(path, `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`);
        else add(path, issue.message);
        return;
      }
      case 'invalid_key': {
        const key = path.at(-1);
        const reason = issue.issues.map((i) => i.message).join('; ');
        add(path, `the name ${JSON.stringify(String(key))} is not allowed: ${reason}`);
        return;
      }
      case 'invalid_union': {
        translateUnion(issue, path, value);
        return;
      }
      default:
        add(path, issue.message);
    }
  };

  const translateUnion = (issue: z.core.$ZodIssueInvalidUnion, path: ConfigPathSegment[], value: unknown): void => {
    if (issue.discriminator !== undefined && issue.errors.length === 0) {
      const options = 'options' in issue ? (issue.options ?? []) : [];
      add(path, `${value === undefined ? 'missing: add it' : 'not a known type'} (one of: ${options.join(', ')})`);
      return;
    }
    if (schemaAt(root, raw, path) === mappingSchema) {
      if (!isRecord(value)) {
        add(path, `expected a mapping such as { from: COLUMN, to: first_name }, got ${describeValue(value)}`);
        return;
      }
      const kinds = MAPPING_KINDS.filter((kind) => kind in value);
      if (kinds.length !== 1) {
        add(
          path,
          `a mapping needs exactly one of from, static or template (found ${kinds.length === 0 ? 'none' : kinds.join(' and ')})`,
        );
        return;
      }
      const options = unionOptions(mappingSchema);
      const index = options.findIndex((option) => objectKeys(option)?.includes(kinds[0] as string));
      for (const inner of issue.errors[index] ?? []) translate(inner, path);
      return;
    }
    // A union of plain types (static: string | number | boolean | null): name them.
    const expected = issue.errors.map((branch) =>
      branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0
        ? branch[0].expected
        : undefined,
    );
    if (expected.every((e) => e !== undefined)) {
      add(path, `expected ${joinOr(expected.map(describeExpected))}, got ${describeValue(value)}`);
      return;
    }
    const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
    for (const inner of closest) translate(inner, path);
  };

  for (const issue of issues) translate(issue, []);
  return out;
}

function valueAt(raw: unknown, path: readonly ConfigPathSegment[]): unknown {
  let node = raw;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (isRecord(node) && typeof segment === 'string' && Object.hasOwn(node, segment)) node = node[segment];
    else return undefined;
  }
  return node;
}

/** The schema that validates the value at `path` (unions resolved by the raw value there). */
function schemaAt(root: Schema, raw: unknown, path: readonly ConfigPathSegment[]): Schema | undefined {
  let schema: Schema | undefined = root;
  let node = raw;
  for (const segment of path) {
    schema = resolveUnion(unwrap(schema), node);
    const def = schema?._zod.def as { type: string; shape?: Record<string, Schema>; valueType?: Schema; element?: Schema } | undefined;
    if (def?.type === 'object' && typeof segment === 'string') schema = def.shape?.[segment];
    else if (def?.type === 'record') schema = def.valueType;
    else if (def?.type === 'array') schema = def.element;
    else return undefined;
    node = valueAt(node, [segment]);
  }
  // A described wrapper (`.default(x).describe(...)`) is what callers look at; unions are kept.
  return schema;
}

function unwrap(schema: Schema | undefined): Schema | undefined {
  let current = schema;
  for (;;) {
    const def = current?._zod.def as { type: string; innerType?: Schema; in?: Schema } | undefined;
    if (def?.type === 'default' || def?.type === 'optional' || def?.type === 'nullable' || def?.type === 'prefault')
      current = def.innerType;
    else if (def?.type === 'pipe') current = def.in;
    else return current;
  }
}

function unionOptions(schema: Schema | undefined): Schema[] {
  const def = unwrap(schema)?._zod.def as { type: string; options?: Schema[] } | undefined;
  return def?.type === 'union' ? (def.options ?? []) : [];
}

/** The union option that best fits `node`: literal keys must match, then the most keys in common. */
function resolveUnion(schema: Schema | undefined, node: unknown): Schema | undefined {
  const options = unionOptions(schema);
  if (options.length === 0) return schema;
  if (!isRecord(node)) return undefined;
  let best: Schema | undefined;
  let bestScore = -1;
  for (const option of options) {
    const shape = objectShape(option);
    if (shape === undefined) continue;
    const literalMismatch = Object.entries(shape).some(([key, field]) => {
      const def = unwrap(field)?._zod.def as { type: string; values?: unknown[] } | undefined;
      return def?.type === 'literal' && !(def.values ?? []).includes(node[key]);
    });
    if (literalMismatch) continue;
    const score = Object.keys(node).filter((key) => key in shape).length;
    if (score > bestScore) [best, bestScore] = [option, score];
  }
  return best;
}

function objectShape(schema: Schema | undefined): Record<string, Schema> | undefined {
  const def = unwrap(schema)?._zod.def as { type: string; shape?: Record<string, Schema> } | undefined;
  return def?.type === 'object' ? def.shape : undefined;
}

function objectKeys(schema: Schema | undefined): string[] | undefined {
  const shape = objectShape(schema);
  return shape === undefined ? undefined : Object.keys(shape);
}

/** The `.describe()` text of `schema` or of a schema it wraps (default, optional, pipe input). */
function descriptionOf(schema: Schema | undefined): string | undefined {
  let current = schema;
  while (current !== undefined) {
    const description = z.globalRegistry.get(current)?.description;
    if (description !== undefined) return description;
    const def = current._zod.def as { innerType?: Schema; in?: Schema };
    current = def.innerType ?? def.in;
  }
  return undefined;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping of keys to values';
    case 'array':
      return 'a list';
    case 'null':
      return 'null';
    case 'int':
      return 'a whole number';
    default:
      return `a ${expected}`;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping of keys to values';
  return `a ${typeof value}`;
}

function joinOr(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
