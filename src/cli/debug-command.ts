/**
 * `panelsync debug RUN_ID [--project DIR] [--json] [--rejected] [--call N] [--export FILE] [--limit N]
 * [--calls-limit N]`: the live debugger for one run.
 *
 * - default: the run's summary, its first `--calls-limit` API calls (default
 *   {@link DEFAULT_DEBUG_CALLS}) in order as a tree (split retries nested under the call they
 *   split, retries marked, status, duration, rows sent; how many more calls the run made is said)
 *   and its rejected and invalid rows with their reasons (the API's own error);
 * - `--rejected`: the summary and the rejected and invalid rows only;
 * - `--call N`: call `#N`'s full request and response (bodies as stored: redacted, cut past
 *   {@link MAX_STORED_BODY_BYTES}) and the primary keys of the rows it carried;
 * - `--export FILE`: writes every row outcome of the run to FILE as JSON Lines (one
 *   {@link OutcomeItem} a line), to load back into a warehouse.
 *
 * `--json` prints exactly one object on stdout ({@link DebugJson}, {@link DebugCallJson} or
 * {@link DebugExportJson}). Rows are listed up to `--limit` (default {@link DEFAULT_DEBUG_ROWS});
 * `rows_total` says how many there are. Exit codes: 0 shown, 1 the run's details were pruned
 * (`--call`, `--export`), the export file cannot be written, or the command failed; 2 unknown run
 * or call, bad option or configuration error.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { RunSummary } from '../engine/run-summary.ts';
import { callTree } from '../state/call-tree.ts';
import type { CallDetail, CallTreeItem, OutcomeItem, RunDetail, RunHistory } from '../state/run-history.ts';
import { MAX_STORED_BODY_BYTES } from '../state/state-store.ts';
import type { RegisterCommand } from './exit-codes.ts';
import { batchRows, commonOrigin, formatCallTree } from './format-call-tree.ts';
import { formatDuration, formatTime, plural } from './format-history.ts';
import { formatSummary } from './format-summary.ts';
import { HistoryCommandError, parseLimit, runHistoryCommand, type HistoryContext, type HistoryOptions } from './history-command.ts';
import { addProjectOption } from './project-option.ts';
import { textTable } from './text-table.ts';

/** Rejected and invalid rows listed when no `--limit` is given. */
export const DEFAULT_DEBUG_ROWS = 100;
/** API calls shown when no `--calls-limit` is given (a run in insert mode makes one per row). */
export const DEFAULT_DEBUG_CALLS = 200;
/** Outcomes read per page while exporting. */
const EXPORT_PAGE = 1_000;
/** Primary keys named in `--call` text; more are counted. */
const NAMED_PKS = 20;

interface DebugOptions extends HistoryOptions {
  rejected?: boolean;
  call?: number;
  export?: string;
  limit?: number;
  callsLimit?: number;
}

/** `panelsync debug RUN --json` (`calls` absent with `--rejected`). */
export interface DebugJson {
  run: RunDetail;
  /**
   * The run's first `--calls-limit` calls (by `seq`), depth first, each placed as in the tree of
   * the whole run (see src/state/call-tree.ts): a call's place depends only on the calls before it.
   */
  calls?: CallTreeItem[];
  /** Calls the run made in all (`calls` may hold fewer); absent, like `calls`, with `--rejected`. */
  calls_total?: number;
  /** The run's rejected and invalid rows, in the order recorded, at most `--limit`. */
  rows: OutcomeItem[];
  /** Rejected and invalid rows the run has in all. */
  rows_total: number;
}

/** `panelsync debug RUN --call N --json`. */
export interface DebugCallJson {
  run_id: string;
  call: CallDetail;
}

/** `panelsync debug RUN --export FILE --json`. */
export interface DebugExportJson {
  run_id: string;
  /** The file written, as given. */
  file: string;
  /** Row outcomes written (one line each). */
  rows: number;
}

/** Adds `panelsync debug` to the program. */
export const registerDebugCommand: RegisterCommand = (program: Command, setExitCode) => {
  addProjectOption(
    program
      .command('debug')
      .description("show one run's API calls as a tree, its rejected rows with the API's reasons, or one call's request and response")
      .argument('<run_id>', 'the run (its id, as `panelsync runs` lists it)')
      .option('--json', 'print exactly one JSON object on stdout')
      .addOption(new Option('--rejected', 'show only the rejected and invalid rows, with their reasons').conflicts(['call', 'export']))
      .addOption(new Option('--call <n>', "show call #N's full request and response").argParser(parseCallNumber).conflicts(['export']))
      .option('--export <file>', "write every row outcome of the run to FILE as JSON Lines")
      .option('--limit <n>', `rejected and invalid rows listed, at most (default ${DEFAULT_DEBUG_ROWS})`, parseLimit)
      .addOption(
        new Option('--calls-limit <n>', `API calls shown, at most: the first N (default ${DEFAULT_DEBUG_CALLS})`)
          .argParser(parseCallsLimit)
          .conflicts(['rejected', 'call', 'export']),
      ),
  ).action(async (runId: string, opts: DebugOptions) => {
    setExitCode(
      await runHistoryCommand(opts, (ctx) => {
        const { history, run } = findRun(ctx.history, runId, ctx.suggest);
        if (opts.call !== undefined) return showCall(history, run, opts.call, opts.json === true, ctx.suggest);
        if (opts.export !== undefined) return exportOutcomes(history, run, opts.export, ctx, opts.json === true);
        return showRun(history, run, ctx.suggest, {
          rejectedOnly: opts.rejected === true,
          limit: opts.limit ?? DEFAULT_DEBUG_ROWS,
          callsLimit: opts.callsLimit ?? DEFAULT_DEBUG_CALLS,
          json: opts.json === true,
        });
      }),
    );
  });
};

function parseCallNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('--call takes a call number (#) as `panelsync debug RUN` lists it, e.g. --call 3.');
  return n;
}

function parseCallsLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('--calls-limit takes a whole number from 1 up, e.g. --calls-limit 1000.');
  return n;
}

function findRun(history: RunHistory | null, runId: string, suggest: HistoryContext['suggest']): { history: RunHistory; run: RunDetail } {
  const run = history?.getRun(runId) ?? null;
  if (history === null || run === null) {
    throw new HistoryCommandError('RUN_NOT_FOUND', `no run ${runId} in this project's state database; list the runs with \`${suggest('runs')}\``);
  }
  return { history, run };
}

function showRun(
  history: RunHistory,
  run: RunDetail,
  suggest: HistoryContext['suggest'],
  options: { rejectedOnly: boolean; limit: number; callsLimit: number; json: boolean },
): string | DebugJson {
  const rows = history.listOutcomes(run.run_id, { results: ['rejected', 'invalid', 'unsent'], limit: options.limit });
  const rowsTotal = run.outcomes.rejected + run.outcomes.invalid + run.outcomes.unsent;
  // The first calls alone place themselves in the tree: a call's place depends only on earlier ones.
  const tree = options.rejectedOnly ? null : callTree(history.listCalls(run.run_id, { limit: options.callsLimit }));
  // A run in progress may have recorded more calls since `run` was read.
  const callsTotal = Math.max(run.calls, tree?.length ?? 0);
  if (options.json) return { run, ...(tree === null ? {} : { calls: tree, calls_total: callsTotal }), rows, rows_total: rowsTotal };

  const lines = [...runHeader(run)];
  if (tree !== null) {
    const origin = commonOrigin(tree);
    const partial = tree.length < callsTotal;
    const shown = partial ? `, the first ${tree.length} shown` : '';
    lines.push('', tree.length === 0 ? 'API calls: none' : `API calls: ${callsTotal}${origin ? ` to ${origin}` : ''}${shown} (split retries nested under the call they split, ↻ a retry)`);
    lines.push(...formatCallTree(tree, rows, { partial }));
    if (partial) {
      const lastShown = tree.reduce((max, c) => Math.max(max, c.seq), 0);
      lines.push(
        `⋯ ${plural(callsTotal - tree.length, 'more call')} after #${lastShown} not shown; all of them: ${suggest(`debug ${run.run_id} --calls-limit ${callsTotal}`)}`,
      );
    }
  }
  lines.push('', ...formatFailingRows(rows, rowsTotal));
  if (run.details_pruned_at === null) {
    const hint = rows.find((r) => r.call_seq !== null)?.call_seq ?? tree?.find((c) => c.status === null || c.status >= 300)?.seq;
    lines.push('');
    if (hint !== undefined) lines.push(`One call's request and response:  ${suggest(`debug ${run.run_id} --call ${hint}`)}`);
    if (rowsTotal > rows.length && !options.rejectedOnly) lines.push(`Every rejected and invalid row:   ${suggest(`debug ${run.run_id} --rejected --limit ${rowsTotal}`)}`);
    lines.push(`Every row outcome as JSON Lines:  ${suggest(`debug ${run.run_id} --export outcomes.jsonl`)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The run's summary (as `panelsync run` prints it), when it started, and whether retention pruned its details. */
function runHeader(run: RunDetail): string[] {
  const lines =
    run.summary === null
      ? [`${run.sync}: ${run.status.toUpperCase()} (run ${run.run_id})`, ...(run.error ? [`  error    ${run.error}`] : [])]
      : formatSummary(summaryWithError(run.summary, run.error)).trimEnd().split('\n');
  const end = run.duration_ms === null ? ', still running' : run.summary === null ? `, ended after ${formatDuration(run.duration_ms)}` : '';
  lines.splice(1, 0, `  started  ${formatTime(run.started_at)} UTC (${run.trigger} trigger)${end}`);
  if (run.details_pruned_at !== null) {
    lines.push(`  pruned   ${formatTime(run.details_pruned_at)} UTC: this run's API calls and row outcomes were removed (older than retention_days)`);
  }
  return lines;
}

/** A summary keeps its own `error`; a run interrupted by a dead process has it only on the record. */
function summaryWithError(summary: RunSummary, error: string | null): RunSummary {
  return summary.error === undefined && error !== null ? { ...summary, error } : summary;
}

function formatFailingRows(rows: readonly OutcomeItem[], total: number): string[] {
  if (total === 0) return ['Rejected and invalid rows: none'];
  const shown = rows.length < total ? ` (the first ${rows.length} shown)` : '';
  // Unsent rows (waiting for another key, or never answered) are named only when there are some.
  const what = rows.some((r) => r.result === 'unsent') ? 'Rejected, invalid and unsent rows' : 'Rejected and invalid rows';
  return [
    `${what}: ${total}${shown}; ERROR is the API's own error, or why the row was not sent`,
    ...textTable(
      [{ header: 'PK' }, { header: 'RESULT' }, { header: 'CLASS' }, { header: 'CALL', right: true }, { header: 'ERROR' }],
      rows.map((r) => [r.pk ?? '(none)', r.result, r.class, r.call_seq === null ? '-' : `#${r.call_seq}`, r.error ?? '']),
    ),
  ];
}

function showCall(history: RunHistory, run: RunDetail, seq: number, json: boolean, suggest: HistoryContext['suggest']): string | DebugCallJson {
  const call = history.getCall(run.run_id, seq);
  if (call === null) {
    if (run.details_pruned_at !== null) {
      throw new HistoryCommandError('DETAILS_PRUNED', `run ${run.run_id}'s API calls were pruned on ${formatTime(run.details_pruned_at)} UTC (older than retention_days)`);
    }
    throw new HistoryCommandError('CALL_NOT_FOUND', `run ${run.run_id} has no call #${seq} (it made ${plural(run.calls, 'call')}); list them with \`${suggest(`debug ${run.run_id}`)}\``);
  }
  if (json) return { run_id: run.run_id, call };
  const tag = batchRows(call.tag);
  const pks = call.pks.length <= NAMED_PKS ? call.pks.join(', ') : `${call.pks.slice(0, NAMED_PKS).join(', ')} and ${call.pks.length - NAMED_PKS} more`;
  const lines = [
    `Call #${call.seq} of run ${run.run_id} (${run.sync})`,
    `  request   ${call.method} ${call.url}`,
    `  answer    ${call.status === null ? `no response: ${call.error ?? 'unknown error'}` : `HTTP ${call.status}`} in ${formatDuration(call.duration_ms)} (attempt ${call.attempt}, started ${formatTime(call.started_at)} UTC)`,
    ...(tag === null ? [] : [`  rows      ${tag}${call.pks.length > 0 ? `; primary keys ${pks}` : ''}`]),
    `  headers   not recorded (the Authorization header never is)`,
    '',
    ...bodyLines('Request body', call.request_body, call.request_bytes, call.request_truncated),
    '',
    ...bodyLines('Response body', call.response_body, call.response_bytes, call.response_truncated),
  ];
  return `${lines.join('\n')}\n`;
}

/** A body as stored: JSON pretty-printed when whole, else as is. */
function bodyLines(title: string, body: string | null, bytes: number | null, truncated: boolean): string[] {
  if (body === null) return [`${title}: none`];
  const size = `${bytes ?? Buffer.byteLength(body)} bytes${truncated ? `, only the first ${MAX_STORED_BODY_BYTES / 1024} KiB stored` : ''}`;
  if (body === '') return [`${title} (${size}): empty`];
  let text = body;
  if (!truncated) {
    try {
      text = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // not JSON: shown as received
    }
  }
  return [`${title} (${size}):`, text];
}

function exportOutcomes(history: RunHistory, run: RunDetail, file: string, ctx: HistoryContext, json: boolean): string | DebugExportJson {
  if (run.details_pruned_at !== null) {
    throw new HistoryCommandError('DETAILS_PRUNED', `run ${run.run_id}'s row outcomes were pruned on ${formatTime(run.details_pruned_at)} UTC (older than retention_days); nothing was written`);
  }
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (error) {
    throw new HistoryCommandError('EXPORT_FAILED', `cannot write ${file}: ${(error as Error).message}; check that its directory exists and is writable`, { cause: error });
  }
  let written = 0;
  try {
    for (let afterId = 0; ; ) {
      const page = history.listOutcomes(run.run_id, { afterId, limit: EXPORT_PAGE });
      if (page.length === 0) break;
      writeSync(fd, ctx.redact(page.map((o) => `${JSON.stringify(o)}\n`).join('')));
      written += page.length;
      afterId = page[page.length - 1]!.id;
    }
  } finally {
    closeSync(fd);
  }
  if (json) return { run_id: run.run_id, file, rows: written };
  return `Wrote ${plural(written, 'row outcome')} of run ${run.run_id} to ${file} (JSON Lines: one object a line).\n`;
}
