import { afterEach, describe, expect, it } from 'vitest';
import {
  failsEveryRequest,
  HttpAbortedError,
  HttpConnectionRefusedError,
  HttpError,
  HttpNetworkError,
  HttpTransientExhaustedError,
  HttpUnauthorizedError,
} from '../../src/http/errors.ts';
import { HttpClient, type ApiCall, type HttpClientOptions } from '../../src/http/http-client.ts';
import { RateLimitGate } from '../../src/http/rate-limit-gate.ts';
import { closedPort } from '../alerts/alert-project.ts';
import { drop, hang, json, startLocalServer, type Handler, type LocalServer } from './local-server.ts';

const KEY = 'sk_test_Zx9-SECRET-4242';

let server: LocalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function client(baseUrl: string, overrides: Partial<HttpClientOptions> = {}) {
  const calls: ApiCall[] = [];
  const sleeps: number[] = [];
  const http = new HttpClient({
    baseUrl,
    headers: { Authorization: `Bearer ${KEY}`, Accept: 'application/x-test', 'Content-Type': 'application/x-test+json' },
    timeoutMs: 2_000,
    maxAttempts: 3,
    backoff: { baseMs: 1, maxMs: 5 },
    secrets: [KEY],
    onCall: (call) => calls.push(call),
    ...overrides,
  });
  return { http, calls, sleeps };
}

