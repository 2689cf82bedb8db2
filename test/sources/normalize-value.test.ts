import { describe, expect, it } from 'vitest';
import { integerValue, isoFromDateTimeText, isoFromEpochMicros, jsonValue } from '../../src/sources/normalize-value.ts';
import { redactUrl, scrubPassword } from '../../src/sources/redact-url.ts';

describe('normalize-value', () => {
  it('keeps integers exact: numbers up to 2^53 - 1, strings beyond', () => {
    expect(integerValue(9007199254740991n)).toBe(9007199254740991);
    expect(integerValue(9007199254740992n)).toBe('9007199254740992');
    expect(integerValue('-9007199254740993')).toBe('-9007199254740993');
  });

  it('reads engine timestamp text as UTC, applying any offset', () => {
    expect(isoFromDateTimeText('2026-01-02 03:04:05')).toBe('2026-01-02T03:04:05.000Z');
    expect(isoFromDateTimeText('2026-01-02 03:04:05.123999')).toBe('2026-01-02T03:04:05.123Z');
    expect(isoFromDateTimeText('2026-01-02 03:04:05+05:30')).toBe('2026-01-01T21:34:05.000Z');
    expect(isoFromDateTimeText('2026-01-02 03:04:05-08')).toBe('2026-01-02T11:04:05.000Z');
    expect(isoFromDateTimeText('0099-01-01 00:00:00')).toBe('0099-01-01T00:00:00.000Z');
    expect(isoFromDateTimeText('0001-01-01 00:00:00 BC')).toBe('0000-01-01T00:00:00.000Z');
    expect(isoFromDateTimeText('infinity')).toBe('infinity');
    expect(isoFromDateTimeText('0000-00-00 00:00:00')).toBe('0000-00-00 00:00:00');
  });

  it('floors epoch microseconds to milliseconds', () => {
    expect(isoFromEpochMicros(1_500n)).toBe('1970-01-01T00:00:00.001Z');
    expect(isoFromEpochMicros(-1n)).toBe('1969-12-31T23:59:59.999Z');
    expect(isoFromEpochMicros(9_223_372_036_854_775_807n)).toBeNull();
  });

  it('turns driver values into JSON values', () => {
    expect(jsonValue({ a: [1n, new Date(0), Buffer.from([0xaa]), Number.POSITIVE_INFINITY, undefined] })).toEqual({
      a: [1, '1970-01-01T00:00:00.000Z', 'qg==', 'Infinity', null],
    });
  });
});

describe('redact-url', () => {
  it('hides the password of a connection URL, in the URL and in messages', () => {
    expect(redactUrl('postgres://app:s3cr%40t@db:5432/x?sslmode=require')).toBe('postgres://app:***@db:5432/x?sslmode=require');
    expect(redactUrl('mysql://app@db/x?password=s3cret')).toBe('mysql://app@db/x?password=***');
    expect(redactUrl('not a url s3cret')).toBe('(unparseable url)');
    expect(scrubPassword('auth failed for s3cr@t', 'postgres://app:s3cr%40t@db/x')).toBe('auth failed for ***');
  });
});
