import { describe, expect, it } from 'vitest';
import { assertColumnNames } from '../../src/sources/column-names.ts';
import { SourceError } from '../../src/sources/source.ts';

function refusal(columns: string[]): unknown {
  try {
    assertColumnNames(columns);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('assertColumnNames', () => {
  it('accepts distinct names, names that differ only in case, and no columns', () => {
    expect(refusal(['id', 'email', 'order_email'])).toBeUndefined();
    expect(refusal(['email', 'Email', 'EMAIL'])).toBeUndefined();
    expect(refusal([])).toBeUndefined();
  });

  it('names the duplicated column, how many times it appears, and an alias', () => {
    const error = refusal(['id', 'email', 'email']);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({
      code: 'SOURCE_DUPLICATE_COLUMNS',
      message:
        'The model returns column "email" 2 times, but a row keeps only one value per column name: give each a distinct name with AS in the model\'s sql, e.g. SELECT p.*, o.email AS order_email.',
    });
  });

  it('lists every duplicated column in query order, and its count', () => {
    expect(refusal(['id', 'email', 'id', 'email', 'id'])).toMatchObject({
      message: expect.stringMatching(/^The model returns columns "id" 3 times, "email" 2 times, .* o\.id AS order_id\.$/),
    });
  });

  it('keeps the alias example valid SQL for a name that needs quoting', () => {
    // PostgreSQL names every unnamed expression "?column?" (`SELECT 1, 2`).
    expect(refusal(['?column?', '?column?'])).toMatchObject({
      message: expect.stringMatching(/^The model returns column "\?column\?" 2 times, .* o\.email AS order_email\.$/),
    });
  });

  it('refuses a column named __proto__, which a row would take as its prototype rather than a value', () => {
    expect(refusal(['id', '__proto__'])).toMatchObject({ code: 'SOURCE_RESERVED_COLUMN', message: expect.stringContaining('SELECT __proto__ AS proto') });
    expect(refusal(['id', 'proto', 'constructor', 'toString'])).toBeUndefined();
  });
});
