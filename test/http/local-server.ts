/**
 * A scripted HTTP server on 127.0.0.1, port 0, for tests of the HTTP layer and the destination
 * client: each request is answered by the next handler in the script (the last one repeats), and
 * every request is recorded with its arrival time, headers and body.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Date.now() when the request head arrived. */
  at: number;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, received: ReceivedRequest) => void;

export interface LocalServer {
  baseUrl: string;
  requests: ReceivedRequest[];
  /** Replaces the script. */
  script(...handlers: Handler[]): void;
  close(): Promise<void>;
}

/** Answers with `status`, a JSON body (if any) and extra headers. */
export function json(status: number, body?: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
    res.end(text);
  };
}

/** Destroys the connection without any response. */
export const drop: Handler = (req) => {
  req.socket.destroy();
};

/** Never answers (the client must time out). */
export const hang: Handler = () => {};

export async function startLocalServer(...handlers: Handler[]): Promise<LocalServer> {
  let script = handlers;
  let next = 0;
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at,
      };
      requests.push(received);
      const handler = script[Math.min(next, script.length - 1)];
      next += 1;
      if (!handler) throw new Error('local server: empty script');
      handler(req, res, received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api`,
    requests,
    script(...h) {
      script = h;
      next = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
