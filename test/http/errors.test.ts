import { describe, expect, it } from 'vitest';
import {
  HttpNetworkError,
  HttpTimeoutError,
  isRetryableNetworkError,
  isRetryableStatus,
  networkErrorCode,
} from '../../src/http/errors.ts';
import { parseRetryAfter, redact } from '../../src/http/http-client.ts';

function fetchFailure(code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('boom'), { code }) });
}

describe('isRetryableStatus', () => {
  it.each([408, 429, 500, 502, 503, 504, 599])('%i is retryable', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });
  it.each([200, 201, 204, 400, 401, 403, 404, 409, 422])('%i is not retryable', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });
});

describe('isRetryableNetworkError', () => {
  it.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT'])(
    '%s under fetch failed is retryable',
    (code) => {
      expect(isRetryableNetworkError(fetchFailure(code))).toBe(true);
    },
  );
  it('a timeout abort is retryable', () => {
    expect(isRetryableNetworkError(new DOMException('timed out', 'TimeoutError'))).toBe(true);
    expect(isRetryableNetworkError(new HttpTimeoutError('GET x', 10))).toBe(true);
  });
  it('refusals inside an AggregateError are found', () => {
    const aggregate = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'all failed');
    expect(isRetryableNetworkError(new TypeError('fetch failed', { cause: aggregate }))).toBe(true);
  });
  it('DNS, TLS and unknown errors are not retryable', () => {
    expect(isRetryableNetworkError(fetchFailure('ENOTFOUND'))).toBe(false);
    expect(isRetryableNetworkError(fetchFailure('CERT_HAS_EXPIRED'))).toBe(false);
    expect(isRetryableNetworkError(new Error('something'))).toBe(false);
    expect(isRetryableNetworkError(undefined)).toBe(false);
  });
  it('HttpNetworkError takes its retryability and code from the cause', () => {
    const reset = new HttpNetworkError('GET x', 'reset', fetchFailure('ECONNRESET'));
    expect([reset.retryable, reset.networkCode, reset.code]).toEqual([true, 'ECONNRESET', 'HTTP_NETWORK']);
    const dns = new HttpNetworkError('GET x', 'dns', fetchFailure('ENOTFOUND'));
    expect(dns.retryable).toBe(false);
    expect(dns.message).toMatch(/base_url/);
    expect(networkErrorCode(new Error('none'))).toBeNull();
  });
});

describe('redact', () => {
  it('replaces raw, percent-encoded and JSON-escaped forms, longest first', () => {
    const secret = 'a/b"c d';
    const text = `raw ${secret} url ${encodeURIComponent(secret)} json ${JSON.stringify(secret)}`;
    expect(redact(text, [secret])).toBe('raw [REDACTED] url [REDACTED] json "[REDACTED]"');
    expect(redact('Bearer tok123', ['tok', 'Bearer tok123'])).toBe('[REDACTED]');
    expect(redact('nothing here', ['', 'zzz'])).toBe('nothing here');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, null otherwise', () => {
    const now = Date.parse('2026-01-02T03:04:05Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Fri, 02 Jan 2026 03:04:15 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Fri, 02 Jan 2026 03:04:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
