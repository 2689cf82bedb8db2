/**
 * `panelsync demo`: the Chinook demo, needing nothing outside the repository. It starts a User
 * Interviews emulator on a free loopback port, syncs the 59 Chinook customers into it, runs again
 * to show that nothing is re-sent, and says where to look next. Its state lives in a temporary
 * directory, as its emulator does: the project's own state (examples/chinook/.panelsync) is left
 * for the user's runs against an emulator of their own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadProject } from '../config/load-project.ts';
import { SyncEvents } from '../engine/events.ts';
import { runSync } from '../engine/run-sync.ts';
import type { RunSummary } from '../engine/run-summary.ts';
import { DEMO_API_KEY } from '../emulator/create-emulator-app.ts';
import { startEmulator } from '../emulator/start-emulator.ts';
import { EXIT, type RegisterCommand } from './exit-codes.ts';
import { formatSummary } from './format-summary.ts';
import { reportCommandError } from './report-error.ts';
import { attachProgress } from './run-progress.ts';

/** The demo project, shipped in the repository. */
export const DEMO_PROJECT_DIR = fileURLToPath(new URL('../../examples/chinook', import.meta.url));
const DEMO_SYNC = 'customers-to-panel';
/** The characteristics the demo's mappings write, as the emulator defines them. */
const DEMO_CHARACTERISTICS = [
  { slug: 'lifetime_value', type: 'number', name: 'Lifetime value' },
  { slug: 'last_purchase', type: 'date', name: 'Last purchase' },
  { slug: 'source', type: 'text', name: 'Source' },
  { slug: 'location', type: 'text', name: 'Location' },
] as const;

export const registerDemoCommand: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('demo')
    .description('sync the Chinook sample customers into a local User Interviews emulator, twice')
    .action(async () => {
      const out = (line = '') => process.stdout.write(`${line}\n`);
      const emulator = await startEmulator({ apiKeys: [DEMO_API_KEY], characteristics: [...DEMO_CHARACTERISTICS] });
      const stateDir = mkdtempSync(join(tmpdir(), 'panelsync-demo-'));
      try {
        const loaded = await loadProject({
          projectDir: DEMO_PROJECT_DIR,
          env: { ...process.env, UI_API_KEY: DEMO_API_KEY, UI_BASE_URL: emulator.apiUrl },
        });
        // The emulator starts empty and goes away at the end: so does the demo's state.
        const project = { ...loaded, statePath: join(stateDir, 'state.db') };
        out(`User Interviews emulator listening on ${emulator.url} (API key "${DEMO_API_KEY}")`);
        out(`Project ${DEMO_PROJECT_DIR}/panelsync.yml: Chinook customers (SQLite) -> participants, mode upsert`);
        out();

        out('Run 1: every customer is new.');
        const first = await demoRun(project);
        const state = (await (await fetch(`${emulator.url}/_emulator/state`)).json()) as { participants: unknown[] };
        out(`The emulator now holds ${state.participants.length} participants; the first one:`);
        out(JSON.stringify(state.participants[0], null, 2).replace(/^/gm, '  '));
        out();

        out('Run 2: nothing changed in the model, so nothing is sent.');
        const before = await writeCalls(emulator.url);
        const second = await demoRun(project);
        out(`Write calls made by run 2: ${(await writeCalls(emulator.url)) - before}`);
        out();
        out('Where to look next:');
        out('  - the project file:   examples/chinook/panelsync.yml (model SQL, mappings, delete behaviour)');
        out('  - run it yourself:    npx panelsync emulator --characteristics lifetime_value:number,last_purchase:date,source:text,location:text');
        out('                        (in a second terminal, from the repository root:)');
        out('                        UI_API_KEY=demo-key npx panelsync run customers-to-panel --project examples/chinook');
        out('  - see the runs:       npx panelsync runs --project examples/chinook');
        out('                        npx panelsync debug RUN_ID --project examples/chinook   (its API calls, rejected rows)');
        out('  - check a project:    UI_API_KEY=demo-key npx panelsync validate --project examples/chinook');
        out('  - every command:      npx panelsync --help');
        const ok = (s: RunSummary) => s.status === 'success' || s.status === 'warning';
        setExitCode(ok(first) && ok(second) ? EXIT.ok : EXIT.failed);
      } catch (error) {
        setExitCode(reportCommandError(error, false));
      } finally {
        await emulator.close();
        rmSync(stateDir, { recursive: true, force: true });
      }
    });
};

async function demoRun(project: Awaited<ReturnType<typeof loadProject>>): Promise<RunSummary> {
  const events = new SyncEvents();
  const detach = attachProgress(events, { stream: process.stdout });
  try {
    const summary = await runSync({ project, sync: DEMO_SYNC, events });
    process.stdout.write(formatSummary(summary, project.syncs[DEMO_SYNC]?.delete_behavior));
    return summary;
  } finally {
    detach();
  }
}

/** Requests to the emulator's API that write participants. */
async function writeCalls(emulatorUrl: string): Promise<number> {
  const stats = (await (await fetch(`${emulatorUrl}/_emulator/stats`)).json()) as { by_route: Record<string, number> };
  return Object.entries(stats.by_route)
    .filter(([route]) => !route.startsWith('GET '))
    .reduce((sum, [, n]) => sum + n, 0);
}
