/**
 * Serves the emulator app on a real socket (loopback by default), for tests, the demo, benchmarks
 * and `panelsync emulator`.
 */
import { listen } from '../http/listen.ts';
import { createEmulatorApp, type EmulatorOptions } from './create-emulator-app.ts';

/** Where to listen, besides the emulator options. */
export interface StartEmulatorOptions extends EmulatorOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
}

/** A running emulator. */
export interface RunningEmulator {
  /** `http://HOST:PORT`, with the port actually bound. */
  url: string;
  /** The API base URL: `url + '/api'`. */
  apiUrl: string;
  /** Stops listening, drops open connections and ends pending waits; resolves once closed. */
  close(): Promise<void>;
}

/**
 * Starts the emulator. Resolves once it accepts connections.
 * @throws EmulatorOptionsError for invalid options; the listen error (`EADDRINUSE`, `EACCES`…) when
 *   the port cannot be bound.
 */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const { port = 0, host = '127.0.0.1', ...emulatorOptions } = options;
  const shutdown = new AbortController();
  const app = createEmulatorApp({ ...emulatorOptions, signal: anySignal(shutdown.signal, options.signal) });
  const server = await listen(app.fetch, port, host);
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    apiUrl: `${server.url}/api`,
    close: () => {
      shutdown.abort();
      return (closing ??= server.close());
    },
  };
}

function anySignal(own: AbortSignal, other: AbortSignal | undefined): AbortSignal {
  return other ? AbortSignal.any([own, other]) : own;
}
