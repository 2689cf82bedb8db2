/**
 * `panelsync unlock SYNC [--project DIR] [--force]`: breaks the run lock of a sync whose run is
 * gone, after checking the holder's lease (see LOCK_LEASE_MS in src/state/state-store.ts):
 * - not locked: says so (exit 0);
 * - the lease ran out, or the holder ran on this host and its process is gone: breaks it (exit 0);
 * - the lease is live (its heartbeat renews it, so the run is most likely still going): refuses
 *   and says who holds it (exit 1), unless `--force`: then breaks it, and that run, if it is still
 *   alive, stops sending at its next heartbeat and ends `failed`.
 * A lock that changed between the check and the break (renewed, or taken by another run) is
 * left alone (exit 1). Reads only the state location: needs no API key (`${VAR}` values may be unset).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadStateLocation } from '../config/load-project.ts';
import { RunError } from '../engine/run-sync.ts';
import { holderIsGone, SqliteStateStore } from '../state/sqlite-state-store.ts';
import { describeLock, leaseExpired, LOCK_HEARTBEAT_MS } from '../state/state-store.ts';
import { EXIT, type ExitCode, type RegisterCommand } from './exit-codes.ts';
import { addProjectOption, type ProjectOption } from './project-option.ts';
import { recordCliAction } from './cli-audit.ts';
import { reportCommandError } from './report-error.ts';

interface UnlockOptions extends ProjectOption {
  force?: boolean;
}

export const registerUnlockCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('unlock')
      .description("break a sync's run lock left by a run that is gone (a killed process, a lost host)")
      .argument('<sync>', 'the sync whose lock to break (a key of `syncs` in the project file)')
      .option('--force', 'break the lock even while its lease is live; that run stops sending at its next heartbeat'),
  ).action(async (syncName: string, opts: UnlockOptions) => {
    setExitCode(await unlock(syncName, opts));
  });
};

async function unlock(syncName: string, opts: UnlockOptions): Promise<ExitCode> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const fail = (line: string) => {
    process.stderr.write(`error: ${line}\n`);
    return EXIT.failed;
  };
  let store: SqliteStateStore | undefined;
  try {
    const location = await loadStateLocation({ projectDir: opts.project });
    if (!location.syncs.includes(syncName)) {
      throw new RunError('SYNC_UNKNOWN', `unknown sync "${syncName}" (known: ${location.syncs.join(', ') || 'none'})`);
    }
    if (!existsSync(location.statePath)) {
      out(`sync "${syncName}" is not locked (no run was ever recorded in ${location.statePath}).`);
      return EXIT.ok;
    }
    store = new SqliteStateStore(location.statePath);
    const audit = (result: 'succeeded' | 'refused', detail: string) =>
      recordCliAction(store!.db, [], { action: 'unlock', sync: syncName, target: null, run_id: null, result, detail });
    const lock = store.readLock(syncName);
    if (!lock) {
      out(`sync "${syncName}" is not locked.`);
      audit('succeeded', 'the sync was not locked: nothing to break');
      return EXIT.ok;
    }
    const now = Date.now();
    let why: string;
    if (leaseExpired(lock, now)) why = 'its run stopped renewing it (its process is gone or stuck)';
    else if (holderIsGone(lock)) why = `its process (pid ${lock.pid}) is no longer running on this host`;
    else if (opts.force) why = `its lease was live (--force): that run, if it is still alive, stops sending within ${LOCK_HEARTBEAT_MS / 1000} s and ends failed`;
    else {
      audit('refused', `the lock of run ${lock.runId} has a live lease; break it with --force`);
      return fail(
        `sync "${syncName}" is locked: ${describeLock(lock, now)}. That run is most likely still going: ` +
          'let it finish, or stop its process (a lock whose process is gone frees itself when its lease runs out). ' +
          `If it hangs, break the lock anyway with: panelsync unlock ${syncName} --force`,
      );
    }
    if (!store.breakLock(lock)) {
      audit('refused', 'the lock changed while unlocking (renewed, or taken by another run)');
      return fail(`the lock of sync "${syncName}" changed while unlocking (its run renewed it, or another run took it); nothing was broken. Run panelsync unlock ${syncName} again to see who holds it`);
    }
    audit('succeeded', `broke the lock of run ${lock.runId} (pid ${lock.pid} on host ${lock.host}): ${why}`);
    out(`broke the lock of sync "${syncName}": ${describeLock(lock, now)}; ${why}.`);
    return EXIT.ok;
  } catch (error) {
    return reportCommandError(error, false);
  } finally {
    store?.close();
  }
}
