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
 * Binds `fetch` to `host:port` and resolves once it accepts connections.
 * @param port TCP port; 0 picks a free one
 * @throws the listen error (`EADDRINUSE`, `EACCES`…, with its `code`) when the port cannot be bound
 */
export async function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, host: string): Promise<ListeningServer> {
  const server = createAdaptorServer({ fetch, hostname: host }) as Server;
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
