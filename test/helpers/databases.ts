/**
 * Database fixtures for tests: uniquely named, throwaway databases on the local PostgreSQL
 * (127.0.0.1:5432, user postgres, trust auth) and MariaDB (127.0.0.1:3306, root, no password),
 * and loaders for the Chinook sample database (test/fixtures/chinook, see its LICENSE.md).
 *
 * Override the servers with `PANELSYNC_TEST_POSTGRES_URL` / `PANELSYNC_TEST_MYSQL_URL` (an admin
 * URL without a database path).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';

const execFileAsync = promisify(execFile);
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'chinook');
const POSTGRES_ADMIN_URL = process.env.PANELSYNC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MYSQL_ADMIN_URL = process.env.PANELSYNC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

/** The Chinook SQLite file shipped with the example project. */
export const CHINOOK_SQLITE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'chinook', 'data', 'chinook.sqlite');

/** A throwaway database: its connection URL, and `drop()` to remove it (idempotent). */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function uniqueName(): string {
  return `panelsync_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates an empty PostgreSQL database with a unique name. */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = uniqueName();
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    name,
    url: withDatabase(POSTGRES_ADMIN_URL, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Creates an empty MySQL/MariaDB database (utf8mb4) with a unique name. */
export async function createMysqlDatabase(): Promise<TestDatabase> {
  const name = uniqueName();
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    name,
    url: withDatabase(MYSQL_ADMIN_URL, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      const connection = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
      try {
        await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await connection.end();
      }
    },
  };
}

/**
 * The body of a Chinook dump without its DROP DATABASE / CREATE DATABASE / `\c` / `USE`
 * statements, so that it loads into the database the caller chose.
 */
async function chinookBody(file: string): Promise<string> {
  const dump = await readFile(join(FIXTURES, file), 'utf8');
  return dump
    .replace(/^DROP DATABASE IF EXISTS [^;]+;$/m, '')
    .replace(/^CREATE DATABASE [^;]+;$/m, '')
    .replace(/^\\c [^;\n]+;?$/m, '')
    .replace(/^USE [^;]+;$/m, '');
}

/**
 * Loads Chinook (snake_case: `customer.customer_id`, `first_name`, `invoice.total` …) into the
 * PostgreSQL database at `url` with `psql -v ON_ERROR_STOP=1` (well under a second).
 *
 * The dump writes strings as `N'…'`, which PostgreSQL types as `character(n)` and strips of
 * trailing spaces on the way into `varchar` ("Edinburgh " became "Edinburgh"); the prefix is
 * dropped so that the data matches the SQLite and MySQL copies byte for byte.
 */
export async function loadChinookPostgres(url: string): Promise<void> {
  const body = (await chinookBody('Chinook_PostgreSql.sql')).replace(/([(,]\s*)N'/g, "$1'");
  const child = execFileAsync('psql', ['-v', 'ON_ERROR_STOP=1', '-q', '-X', '-d', url], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(body);
  await child;
}

/**
 * Loads Chinook (PascalCase: `Customer.CustomerId`, `FirstName`, `Invoice.Total` …) into the
 * MySQL/MariaDB database at `url`, in one multi-statement batch over mysql2.
 */
export async function loadChinookMysql(url: string): Promise<void> {
  const body = await chinookBody('Chinook_MySql.sql');
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true, charset: 'utf8mb4' });
  try {
    await connection.query(body);
  } finally {
    await connection.end();
  }
}
