import { describe, expect, it } from 'vitest';
import {
  failsEveryRequest,
  HttpAbortedError,
  HttpNetworkError,
  HttpRequestRefusedError,
  HttpTimeoutError,
  HttpTransientExhaustedError,
  HttpUnauthorizedError,
  isContentRefusal,
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

describe('isContentRefusal', () => {
  it.each([400, 409, 422])('%i refuses what the request carries: a single row\'s rejection', (status) => {
    expect(isContentRefusal(status)).toBe(true);
  });
  it.each([200, 204, 401, 403, 404, 405, 408, 429, 500])('%i does not', (status) => {
    expect(isContentRefusal(status)).toBe(false);
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

describe('a request refused as a whole', () => {
  it('says what to check for its status', () => {
    expect(new HttpRequestRefusedError('PATCH /participants/batches', 404, 'no error detail').message).toBe(
      "PATCH /participants/batches was refused with HTTP 404: no error detail; check that the destination's base_url is the API's root, ending in /api (e.g. https://www.userinterviews.com/api), and its host",
    );
    expect(new HttpRequestRefusedError('DELETE /participants/9', 403, 'forbidden').message).toMatch(/HTTP 403: forbidden; check that the destination's API key has permission/);
    expect(new HttpRequestRefusedError('POST /participants', 400, 'bad')).toMatchObject({ code: 'HTTP_REQUEST_REFUSED', status: 400, retryable: false });
  });

  it('failsEveryRequest: refused key or request, and network failures a retry cannot fix', () => {
    const cases: Array<[unknown, boolean]> = [
      [new HttpUnauthorizedError('GET x'), true],
      [new HttpRequestRefusedError('GET x', 404, 'd'), true],
      [new HttpNetworkError('GET x', 'dns', fetchFailure('ENOTFOUND')), true],
      [new HttpNetworkError('GET x', 'tls', fetchFailure('ERR_SSL_WRONG_VERSION_NUMBER')), true],
      [new HttpNetworkError('GET x', 'reset', fetchFailure('ECONNRESET')), false],
      [new HttpTimeoutError('GET x', 10), false],
      [new HttpTransientExhaustedError('GET x', 3, { status: 503 }), false],
      [new HttpAbortedError('GET x'), false],
      [new Error('HTTP_UNAUTHORIZED'), false],
    ];
    expect(cases.map(([error]) => failsEveryRequest(error))).toEqual(cases.map(([, fatal]) => fatal));
  });

  it('a network failure a retry cannot fix names what to check: the host, TLS', () => {
    expect(new HttpNetworkError('GET x', 'dns', fetchFailure('ENOTFOUND')).message).toMatch(/host of the destination's base_url was not found/);
    expect(new HttpNetworkError('GET x', 'tls', fetchFailure('ERR_SSL_WRONG_VERSION_NUMBER')).message).toMatch(/TLS failed: check the scheme \(https\) and the host/);
    expect(new HttpNetworkError('GET x', 'url', new TypeError('invalid URL')).message).toMatch(/check the scheme, the host and the port of the destination's base_url/);
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
