import { createPostgresDatabase, createMysqlDatabase, loadChinookPostgres, loadChinookMysql } from './test/helpers/databases.ts';
let t = Date.now();
const p = await createPostgresDatabase(); await loadChinookPostgres(p.url); console.log('pg', Date.now() - t, p.url); t = Date.now();
const m = await createMysqlDatabase(); await loadChinookMysql(m.url); console.log('my', Date.now() - t, m.url);
console.log(JSON.stringify({p: p.url, m: m.url}));
