/**
 * Serves a fetch handler (a Hono app's `fetch`) on a real socket: what the emulator and
 * `panelsync serve` share.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/** A bound HTTP server. */
export interface ListeningServer {
  /** `http://HOST:PORT` with the port actually bound (IPv6 hosts in brackets). */
  url: string;
  /** Stops accepting, drops open connections (keep-alive, hanging requests); resolves once closed. */
  close(): Promise<void>;
}

/**
 * How long an idle keep-alive connection stays open, ms. Longer than any client's own idle timeout
 * (Node's fetch: 4 s, or the server's hint), so that the client, not the server, closes it: with
 * Node's default of 5 s, a server paused for seconds (a major garbage collection of the emulator
 * holding 10M participants) closed connections whose next request was already on its way, and
 * those requests failed `ECONNRESET` (their batches then in doubt).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Binds `fetch` to `host:port` and resolves once it accepts connections.
 * @param port TCP port; 0 picks a free one
 * @throws the listen error (`EADDRINUSE`, `EACCES`…, with its `code`) when the port cannot be bound
 */
export async function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, host: string): Promise<ListeningServer> {
  const server = createAdaptorServer({ fetch, hostname: host }) as Server;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Node's rule: the headers timeout must exceed the keep-alive timeout.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