/** A sleep that records and returns at once, for tests of computed waits. */
function recordingSleep(sleeps: number[]) {
  return async (ms: number) => {
    sleeps.push(ms);
  };
}

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('HttpClient retries', () => {
  it('retries a 500 and returns the success, recording both attempts', async () => {
    server = await startLocalServer(json(500, { errors: [] }), json(200, { data: [1, 2] }));
    const { http, calls } = client(server.baseUrl);
    const res = await http.request<{ data: number[] }>({ method: 'PATCH', path: '/things', body: { a: 1 } }, { tag: 'b1' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [1, 2] });
    expect(res.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    expect(calls.map((c) => [c.attempt, c.status, c.tag])).toEqual([
      [1, 500, 'b1'],
      [2, 200, 'b1'],
    ]);
    expect(calls[0]).toMatchObject({
      method: 'PATCH',
      url: `${server.baseUrl}/things`,
      request_body: '{"a":1}',
      response_body: '{"errors":[]}',
      error: null,
    });
    expect(Date.parse(calls[0]!.started_at)).not.toBeNaN();
    expect(calls[0]!.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('retries a dropped connection', async () => {
    server = await startLocalServer(drop, json(200, { ok: true }));
    const { http, calls } = client(server.baseUrl);
    const res = await http.request({ method: 'GET', path: '/x' });
    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
    expect(calls[0]).toMatchObject({ attempt: 1, status: null, response_body: null });
    expect(calls[0]!.error).toMatch(/fetch failed/);
    expect(calls[1]).toMatchObject({ attempt: 2, status: 200 });
  });

  it('retries a timed-out attempt', async () => {
    server = await startLocalServer(hang, json(200, { ok: true }));
    const { http, calls } = client(server.baseUrl, { timeoutMs: 300 });
    const res = await http.request({ method: 'GET', path: '/slow' });
    expect(res.status).toBe(200);
    expect(calls[0]!.status).toBeNull();
    expect(calls[0]!.error).toMatch(/timed out after 300 ms/);
    expect(calls[0]!.duration_ms).toBeGreaterThanOrEqual(250);
  });

  it('fails with HTTP_TRANSIENT_EXHAUSTED after maxAttempts, with full-jitter backoff', async () => {
    server = await startLocalServer(json(503));
    const sleeps: number[] = [];
    const { http, calls } = client(server.baseUrl, {
      maxAttempts: 3,
      backoff: { baseMs: 100, maxMs: 150 },
      sleep: recordingSleep(sleeps),
    });
    const error = await rejection(http.request({ method: 'GET', path: '/down' }));
    expect(error).toBeInstanceOf(HttpTransientExhaustedError);
    expect(error.code).toBe('HTTP_TRANSIENT_EXHAUSTED');
    expect(error.status).toBe(503);
    expect((error as HttpTransientExhaustedError).attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(150);
  });

  it('says "connection refused at host:port" after one retry of a refused connection, not "raise max attempts"', async () => {
    const port = await closedPort();
    const { http, calls } = client(`http://127.0.0.1:${port}/api`, { maxAttempts: 5, settingsPath: 'destinations.panel' });
    const error = await rejection(http.request({ method: 'GET', path: '/x' }));
    expect(error).toBeInstanceOf(HttpConnectionRefusedError);
    expect(error.code).toBe('HTTP_CONNECTION_REFUSED');
    expect(error.status).toBeNull();
    expect(error.message).toContain(`connection refused at 127.0.0.1:${port}`);
    expect(error.message).toContain('check the host and port of destinations.panel.base_url');
    expect(error.message).not.toMatch(/overloaded|max_attempts/);
    expect(error.mayHaveBeenApplied).toBe(false);
    expect(failsEveryRequest(error)).toBe(true);
    expect(error.cause).toBeInstanceOf(HttpNetworkError);
    expect((error.cause as HttpNetworkError).networkCode).toBe('ECONNREFUSED');
    // The first attempt and one retry, of 5 allowed.
    expect(calls).toHaveLength(2);
  });

  it('names the keys to raise when transient failures use up every attempt', async () => {
    server = await startLocalServer(json(503));
    const { http } = client(server.baseUrl, { maxAttempts: 2, settingsPath: 'destinations.panel', sleep: async () => {} });
    const error = await rejection(http.request({ method: 'GET', path: '/x' }));
    expect(error.code).toBe('HTTP_TRANSIENT_EXHAUSTED');
    expect(error.message).toContain('raise destinations.panel.max_attempts (now 2) or destinations.panel.timeout_ms');
  });

  it('throws HTTP_NETWORK at once for a failure a retry cannot fix (bad base_url)', async () => {
    const { http, calls } = client('http://127.0.0.1:99999/api', { maxAttempts: 3 });
    const error = await rejection(http.request({ method: 'GET', path: '/x' }));
    expect(error).toBeInstanceOf(HttpNetworkError);
    expect(error.code).toBe('HTTP_NETWORK');
    expect(error.message).toMatch(/base_url/);
    expect(calls).toHaveLength(1);
  });

  it('honours a 5xx Retry-After in the backoff', async () => {
    server = await startLocalServer(json(503, undefined, { 'retry-after': '2' }), json(200));
    const sleeps: number[] = [];
    const { http } = client(server.baseUrl, { backoff: { baseMs: 10, maxMs: 60_000 }, sleep: recordingSleep(sleeps) });
    await http.request({ method: 'GET', path: '/x' });
    expect(sleeps).toEqual([2000]);
  });

  it('returns 4xx other than 401 without retrying', async () => {
    server = await startLocalServer(json(422, { errors: [{ detail: 'bad' }] }), json(404));
    const { http, calls } = client(server.baseUrl);
    const res = await http.request({ method: 'POST', path: '/p', body: {} });
    expect(res).toMatchObject({ status: 422, body: { errors: [{ detail: 'bad' }] }, attempts: 1 });
    const missing = await http.request({ method: 'DELETE', path: '/p/1' });
    expect(missing).toMatchObject({ status: 404, body: undefined, attempts: 1 });
    expect(server.requests).toHaveLength(2);
    expect(calls).toHaveLength(2);
  });

  it('throws HTTP_UNAUTHORIZED on 401 at once, without the key in the message', async () => {
    server = await startLocalServer(json(401, { errors: [{ detail: `bad key ${KEY}` }] }));
    const { http, calls } = client(server.baseUrl);
    const error = await rejection(http.request({ method: 'GET', path: '/participants' }));
    expect(error).toBeInstanceOf(HttpUnauthorizedError);
    expect(error.code).toBe('HTTP_UNAUTHORIZED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/API key/);
    expect(error.message).toMatch(/base_url/);
    expect(error.message).not.toContain(KEY);
    expect(server.requests).toHaveLength(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.response_body).toBe('{"errors":[{"detail":"bad key [REDACTED]"}]}');
  });
});

describe('HttpClient: whether an earlier attempt may have been applied', () => {
  for (const { earlier, handlers, applied } of [
    { earlier: 'none', handlers: [json(422)], applied: false },
    { earlier: 'a 429', handlers: [json(429, undefined, { 'retry-after': '0' }), json(422)], applied: false },
    { earlier: 'a 408', handlers: [json(408), json(422)], applied: false },
    { earlier: 'a 500', handlers: [json(500), json(422)], applied: true },
    { earlier: 'a dropped connection', handlers: [drop, json(422)], applied: true },
    { earlier: 'a 429 after a dropped connection', handlers: [drop, json(429, undefined, { 'retry-after': '0' }), json(422)], applied: true },
    { earlier: 'a timeout', handlers: [hang, json(422)], applied: true },
  ]) {
    it(`after ${earlier}: ${applied}`, async () => {
      server = await startLocalServer(...handlers);
      const { http } = client(server.baseUrl, { timeoutMs: 300 });
      const res = await http.request({ method: 'POST', path: '/things', body: { a: 1 } });
      expect(res).toMatchObject({ status: 422, attempts: handlers.length, earlierAttemptMayHaveApplied: applied });
    });
  }
});

describe('HttpClient rate limiting', () => {
  it('waits Retry-After on 429 without consuming attempts', async () => {
    server = await startLocalServer(
      json(429, undefined, { 'retry-after': '1' }),
      json(429, undefined, { 'retry-after': '1' }),
      json(200, { ok: true }),
    );
    const { http, calls } = client(server.baseUrl, { maxAttempts: 1 });
    const res = await http.request({ method: 'GET', path: '/limited' });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(3);
    const [a, b, c] = server.requests.map((r) => r.at);
    expect(b! - a!).toBeGreaterThanOrEqual(990);
    expect(c! - b!).toBeGreaterThanOrEqual(990);
    expect(calls.map((call) => [call.attempt, call.status])).toEqual([
      [1, 429],
      [2, 429],
      [3, 200],
    ]);
  });

  it('a 429 pauses every request of the client until Retry-After', async () => {
    server = await startLocalServer(json(429, undefined, { 'retry-after': '1' }), json(200), json(200));
    let second: Promise<unknown> | undefined;
    const { http } = client(server.baseUrl, {
      onCall: (call) => {
        if (call.status === 429 && !second) second = http.request({ method: 'GET', path: '/second' });
      },
    });
    const first = await http.request({ method: 'GET', path: '/first' });
    await second;
    expect(first.status).toBe(200);
    const limitedAt = server.requests[0]!.at;
    const secondRequest = server.requests.find((r) => r.url.endsWith('/second'));
    expect(secondRequest).toBeDefined();
    expect(secondRequest!.at - limitedAt).toBeGreaterThanOrEqual(990);
  });

  it('reads Retry-After as an HTTP date', async () => {
    const future = new Date(Date.now() + 4_000).toUTCString();
    server = await startLocalServer(json(429, undefined, { 'retry-after': future }), json(200));
    const sleeps: number[] = [];
    const { http } = client(server.baseUrl, { sleep: recordingSleep(sleeps) });
    await http.request({ method: 'GET', path: '/x' });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(2_000);
    expect(sleeps[0]).toBeLessThanOrEqual(4_000);
  });

  it('waits 1 s after a 429 without Retry-After', async () => {
    server = await startLocalServer(json(429), json(200));
    const sleeps: number[] = [];
    const { http } = client(server.baseUrl, { sleep: recordingSleep(sleeps) });
    await http.request({ method: 'GET', path: '/x' });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(900);
    expect(sleeps[0]).toBeLessThanOrEqual(1_000);
  });

  it('fails with HTTP_RATE_LIMIT_EXCEEDED when 429s ask for more than maxRateLimitWaitMs', async () => {
    server = await startLocalServer(json(429, undefined, { 'retry-after': '3' }));
    const sleeps: number[] = [];
    const { http } = client(server.baseUrl, { maxRateLimitWaitMs: 7_000, sleep: recordingSleep(sleeps) });
    const error = await rejection(http.request({ method: 'GET', path: '/x' }));
    expect(error.code).toBe('HTTP_RATE_LIMIT_EXCEEDED');
    expect(error.status).toBe(429);
    // 3 s + 3 s fit in 7 s; a third 3 s wait would not.
    expect(server.requests).toHaveLength(3);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(7_000);
    expect(sleeps).toHaveLength(2);
  });
});

describe('HttpClient headers and redaction', () => {
  it('sends the configured headers exactly, Content-Type only with a body', async () => {
    server = await startLocalServer(json(200));
    const { http } = client(server.baseUrl);
    await http.request({ method: 'PATCH', path: '/participants/batches', body: { participants: [] } });
    await http.request({ method: 'GET', path: '/participants?page%5Bsize%5D=2&page%5Bnumber%5D=1' });
    const [patch, get] = server.requests;
    expect(patch).toMatchObject({ method: 'PATCH', url: '/api/participants/batches', body: '{"participants":[]}' });
    expect(patch!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(patch!.headers.accept).toBe('application/x-test');
    expect(patch!.headers['content-type']).toBe('application/x-test+json');
    expect(get).toMatchObject({ method: 'GET', url: '/api/participants?page%5Bsize%5D=2&page%5Bnumber%5D=1' });
    expect(get!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(get!.headers.accept).toBe('application/x-test');
    expect(get!.headers['content-type']).toBeUndefined();
  });

  it('never records the key: not in URLs, request or response bodies, errors', async () => {
    const echo = json(200); // replaced below by a handler that echoes what it received
    server = await startLocalServer(echo);
    server.script(
      (req, res) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ youSent: req.headers.authorization, url: req.url }));
      },
      drop,
      (req, res, received) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ auth: req.headers.authorization, body: received.body, url: req.url }));
      },
    );
    const { http, calls } = client(server.baseUrl, { maxAttempts: 5 });
    const res = await http.request<{ auth: string }>({
      method: 'POST',
      path: `/echo?api_key=${encodeURIComponent(KEY)}`,
      body: { note: `my key is ${KEY}`, quoted: `"${KEY}"` },
    });
    expect(res.body?.auth).toBe(`Bearer ${KEY}`); // the caller gets the real body
    expect(calls).toHaveLength(3);
    const recorded = JSON.stringify(calls);
    expect(recorded).not.toContain(KEY);
    expect(recorded).not.toContain('SECRET');
    expect(calls[0]!.url).toBe(`${server.baseUrl}/echo?api_key=[REDACTED]`);
    expect(calls[0]!.response_body).toContain('[REDACTED]');
    expect(calls[1]!.error).toContain('api_key=[REDACTED]');
    expect(calls[2]!.request_body).toBe(JSON.stringify({ note: 'my key is [REDACTED]', quoted: '"[REDACTED]"' }));
  });

  it('redacts the key from thrown errors', async () => {
    server = await startLocalServer(json(502));
    const { http } = client(server.baseUrl, { maxAttempts: 2 });
    const error = await rejection(http.request({ method: 'GET', path: `/x?key=${KEY}` }));
    expect(error.code).toBe('HTTP_TRANSIENT_EXHAUSTED');
    expect(error.message).toContain('key=[REDACTED]');
    expect(error.message).not.toContain(KEY);
  });
});

