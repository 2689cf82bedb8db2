import { PostgresSource } from './src/sources/postgres-source.ts';
import { MysqlSource } from './src/sources/mysql-source.ts';
import { DuckdbSource } from './src/sources/duckdb-source.ts';
import { SqliteSource } from './src/sources/sqlite-source.ts';
async function all(s: any, sql: string) { const out = []; for await (const c of s.stream(sql)) out.push(...c); return out; }
const pgs = new PostgresSource({ url: 'postgres://postgres@127.0.0.1:5432/postgres?options=-c%20TimeZone%3DAsia%2FKolkata' });
console.log(await all(pgs, `select 1::int as int, 9007199254740993::bigint as bigint, 42::bigint sb, 12345678901234567.89::numeric(20,2) as decimal, 1.5::float8 as float, 'NaN'::float8 nan, true as bool, date '2026-01-02' as date, timestamp '2026-01-02 03:04:05.123456' as ts, timestamptz '2026-01-02 03:04:05+02' as tstz, '0E984725-C51C-4BF4-9960-E1C80E27ABA0'::uuid as uuid, '{"a":[1,"x"],"b":null}'::jsonb as json, 'O''Köhler' as text, null::text as nothing, '\\xaa01'::bytea b, array[timestamptz '2026-01-02 03:04:05+02'] arr, array[1,2]::int8[] a8, current_setting('TimeZone') tz, interval '1 day 2 hours' iv, 'infinity'::timestamp inf, timestamp '0044-03-15 12:00:00 BC' bc`));
await pgs.close();
const my = new MysqlSource({ url: 'mysql://root@127.0.0.1:3306/' });
console.log(await all(my, "select 1 as `int`, 9007199254740993 as `bigint`, cast(42 as signed) sb, cast(12345678901234567.89 as decimal(20,2)) as `decimal`, cast(1.5 as double) as `float`, true as `bool`, date '2026-01-02' as `date`, timestamp '2026-01-02 03:04:05.123456' as ts, cast('0E984725-C51C-4BF4-9960-E1C80E27ABA0' as uuid) as uuid, json_object('a', json_array(1,'x'), 'b', null) as json, 'O''Köhler' as text, null as nothing, x'AA01' b, @@session.time_zone tz, sum(3) s, now() n"));
await my.close();
const dk = new DuckdbSource({ path: ':memory:', fileSearchPath: '/tmp' });
console.log(await all(dk, `select 1::int a, 9007199254740993::bigint b, 12345678901234567.89::decimal(38,2) d, 1.5::double f, true t, date '2026-01-02' dt, timestamp '2026-01-02 03:04:05.123456' ts, timestamptz '2026-01-02 03:04:05+02' tz, uuid '0E984725-C51C-4BF4-9960-E1C80E27ABA0' u, '{"a":[1,2]}'::json j, 'O''Köhler' s, null n, '\\xAA'::blob bl, [1,2] l, {'x': 1} st`));
await dk.close();
const sq = new SqliteSource({ path: 'examples/chinook/data/chinook.sqlite' });
console.log(await all(sq, `select 1 a, 9007199254740993 b, 1.5 f, x'aa' bl, 'Köhler' s, null n, printf('%.2f', 12.5) d`));
await sq.close();
