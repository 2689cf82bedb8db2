/**
 * `npm run fuzz -- --runs N [--seed S] [--without KIND,…]`: the randomized ledger test
 * (test/ledger/ledger-model.test.ts) with more sequences or another seed than `npm test` runs. Runs
 * `npx vitest run test/ledger/ledger-model.test.ts` with `LEDGER_FUZZ_RUNS` / `LEDGER_FUZZ_SEED` (/ `LEDGER_FUZZ_WITHOUT`)
 * set, prints the seed used and exits with Vitest's code. Without --seed a random seed is drawn;
 * a failure prints it again with the shrunk sequence, to replay with `--seed S --runs N`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = 'usage: npm run fuzz -- --runs N [--seed S] [--without KIND,…]';

function wholeNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) {
    console.error(`--${name} must be a whole number, got "${value}"\n${USAGE}`);
    process.exit(2);
  }
  return Number(value);
}

let values: { runs?: string; seed?: string; without?: string };
try {
  ({ values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' }, without: { type: 'string' } } }));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const runs = wholeNumber('runs', values.runs, 100);
const seed = wholeNumber('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
if (runs < 1) {
  console.error(`--runs must be at least 1\n${USAGE}`);
  process.exit(2);
}

const replay = `npm run fuzz -- --runs ${runs} --seed ${seed}${values.without === undefined ? '' : ` --without ${values.without}`}`;
console.log(`ledger fuzz: seed ${seed}, ${runs} sequences (replay: ${replay})`);
const child = spawn('npx', ['vitest', 'run', 'test/ledger/ledger-model.test.ts'], {
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  stdio: 'inherit',
  env: {
    ...process.env,
    LEDGER_FUZZ_RUNS: String(runs),
    LEDGER_FUZZ_SEED: String(seed),
    ...(values.without === undefined ? {} : { LEDGER_FUZZ_WITHOUT: values.without }),
  },
});
child.on('exit', (code, signal) => {
  console.log(`ledger fuzz: seed ${seed}, ${runs} sequences: ${code === 0 ? 'passed' : 'FAILED'}`);
  process.exit(code ?? (signal ? 1 : 0));
});
