/**
 * Child process of bounded-state.test.ts: `node --import tsx timed-writer.ts PATH` commits one
 * small write transaction (BEGIN IMMEDIATE, as a run's commit or a lock heartbeat does) every
 * 20 ms into table `probe` of the database at PATH, timing each from BEGIN to COMMIT, after
 * printing `ready`. On a line on stdin it stops and prints `{ "commits": N, "maxMs": M }`.
 */
import Database from 'better-sqlite3';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

const path = process.argv[2];
if (!path) throw new Error('usage: timed-writer.ts PATH');
const db = new Database(path);
db.pragma('busy_timeout = 5000');
const insert = db.prepare('INSERT INTO probe (at) VALUES (?)');
const write = db.transaction(() => insert.run(Date.now()));
let stop = false;
void once(process.stdin, 'data').then(() => (stop = true));
process.stdout.write('ready\n');
let commits = 0;
let maxMs = 0;
while (!stop) {
  const started = performance.now();
  write.immediate();
  maxMs = Math.max(maxMs, performance.now() - started);
  commits++;
  await sleep(20);
}
process.stdout.write(`${JSON.stringify({ commits, maxMs })}\n`);
db.close();
process.stdin.destroy();
