/**
 * `${VAR}` interpolation of every string value of the parsed project file.
 *
 * Syntax: `${NAME}` is replaced by the variable's value (a set but empty variable gives `''`);
 * `${NAME:-default}` uses `default` when NAME is unset or empty (as in POSIX shells); `$${` writes
 * a literal `${`. A `$` not followed by `{` is left alone. NAME is `[A-Za-z_][A-Za-z0-9_]*`.
 * Only values are interpolated, never keys; the result is always a string (YAML types were
 * decided before interpolation: `batch_size: ${N}` stays the string "…").
 *
 * Secrets from files (the Docker and Kubernetes secrets convention): `${file:PATH}` is replaced by
 * the contents of the file PATH; and when NAME is unset (or empty, in the `${NAME:-default}` form)
 * but `NAME_FILE` is set, the file `NAME_FILE` names is read instead (the way the official
 * PostgreSQL and MySQL images read `POSTGRES_PASSWORD_FILE`). A relative PATH is resolved against
 * the project directory. Trailing newlines (`\n`, `\r\n`) are trimmed, nothing else. A file that
 * cannot be read is an issue naming its path and why, never its contents; what a file holds is
 * always treated as a secret.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
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
   * Values that came from the environment or a file into a secret-bearing key ({@link SECRET_KEY},
   * or any key under one matching {@link SECRET_PARENT_KEY}): each variable's value and the whole
   * resulting string; and the contents of every secret file read, whatever the key. Empty strings
   * are left out.
   */
  secrets: string[];
  /** Every reference to an unset variable without a default: where it is, and the variable's name. */
  unset: Array<{ path: ConfigPathSegment[]; name: string }>;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** How {@link interpolateEnv} and {@link interpolateString} resolve references. */
export interface InterpolateOptions {
  /**
   * Leave `${NAME}` of an unset variable as written, without an issue (for commands that only
   * read the state database and need no credential).
   */
  allowUnset?: boolean;
  /** The directory relative secret-file paths are resolved against (the project directory); default `process.cwd()`. */
  baseDir?: string;
}

/**
 * Interpolates every string value in `value` (objects and arrays are walked, keys are kept).
 * Reads secret files synchronously (see the module comment).
 */
export function interpolateEnv(value: unknown, env: Env, options: InterpolateOptions = {}): InterpolationResult {
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
      if (secretKey && result.fromEnv.length + result.fromFile.length > 0) {
        for (const secret of [...result.fromEnv, ...result.fromFile, result.value]) if (secret !== '') secrets.add(secret);
      }
      // A file is where secrets are kept: what one holds is redacted wherever it is used.
      for (const secret of result.fromFile) if (secret !== '') secrets.add(secret);
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
 * Interpolates one string. `errors` are complete messages (they name the variable or file and say
 * how to fix it); on error the reference is left as written. `fromEnv` lists the environment
 * values used (defaults are not environment values); `fromFile` the contents of the secret files
 * read (trailing newlines trimmed); `unset` the names of unset variables without a default or
 * `NAME_FILE` (listed with `allowUnset` too).
 */
export function interpolateString(
  text: string,
  env: Env,
  options: InterpolateOptions = {},
): { value: string; errors: string[]; fromEnv: string[]; fromFile: string[]; unset: string[] } {
  let value = '';
  const errors: string[] = [];
  const fromEnv: string[] = [];
  const fromFile: string[] = [];
  const unset: string[] = [];
  /** Appends the contents of `file`, or records why it cannot be read (`source` says where the path came from). */
  const readSecretFile = (file: string, source: string, reference: string): void => {
    const read = readSecret(file, options.baseDir);
    if ('error' in read) {
      errors.push(`cannot read the secret file ${read.path} (${source}): ${read.error}`);
      value += reference;
      return;
    }
    value += read.value;
    fromFile.push(read.value);
  };
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
    const reference = text.slice(i, end + 1);
    const match = REFERENCE.exec(inner);
    if (match === null && FILE_REFERENCE.test(inner)) {
      const file = inner.slice('file:'.length);
      if (file.trim() === '') errors.push('"${file:}" names no file: write ${file:/run/secrets/NAME}');
      else readSecretFile(file, `named by ${reference}`, reference);
    } else if (match === null) {
      errors.push(
        `"\${${inner}}" is not a variable reference: write \${NAME}, \${NAME:-default} (NAME: letters, digits, "_") or \${file:/path/to/secret}, or "$\${" for a literal "\${"`,
      );
      value += reference;
    } else {
      const [, name = '', fallback] = match;
      const set = env[name];
      const fileVariable = `${name}_FILE`;
      const file = env[fileVariable];
      if (set !== undefined && !(fallback !== undefined && set === '')) {
        value += set;
        fromEnv.push(set);
      } else if (file !== undefined && file !== '') {
        readSecretFile(file, `named by ${fileVariable}, read because ${name} is ${set === undefined ? 'not set' : 'empty'}`, reference);
      } else if (fallback !== undefined) {
        value += fallback;
      } else {
        unset.push(name);
        if (!options.allowUnset) {
          errors.push(`environment variable ${name} is not set; set it, or write \${${name}:-default} to give a default`);
        }
        value += reference;
      }
    }
    i = end + 1;
  }
  return { value, errors, fromEnv, fromFile, unset };
}

/** `${file:PATH}`: the text after `file:` is a path (a `file` variable with a default is `${file:-x}`). */
const FILE_REFERENCE = /^file:(?!-)/;

/**
 * The contents of the secret file `file` (resolved against `baseDir`) without trailing newlines,
 * or why it cannot be read: the reason comes from the error's code, never from the file.
 */
function readSecret(file: string, baseDir = process.cwd()): { value: string } | { path: string; error: string } {
  const absolute = path.resolve(baseDir, file);
  try {
    return { value: readFileSync(absolute, 'utf8').replace(/(\r?\n)+$/, '') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'no such file; create it, or correct the path'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied; let the user panelsync runs as read it'
          : code === 'EISDIR'
            ? 'it is a directory; name the file inside it'
            : `${code ?? 'unreadable'}; check the file`;
    return { path: absolute, error: why };
  }
}
