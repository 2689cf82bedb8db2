/**
 * `npm test` with PostgreSQL or MariaDB stopped says in one line what to start (issue 11, item 3):
 * the global setup of test/helpers/database-servers.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { databaseServerProblem, databaseServers } from '../helpers/database-servers.ts';
import { closedPort } from '../alerts/alert-project.ts';

describe('the database servers the tests need', () => {
  it('a stopped server is one line: which, where, and the command that starts it', async () => {
    const port = await closedPort();
    const [postgres, mariadb] = databaseServers({
      PANELSYNC_TEST_POSTGRES_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
      PANELSYNC_TEST_MYSQL_URL: `mysql://root@127.0.0.1:${port}/`,
    });
    expect(await databaseServerProblem(postgres!)).toBe(
      `PostgreSQL is not running on 127.0.0.1:${port} (ECONNREFUSED): start it (\`.ci/run\` does: ` +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), or set PANELSYNC_TEST_POSTGRES_URL to a server that is running',
    );
    const problem = await databaseServerProblem(mariadb!);
    expect(problem).toMatch(new RegExp(`^MariaDB is not running on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): start it`));
    expect(problem).not.toContain('\n');
  });

  it('a running server is no problem', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const [postgres] = databaseServers({ PANELSYNC_TEST_POSTGRES_URL: `postgres://postgres@127.0.0.1:${port}/postgres` });
      expect(await databaseServerProblem(postgres!)).toBeNull();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('tells the same start commands as .ci/run uses', () => {
    const ci = readFileSync(fileURLToPath(new URL('../../.ci/run', import.meta.url)), 'utf8');
    for (const server of databaseServers({})) expect(ci).toContain(server.start);
  });
});
