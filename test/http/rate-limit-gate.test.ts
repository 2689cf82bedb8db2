import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, type HttpClientOptions } from '../../src/http/http-client.ts';
import { RateLimitGate, sharedRateLimitGate } from '../../src/http/rate-limit-gate.ts';
import { readRateLimitHeaders } from '../../src/http/rate-limit-headers.ts';
import { json, startLocalServer, type LocalServer } from './local-server.ts';

const KEY = 'sk_test_gate_7f3e';

let server: LocalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function client(baseUrl: string, overrides: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({
    baseUrl,
    headers: { Authorization: `Bearer ${KEY}` },
    timeoutMs: 2_000,
    maxAttempts: 1,
    secrets: [KEY],
    ...overrides,
  });
}

/**
 * Client `a` meets a 429 (Retry-After 1 s); client `b` starts a request as soon as `a` recorded
 * it. Returns how long after `a`'s 429 `b`'s request reached the server, ms.
 */
async function secondClientDelay(gateA: RateLimitGate | undefined, gateB: RateLimitGate | undefined): Promise<number> {
  server = await startLocalServer(json(429, undefined, { 'retry-after': '1' }), json(200));
  const b = client(server.baseUrl, gateB ? { rateLimitGate: gateB } : {});
  let second: Promise<unknown> | undefined;
  const a = client(server.baseUrl, {
    ...(gateA ? { rateLimitGate: gateA } : {}),
    onCall: (call) => {
      if (call.status === 429) second ??= b.request({ method: 'GET', path: '/b' });
    },
  });
  expect((await a.request({ method: 'GET', path: '/a' })).status).toBe(200);
  await second;
  const limitedAt = server.requests[0]!.at;
  const fromB = server.requests.find((r) => r.url === '/api/b');
  expect(fromB).toBeDefined();
  return fromB!.at - limitedAt;
}

describe('sharedRateLimitGate', () => {
  it('is one gate per base URL and API key', () => {
    const gate = sharedRateLimitGate('https://api.example.test/api', 'key-1');
    expect(sharedRateLimitGate('https://api.example.test/api/', 'key-1')).toBe(gate);
    expect(sharedRateLimitGate('https://api.example.test/api', 'key-2')).not.toBe(gate);
    expect(sharedRateLimitGate('https://other.example.test/api', 'key-1')).not.toBe(gate);
  });

  it('two clients on one gate respect each other\'s 429 Retry-After', async () => {
    const gate = sharedRateLimitGate('http://shared.example.test/api', KEY);
    expect(await secondClientDelay(gate, gate)).toBeGreaterThanOrEqual(990);
  });

  it('a client with a gate of its own is not held by another client\'s 429', async () => {
    expect(await secondClientDelay(undefined, undefined)).toBeLessThan(500);
  });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const accepted = (headers: Record<string, string> = {}) => ({ status: 200, headers });
const limited = (retryAfter: string) => ({ status: 429, headers: { 'retry-after': retryAfter } });

/** Lets `count` exchanges through `gate` at once, each ending `result` 5 ms after it passed; returns when each passed (epoch ms), in order. */
async function burst(gate: RateLimitGate, count: number, result = accepted()): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const pass = await gate.enter(sleep);
      await sleep(5);
      pass.done(result);
      return pass.startedAt;
    }),
  );
}

/** How long after the first each exchange was let through, in order, ms. */
const offsets = (times: number[]) => [...times].sort((a, b) => a - b).map((t, _, [first]) => t - first!);

