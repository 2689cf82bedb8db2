/**
 * The server's edges (issue 11, items 12 and 14), over real HTTP on loopback: request bodies are
 * capped (413 with the API's error shape, by Content-Length or counted as a chunked body streams
 * in), JSON responses are never sniffed nor cached, and the Basic credentials of a Twilio channel
 * (base64 of `account_sid:auth_token`) never leave in `GET /api/v1/syncs/{name}`.
 */
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '../../src/server/create-app.ts';
import { createChinookProject, type ChinookProject } from '../helpers/chinook-project.ts';
import { SYNC } from '../helpers/run-helpers.ts';
import { API_TOKEN, apiClient, startTestServer, writeServerProject } from './server-fixture.ts';

const TWILIO_SID = 'AC0123456789abcdef0123456789abcdef';
const TWILIO_TOKEN = 'tw-auth-token-5e4d3c2b1a';
const BASIC = Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64');

describe('panelsync serve: request limits and response headers', () => {
  let chinook: ChinookProject;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ReturnType<typeof apiClient>;

  beforeEach(async () => {
    chinook = await createChinookProject();
    writeServerProject(chinook);
    const file = join(chinook.dir, 'panelsync.yml');
    const config = parse(readFileSync(file, 'utf8')) as Record<string, any>;
    config.alerts = {
      channels: { sms: { type: 'sms', provider: 'twilio', account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN, from: '+15550100', to: ['+15550199'] } },
    };
    writeFileSync(file, stringify(config));
    server = await startTestServer(chinook);
    api = apiClient(server.url);
  });
  afterEach(async () => {
    await server.close();
    await chinook.close();
  });

  const trigger = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/v1/syncs/${SYNC}/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json', ...headers },
      body,
      duplex: 'half',
    } as RequestInit);

  it(`answers 413 PAYLOAD_TOO_LARGE to a body over ${MAX_REQUEST_BODY_BYTES} bytes, and starts no run`, async () => {
    const big = JSON.stringify({ full_resync: true, padding: 'x'.repeat(MAX_REQUEST_BODY_BYTES) });
    const res = await trigger(big);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.error.message).toContain(`larger than ${MAX_REQUEST_BODY_BYTES} bytes`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');

    // A chunked body (no Content-Length) is counted as it streams in: 80 KiB, in 16 KiB chunks.
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 5) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const chunked = await trigger(stream);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');

    const runs = await api(`/api/v1/syncs/${SYNC}/runs`);
    expect(runs.body.runs).toEqual([]);
    // A small body still works.
    expect((await trigger('{}')).status).toBe(202);
  });

  it('sends X-Content-Type-Options: nosniff and Cache-Control: no-store with every JSON response, errors included', async () => {
    for (const [path, token, status] of [
      ['/api/v1/syncs', API_TOKEN, 200],
      [`/api/v1/syncs/${SYNC}`, API_TOKEN, 200],
      ['/api/v1/runs/r-none', API_TOKEN, 404],
      ['/api/v1/syncs', null, 401],
      ['/api/v1/healthz', null, 200],
    ] as const) {
      const res = await api(path, { token });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it("never shows the Twilio channel's Basic credentials (base64 of account_sid:auth_token) in GET /api/v1/syncs/{name}", async () => {
    // As a delivery error quoting the request it sent would have been stored.
    const state = new Database(join(chinook.dir, 'state', 'state.db'));
    state
      .prepare(
        `INSERT INTO alert_deliveries (sync, channel, last_attempt_at, last_status, attempts, last_error, last_error_at)
         VALUES (?, 'sms', '2026-01-01T00:00:00.000Z', 'failed', 1, ?, '2026-01-01T00:00:00.000Z')`,
      )
      .run(SYNC, `HTTP 401 for Authorization: Basic ${BASIC}`);
    state.close();
    const res = await api(`/api/v1/syncs/${SYNC}`);
    expect(res.status).toBe(200);
    expect(res.body.alerts.deliveries[0].last_error).toBe('HTTP 401 for Authorization: Basic [REDACTED]');
    expect(res.text).not.toContain(BASIC.slice(0, 20));
    expect(res.text).not.toContain(TWILIO_TOKEN);
  });
});
