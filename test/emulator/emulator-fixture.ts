/** Starts a real emulator on 127.0.0.1:0 and sends API requests to it with global fetch. */
import { ACCEPT, CONTENT_TYPE } from '../../src/destinations/user-interviews/wire.ts';
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../../src/emulator/start-emulator.ts';

export interface EmulatorFixture {
  emulator: RunningEmulator;
  /** An API request with the right auth and version headers unless overridden. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** A test-route request (`/_emulator/...`), JSON in and out. */
  control(method: string, path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export async function startEmulatorFixture(options: StartEmulatorOptions = {}): Promise<EmulatorFixture> {
  const emulator = await startEmulator({ port: 0, ...options });
  return {
    emulator,
    api: (method, path, body, headers = {}) =>
      fetch(`${emulator.apiUrl}${path}`, {
        method,
        headers: {
          authorization: 'Bearer demo-key',
          accept: ACCEPT,
          ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    control: async (method, path, body) => {
      const response = await fetch(`${emulator.url}/_emulator${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} /_emulator${path}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    close: () => emulator.close(),
  };
}
