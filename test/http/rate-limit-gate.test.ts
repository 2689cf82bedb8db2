import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, type HttpClientOptions } from '../../src/http/http-client.ts';
import { RateLimitGate, sharedRateLimitGate } from '../../src/http/rate-limit-gate.ts';
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