/** Answers with `handler` after `ms`. */
function after(ms: number, handler: Handler): Handler {
  return (req, res, received) => void setTimeout(() => handler(req, res, received), ms);
}

/** An AbortSignal aborted `ms` after the call. */
function abortAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

describe('HttpClient abort', () => {
  it('ends the wait at the rate-limit gate at once with HTTP_ABORTED, and sends nothing more', async () => {
    server = await startLocalServer(json(429, undefined, { 'retry-after': '30' }), json(200));
    const { http, calls } = client(server.baseUrl, { signal: abortAfter(200) });
    const t0 = Date.now();
    const error = await rejection(http.request({ method: 'PATCH', path: '/things', body: {} }));
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(HttpAbortedError);
    expect(error).toMatchObject({ code: 'HTTP_ABORTED', retryable: false });
    expect(error.message).toMatch(/^PATCH http:.*\/things was not sent: the run was stopped/);
    expect(server.requests).toHaveLength(1);
    expect(calls.map((c) => c.status)).toEqual([429]);
  });

  it("ends a retry's backoff at once (a 503's Retry-After of 30 s)", async () => {
    server = await startLocalServer(json(503, undefined, { 'retry-after': '30' }), json(200));
    const { http } = client(server.baseUrl, { backoff: { baseMs: 10, maxMs: 60_000 }, signal: abortAfter(200) });
    const t0 = Date.now();
    const error = await rejection(http.request({ method: 'GET', path: '/x' }));
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(error.code).toBe('HTTP_ABORTED');
    expect(server.requests).toHaveLength(1);
  });

  it('never cuts an exchange on the wire: its response is returned', async () => {
    server = await startLocalServer(after(600, json(200, { ok: true })));
    const { http, calls } = client(server.baseUrl, { signal: abortAfter(100) });
    const res = await http.request({ method: 'PATCH', path: '/things', body: {} });
    expect(res).toMatchObject({ status: 200, body: { ok: true }, attempts: 1 });
    expect(calls.map((c) => [c.status, c.error])).toEqual([[200, null]]);
  });

  it('sends nothing once the signal is aborted', async () => {
    server = await startLocalServer(json(200));
    const { http, calls } = client(server.baseUrl, { signal: AbortSignal.abort() });
    const error = await rejection(http.request({ method: 'GET', path: '/x' }));
    expect(error.code).toBe('HTTP_ABORTED');
    expect(server.requests).toHaveLength(0);
    expect(calls).toHaveLength(0);
  });

  it('an abort of another client does not stop this one at a shared gate', async () => {
    server = await startLocalServer(json(429, undefined, { 'retry-after': '1' }), json(200));
    const gate = new RateLimitGate();
    const waiting = client(server.baseUrl, { rateLimitGate: gate });
    // The second client's request starts once the 429 has closed the gate (not after a fixed sleep).
    let second: ReturnType<typeof waiting.http.request> | undefined;
    const aborted = client(server.baseUrl, {
      rateLimitGate: gate,
      signal: abortAfter(100),
      onCall: (call) => {
        if (call.status === 429) second ??= waiting.http.request({ method: 'GET', path: '/b' });
      },
    });
    const first = rejection(aborted.http.request({ method: 'GET', path: '/a' }));
    expect((await first).code).toBe('HTTP_ABORTED');
    expect((await second!).status).toBe(200);
    expect(server.requests.map((r) => r.url)).toEqual(['/api/a', '/api/b']);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(990);
  });
});
