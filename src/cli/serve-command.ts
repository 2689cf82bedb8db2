/**
 * `panelsync serve [--project DIR] [--port 8080] [--host 127.0.0.1]`: runs the service — the HTTP
 * API and web UI, and the syncs' schedules — until SIGTERM or SIGINT.
 *
 * Prints exactly one line on stdout, `listening on http://HOST:PORT`, once it accepts connections;
 * run and error lines go to stderr as JSON Lines (pino: `level`, `time`, `msg`). On SIGTERM/SIGINT it stops the scheduler, lets running batches
 * finish (their runs are recorded `interrupted` and resume on the next run), closes the HTTP
 * server and exits 0. Exit codes: 0 stopped by a signal, 1 could not start (port in use…),
 * 2 configuration or usage error (no `server.api_token`, bad flag).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { ConfigError } from '../config/config-error.ts';
import { loadProject } from '../config/load-project.ts';
import { startServer, DEFAULT_HOST, DEFAULT_PORT } from '../server/start-server.ts';
import { waitForStopSignal } from './wait-for-signal.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';

interface ServeOptions {
  project?: string;
  port?: number;
  host?: string;
}

/** Adds `panelsync serve` to the program. */
export const registerServeCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('serve')
      .description('run the service: HTTP API, web UI and scheduled syncs, until SIGTERM or SIGINT')
      .option('--port <port>', `TCP port; 0 picks a free one (default: server.port, else ${DEFAULT_PORT})`, port)
      .option('--host <host>', `interface to listen on (default: server.host, else ${DEFAULT_HOST})`),
  ).action(async (opts: ServeOptions) => {
    const logger = pino({ base: { service: 'panelsync' } }, pino.destination({ fd: 2, sync: true }));
    let server;
    try {
      const project = await loadProject({ projectDir: opts.project });
      if (!project.server?.api_token) {
        throw new ConfigError('CONFIG_INVALID', [
          {
            path: 'server.api_token',
            message: 'missing: panelsync serve needs an API token; add server: { api_token: "${PANELSYNC_API_TOKEN}" } and set PANELSYNC_API_TOKEN (e.g. to the output of `openssl rand -hex 32`)',
          },
        ]);
      }
      server = await startServer({
        project,
        port: opts.port,
        host: opts.host,
        log: (line, level) => logger[level ?? 'info'](line),
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') {
        process.stderr.write(`error: the port is in use: choose another with --port (0 picks a free one)\n`);
        setExitCode(EXIT.failed);
        return;
      }
      setExitCode(reportCommandError(error, false));
      return;
    }
    process.stdout.write(`listening on ${server.url}\n`);
    await waitForStopSignal();
    logger.info('stopping: letting running batches finish');
    await server.close();
    setExitCode(EXIT.ok);
  });
};

function port(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed > 65535) throw new InvalidArgumentError('--port takes a whole number from 0 to 65535.');
  return parsed;
}