describe('RateLimitGate', () => {
  it('spaces waiting exchanges at the pace a RateLimit-Policy header gives, one by one, not all at once', async () => {
    const gate = new RateLimitGate();
    const first = await gate.enter(sleep);
    first.done(accepted({ 'ratelimit-policy': '10;w=1', 'ratelimit-remaining': '9', 'ratelimit-reset': '1' }));
    expect(gate.requestsPerSecond).toBe(10);
    const times = await burst(gate, 5);
    // 10 per second: the k-th k × 100 ms after the first (50 ms of timer slack), not all at once.
    offsets(times).forEach((offset, k) => expect(offset).toBeGreaterThanOrEqual(k * 100 - 50));
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(700);
  });

  it('learns the pace from a 429 after a busy stretch, holds every exchange until Retry-After, then spaces them', async () => {
    const gate = new RateLimitGate();
    await burst(gate, 4); // accepted, one after another (concurrency starts at 1)
    const pass = await gate.enter(sleep);
    pass.done(limited('0.3'));
    const limitedAt = Date.now();
    // 4 accepted over ~20 ms of stretch plus the 300 ms Retry-After: about 12 per second.
    expect(gate.requestsPerSecond).toBeGreaterThan(9);
    expect(gate.requestsPerSecond).toBeLessThan(14);
    const times = await burst(gate, 4);
    expect(Math.min(...times) - limitedAt).toBeGreaterThanOrEqual(290);
    offsets(times).forEach((offset, k) => expect(offset).toBeGreaterThanOrEqual(k * (1000 / 14) - 50));
  });

  it('a used-up quota before any pace is known holds exchanges until its reset and teaches the pace, with no 429', async () => {
    const gate = new RateLimitGate();
    await burst(gate, 3);
    const last = await gate.enter(sleep);
    last.done(accepted({ 'ratelimit-limit': '4', 'ratelimit-remaining': '0', 'ratelimit-reset': '0.3' }));
    const usedUpAt = Date.now();
    expect(gate.requestsPerSecond).not.toBeNull();
    const [next] = await burst(gate, 1);
    expect(next! - usedUpAt).toBeGreaterThanOrEqual(290);
  });

  it('reads X-RateLimit-Reset as epoch seconds and RateLimit-Reset as delta seconds; a policy gives the pace', () => {
    const now = 1_700_000_000_000;
    expect(readRateLimitHeaders({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1700000002' }, now)).toEqual({ waitUntilMs: now + 2_000 });
    expect(readRateLimitHeaders({ 'ratelimit-remaining': '0', 'ratelimit-reset': '3' }, now)).toEqual({ waitUntilMs: now + 3_000 });
    expect(readRateLimitHeaders({ 'ratelimit-remaining': '5', 'ratelimit-reset': '3', 'ratelimit-policy': '100;w=60, 10;w=1' }, now)).toEqual({
      requestsPerSecond: 100 / 60,
    });
    expect(readRateLimitHeaders({ 'ratelimit-policy': 'nonsense', 'x-ratelimit-remaining': 'none' }, now)).toEqual({});
  });

  it('AIMD: concurrency grows with accepted exchanges and halves once per 429, not once per 429 of the same flight', async () => {
    const gate = new RateLimitGate();
    expect(gate.concurrency).toBe(1);
    await burst(gate, 30);
    const grown = gate.concurrency;
    expect(grown).toBeGreaterThanOrEqual(6);
    const inFlight = await Promise.all(Array.from({ length: 3 }, () => gate.enter(sleep)));
    for (const pass of inFlight) pass.done(limited('0'));
    expect(gate.concurrency).toBe(Math.floor(grown / 2));
  });

  it('an abort while waiting for a place in flight leaves the line and frees nothing it did not take', async () => {
    const gate = new RateLimitGate();
    const holder = await gate.enter(sleep);
    const stop = new AbortController();
    const waiting = gate.enter(sleep, undefined, stop.signal);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    holder.done(accepted());
    const next = await gate.enter(sleep);
    next.done(accepted());
  });
});

describe('HttpClient wait budget', () => {
  it("other requests' 429s do not use up a request's own wait budget", async () => {
    const seen = new Map<string, number>();
    server = await startLocalServer((req, res, received) => {
      const n = (seen.get(received.url) ?? 0) + 1;
      seen.set(received.url, n);
      json(n === 1 ? 429 : 200, undefined, { 'retry-after': '1' })(req, res, received);
    });
    const gate = new RateLimitGate();
    let second: Promise<unknown> | undefined;
    // b may wait 1.5 s on its own 429s: 1 s of its own fits, 1 s of a's pause must not count.
    const b = client(server.baseUrl, { rateLimitGate: gate, maxRateLimitWaitMs: 1_500 });
    const a = client(server.baseUrl, {
      rateLimitGate: gate,
      onCall: (call) => {
        if (call.status === 429) second ??= b.request({ method: 'GET', path: '/b' });
      },
    });
    expect((await a.request({ method: 'GET', path: '/a' })).status).toBe(200);
    expect(await second).toMatchObject({ status: 200, attempts: 2 });
    const fromB = server.requests.filter((r) => r.url === '/api/b');
    // b's first exchange waited for a's Retry-After, its second for its own.
    expect(fromB[0]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(990);
    expect(fromB[1]!.at - fromB[0]!.at).toBeGreaterThanOrEqual(990);
  });
});
