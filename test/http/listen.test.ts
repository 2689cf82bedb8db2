/**
 * The servers panelsync runs (the emulator, `serve`) keep an idle keep-alive connection open
 * longer than a client's own idle timeout: the client closes it, never the server under a request
 * already on its way (see KEEP_ALIVE_TIMEOUT_MS).
 */
import { Agent, request } from 'node:http';
import { expect, it } from 'vitest';
import { KEEP_ALIVE_TIMEOUT_MS, listen } from '../../src/http/listen.ts';

function get(url: string, agent: Agent): Promise<{ status: number; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('keeps an idle keep-alive connection open past Node\'s default 5 s', { timeout: 20_000 }, async () => {
  expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(60_000);
  const server = await listen(() => new Response('ok'), 0, '127.0.0.1');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    expect(await get(`${server.url}/`, agent)).toEqual({ status: 200, reusedSocket: false });
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    // With the default, the server would have closed the socket after 5 s idle: a new one now.
    expect(await get(`${server.url}/`, agent)).toEqual({ status: 200, reusedSocket: true });
  } finally {
    agent.destroy();
    await server.close();
  }
});
