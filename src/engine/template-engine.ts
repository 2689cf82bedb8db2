/**
 * The one Liquid engine of mapping templates (`template:` in `syncs.NAME.mappings`), shared by the
 * validator (templates parse, filters exist) and the row mapper (templates render), with
 * panelsync's own filters added to Liquid's standard ones (https://liquidjs.com/filters/overview.html).
 */
import { createHash } from 'node:crypto';
import { Liquid } from 'liquidjs';

/** Hash filters: `{{ row.email | sha256 }}` writes a hash instead of the raw value. */
export const HASH_FILTERS = ['sha256', 'md5'] as const;
export type HashFilter = (typeof HASH_FILTERS)[number];

/**
 * The lower-case hex digest (`sha256`: 64 characters, `md5`: 32) of `value`'s UTF-8 text: a string
 * as it is, a number or boolean as Liquid prints it (`42`, `true`), an array or object as JSON. A
 * missing value (null, an absent column) stays missing: it renders as an empty string, never as
 * the hash of one, so an empty cell is not mistaken for a real value. Nothing is trimmed or
 * lower-cased first: write `{{ row.email | strip | downcase | sha256 }}` for that.
 */
export function hashValue(algorithm: HashFilter, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return createHash(algorithm).update(text, 'utf8').digest('hex');
}

/**
 * A Liquid engine with {@link HASH_FILTERS} added, in which an unknown filter is an error where
 * the template is parsed (`strictFilters`), not an empty value on every participant.
 */
export function createTemplateEngine(): Liquid {
  const liquid = new Liquid({ strictFilters: true });
  for (const algorithm of HASH_FILTERS) liquid.registerFilter(algorithm, (value: unknown) => hashValue(algorithm, value));
  return liquid;
}
