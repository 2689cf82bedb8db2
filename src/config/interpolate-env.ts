/**
 * `${VAR}` interpolation of every string value of the parsed project file.
 *
 * Syntax: `${NAME}` is replaced by the variable's value (a set but empty variable gives `''`);
 * `${NAME:-default}` uses `default` when NAME is unset or empty (as in POSIX shells); `$${` writes
 * a literal `${`. A `$` not followed by `{` is left alone. NAME is `[A-Za-z_][A-Za-z0-9_]*`.
 * Only values are interpolated, never keys; the result is always a string (YAML types were
 * decided before interpolation: `batch_size: ${N}` stays the string "…").
 */
import { formatConfigPath, type ConfigPathSegment } from './config-path.ts';
import type { ConfigIssue } from './config-error.ts';

/** Environment variables, as `process.env`. */
export type Env = Record<string, string | undefined>;

/**
 * A key whose value is a secret when interpolated: `api_key`, any key naming a token, secret or
 * password (`auth_token`), and the alert channels' `routing_key`, `webhook_url` and `smtp_url`.
 */
export const SECRET_KEY = /api_key|token|secret|password|routing_key|webhook_url|smtp_url/i;

/** A key whose every value is a secret when interpolated: a webhook channel's `headers`. */
export const SECRET_PARENT_KEY = /^headers$/i;

export interface InterpolationResult {
  /** A copy of the input with every string interpolated (strings that failed are left as written). */
  value: unknown;
  /** One issue per bad reference: unset variable, unterminated `${`, malformed name. */
  issues: ConfigIssue[];
  /**
   * Values that came from the environment into a secret-bearing key ({@link SECRET_KEY}, or any
   * key under one matching {@link SECRET_PARENT_KEY}): each
   * variable's value and the whole resulting string. Empty strings are left out.
   */
  secrets: string[];
  /** Every reference to an unset variable without a default: where it is, and the variable's name. */
  unset: Array<{ path: ConfigPathSegment[]; name: string }>;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/**
 * Interpolates every string value in `value` (objects and arrays are walked, keys are kept).
 * @param options.allowUnset leave `${NAME}` of an unset variable as written, without an issue
 *   (for commands that only read the state database and need no credential)
 */
export function interpolateEnv(value: unknown, env: Env, options: { allowUnset?: boolean } = {}): InterpolationResult {
  const issues: ConfigIssue[] = [];
  const secrets = new Set<string>();
  const unset: InterpolationResult['unset'] = [];
  const walk = (node: unknown, path: ConfigPathSegment[]): unknown => {
    if (typeof node === 'string') {
      const result = interpolateString(node, env, options);
      for (const message of result.errors) issues.push({ path: formatConfigPath(path), message });
      for (const name of result.unset) unset.push({ path, name });
      const key = path.at(-1);
      const parent = path.at(-2);
      const secretKey = (typeof key === 'string' && SECRET_KEY.test(key)) || (typeof parent === 'string' && SECRET_PARENT_KEY.test(parent));
      if (secretKey && result.fromEnv.length > 0) {
        for (const secret of [...result.fromEnv, result.value]) if (secret !== '') secrets.add(secret);
      }
      return result.value;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) out[key] = walk(item, [...path, key]);
      return out;
    }
    return node;
  };
  return { value: walk(value, []), issues, secrets: [...secrets], unset };
}

/**
 * Interpolates one string. `errors` are complete messages (they name the variable and say how to
 * fix it); on error the reference is left as written. `fromEnv` lists the environment values used
 * (defaults are not environment values); `unset` the names of unset variables without a default
 * (listed with `allowUnset` too).
 */
export function interpolateString(
  text: string,
  env: Env,
  options: { allowUnset?: boolean } = {},
): { value: string; errors: string[]; fromEnv: string[]; unset: string[] } {
  let value = '';
  const errors: string[] = [];
  const fromEnv: string[] = [];
  const unset: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      value += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      value += text[i];
      i += 1;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end === -1) {
      errors.push('unterminated "${": close it with "}", or write "$${" for a literal "${"');
      value += text.slice(i);
      break;
    }
    const inner = text.slice(i + 2, end);
    const match = REFERENCE.exec(inner);
    if (match === null) {
      errors.push(
        `"\${${inner}}" is not a variable reference: write \${NAME} or \${NAME:-default} (NAME: letters, digits, "_"), or "$\${" for a literal "\${"`,
      );
      value += text.slice(i, end + 1);
    } else {
      const [, name = '', fallback] = match;
      const set = env[name];
      if (set !== undefined && !(fallback !== undefined && set === '')) {
        value += set;
        fromEnv.push(set);
      } else if (fallback !== undefined) {
        value += fallback;
      } else {
        unset.push(name);
        if (!options.allowUnset) errors.push(`environment variable ${name} is not set; set it, or write \${${name}:-default} to give a default`);
        value += text.slice(i, end + 1);
      }
    }
    i = end + 1;
  }
  return { value, errors, fromEnv, unset };
}
