/**
 * Vitest global setup: before any test file runs, checks that the database servers the selected
 * test files need (PostgreSQL for those that call `createPostgresDatabase`, MariaDB for
 * `createMysqlDatabase`, see ./databases.ts) accept connections. When one does not, the run stops
 * at once with one line saying which server to start and how (the way `.ci/run` starts it),
 * instead of every database test failing with a connection error.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';

/** A database server the tests use: where, and how `.ci/run` starts it when it is down. */
export interface DatabaseServer {
  name: 'PostgreSQL' | 'MariaDB';
  /** Admin URL of the server (its host and port are probed). */
  url: string;
  /** The environment variable that overrides `url`. */
  urlVariable: string;
  /** How `.ci/run` starts it. */
  start: string;
  /** The helper of ./databases.ts whose callers need it. */
  helper: string;
}

/** The two servers, from the same defaults and overrides as ./databases.ts. */
export function databaseServers(env: Record<string, string | undefined> = process.env): DatabaseServer[] {
  return [
    {
      name: 'PostgreSQL',
      url: env.PANELSYNC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      urlVariable: 'PANELSYNC_TEST_POSTGRES_URL',
      start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
      helper: 'createPostgresDatabase',
    },
    {
      name: 'MariaDB',
      url: env.PANELSYNC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/',
      urlVariable: 'PANELSYNC_TEST_MYSQL_URL',
      start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
      helper: 'createMysqlDatabase',
    },
  ];
}

/**
 * Why the tests cannot use `server`, in one line, or `null` when it accepts a TCP connection
 * within `timeoutMs`.
 */
export async function databaseServerProblem(server: DatabaseServer, timeoutMs = 2_000): Promise<string | null> {
  const { hostname, port } = new URL(server.url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const portNumber = Number(port || (server.name === 'PostgreSQL' ? 5432 : 3306));
  const cause = await new Promise<string | null>((resolve) => {
    const socket = connect({ host, port: portNumber });
    const done = (result: string | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
  if (cause === null) return null;
  return (
    `${server.name} is not running on ${host}:${portNumber} (${cause}): start it (\`.ci/run\` does: ${server.start}), ` +
    `or set ${server.urlVariable} to a server that is running`
  );
}

/** The global setup: probes the servers the selected test files need; when one is down, prints one line per server and exits 1. */
export default async function setup(project: TestProject): Promise<void> {
  // The file filters given on the command line (`vitest run test/config`): only their files count.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
  const { testFiles } = await project.globTestFiles(filters);
  const sources = testFiles.map((file) => readFileSync(file, 'utf8'));
  const problems: string[] = [];
  for (const server of databaseServers()) {
    if (!sources.some((text) => text.includes(server.helper))) continue;
    const problem = await databaseServerProblem(server);
    if (problem !== null) problems.push(problem);
  }
  if (problems.length > 0) {
    // The line is the whole story: no stack trace, no "no test files found" after it.
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(1);
  }
}
