/**
 * What a person sees on stderr while a run goes: a progress bar over the rows to send (on a
 * terminal, for runs with more than one batch), and each invalid or rejected row (the first few).
 */
import cliProgress from 'cli-progress';
import type { SyncEvents } from '../engine/events.ts';

/** Rows listed one by one per kind before the rest is only counted. */
const LISTED_ROWS = 10;

/**
 * Subscribes to a run's events. Returns a function that detaches and closes the bar.
 * Everything goes to `stream` (stderr by default), so stdout keeps only the result.
 */
export function attachProgress(events: SyncEvents, options: { stream?: NodeJS.WriteStream } = {}): () => void {
  const stream = options.stream ?? process.stderr;
  const say = (line: string) => stream.write(`${line}\n`);
  let bar: cliProgress.SingleBar | null = null;
  let done = 0;
  let invalid = 0;
  let rejected = 0;
  const off = [
    events.on('run:start', (e) => say(`${e.sync}: run ${e.runId} started`)),
    events.on('run:planned', ({ counts }) => {
      say(
        `  plan     ${counts.added} to add, ${counts.changed} to change, ${counts.removed} removed, ${counts.unchanged} unchanged, ${counts.invalid} invalid`,
      );
      const total = counts.added + counts.changed;
      if (stream.isTTY && total > 100) {
        bar = new cliProgress.SingleBar(
          { stream, format: '  sending  [{bar}] {percentage}% | {value}/{total} rows | {eta_formatted} left', hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
    }),
    events.on('row:invalid', (e) => {
      if (++invalid <= LISTED_ROWS) say(`  invalid  ${e.pk ?? '(no primary key)'}: ${e.reason}`);
    }),
    events.on('row:rejected', (e) => {
      if (++rejected <= LISTED_ROWS) say(`  rejected ${e.pk}: ${e.error}`);
    }),
    events.on('batch:done', (e) => {
      done += e.rows;
      bar?.update(done);
    }),
    events.on('run:end', () => {
      bar?.stop();
      bar = null;
      if (invalid > LISTED_ROWS) say(`  … and ${invalid - LISTED_ROWS} more invalid rows`);
      if (rejected > LISTED_ROWS) say(`  … and ${rejected - LISTED_ROWS} more rejected rows`);
    }),
  ];
  return () => {
    bar?.stop();
    for (const detach of off) detach();
  };
}
