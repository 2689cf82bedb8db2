import { describe, expect, it } from 'vitest';
import { interpolateEnv, interpolateString } from '../../src/config/interpolate-env.ts';

describe('interpolateString', () => {
  const env = { HOST: 'db.internal', EMPTY: '', PORT: '5432' };

  it('replaces ${VAR} anywhere in the string, any number of times', () => {
    expect(interpolateString('postgres://${HOST}:${PORT}/x?h=${HOST}', env)).toEqual({
      value: 'postgres://db.internal:5432/x?h=db.internal',
      errors: [],
      fromEnv: ['db.internal', '5432', 'db.internal'],
      fromFile: [],
      unset: [],
    });
  });

  it('uses the default when the variable is unset or empty, and not otherwise', () => {
    expect(interpolateString('${MISSING:-fallback}', env).value).toBe('fallback');
    expect(interpolateString('${EMPTY:-fallback}', env).value).toBe('fallback');
    expect(interpolateString('${HOST:-fallback}', env).value).toBe('db.internal');
    expect(interpolateString('${MISSING:-}', env).value).toBe('');
    expect(interpolateString('${MISSING:-a:-b c}', env).value).toBe('a:-b c');
  });

  it('lists the unset variables without a default, with allowUnset too', () => {
    expect(interpolateString('${MISSING}/${HOST}/${ALSO_MISSING:-x}', env).unset).toEqual(['MISSING']);
    expect(interpolateString('${MISSING}', env, { allowUnset: true })).toMatchObject({ errors: [], unset: ['MISSING'] });
  });

  it('keeps a set but empty variable as empty', () => {
    expect(interpolateString('[${EMPTY}]', env)).toEqual({ value: '[]', errors: [], fromEnv: [''], fromFile: [], unset: [] });
  });

  it('writes $${ as a literal ${ and leaves other dollars alone', () => {
    expect(interpolateString('cost $5, $${HOST} and $HOST', env)).toEqual({
      value: 'cost $5, ${HOST} and $HOST',
      errors: [],
      fromEnv: [],
      fromFile: [],
      unset: [],
    });
  });

  it('names an unset variable and how to fix it', () => {
    expect(interpolateString('key ${UI_API_KEY}', env).errors).toEqual([
      'environment variable UI_API_KEY is not set; set it, or write ${UI_API_KEY:-default} to give a default',
    ]);
  });

  it('reports an unterminated or malformed reference', () => {
    expect(interpolateString('a ${HOST', env).errors[0]).toMatch(/^unterminated "\$\{"/);
    expect(interpolateString('${1BAD}', env).errors[0]).toMatch(/^"\$\{1BAD\}" is not a variable reference/);
    expect(interpolateString('${}', env).errors[0]).toMatch(/is not a variable reference/);
  });
});

describe('interpolateEnv', () => {
  it('walks objects and arrays, leaves keys and non-strings, and names the path of a missing variable', () => {
    const result = interpolateEnv(
      { '${KEY}': { list: ['${A}', 3, true, null, { deep: '${NOPE}' }] } },
      { A: 'alpha', KEY: 'never' },
    );
    expect(result.value).toEqual({ '${KEY}': { list: ['alpha', 3, true, null, { deep: '${NOPE}' }] } });
    expect(result.issues).toEqual([
      {
        path: '["${KEY}"].list[4].deep',
        message: 'environment variable NOPE is not set; set it, or write ${NOPE:-default} to give a default',
      },
    ]);
    expect(result.secrets).toEqual([]);
  });

  it('collects env values put into secret-bearing keys, and the whole resulting string', () => {
    const result = interpolateEnv(
      {
        api_key: '${KEY}',
        auth_token: 'Bearer ${TOKEN}',
        client_secret: '${MISSING:-dflt}',
        note: '${KEY}-${PLAIN}',
      },
      { KEY: 'k-1', TOKEN: 't-2', PLAIN: 'p-3' },
    );
    // Defaults are written in the file, not taken from the environment.
    expect(result.secrets).toEqual(['k-1', 't-2', 'Bearer t-2']);
  });
});
