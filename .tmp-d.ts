import { DuckdbSource } from './src/sources/duckdb-source.ts';
const s = new DuckdbSource({ path: ':memory:', fileSearchPath: '/tmp' });
try { for await (const c of s.stream('SELEC 1')) console.log(c); } catch (e) { console.log((e as Error).message); }
