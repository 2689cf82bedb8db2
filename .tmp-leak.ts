import pg from 'pg'; import Cursor from 'pg-cursor';
const a = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await a.connect();
const b = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await b.connect();
const c = a.query(new Cursor('SELECT n FROM generate_series(1, 1000000) AS n')); await c.read(100);
console.log((await b.query("SELECT state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() and backend_type='client backend'")).rows);
await c.close();
console.log((await b.query("SELECT state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() and backend_type='client backend'")).rows);
await a.end(); await b.end();
