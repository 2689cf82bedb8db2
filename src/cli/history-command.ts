/**
 * What the history commands (`runs`, `debug`, `rows`) share: load the project, open its state
 * database read side ({@link RunHistory}), print one result (text, or exactly one JSON object with
 * `--json`) with every project secret redacted once more, and report errors.
 */
import { InvalidArgumentError } from 'commander';
import { loadStateLocation, type StateLocation } from '../config/load-project.ts';
import { RunError } from '../engine/run-sync.ts';
import { redact } from '../http/http-client.ts';
import type { RunHistory } from '../state/run-history.ts';
import { SqliteRunHistory } from '../state/sqlite-run-history.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import type { ProjectOption } from './project-option.ts';
import { reportCommandError } from './report-error.ts';

/** Stable codes of {@link HistoryCommandError}. */
export const HISTORY_ERROR_CODES = ['RUN_NOT_FOUND', 'CALL_NOT_FOUND', 'DETAILS_PRUNED', 'EXPORT_FAILED'] as const;
export type HistoryErrorCode = (typeof HISTORY_ERROR_CODES)[number];

/**
 * A history command cannot do what it was asked. `RUN_NOT_FOUND` and `CALL_NOT_FOUND` are usage
 * errors (exit 2: a wrong id); `DETAILS_PRUNED` (retention removed what was asked) and
 * `EXPORT_FAILED` (the file cannot be written; `cause` holds the system error) exit 1.
 */
export class HistoryCommandError extends Error {
  readonly code: HistoryErrorCode;
  constructor(code: HistoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HistoryCommandError';
    this.code = code;
  }
}

/** Options every history command takes. */
export interface HistoryOptions extends ProjectOption {
  json?: boolean;
}

/** What a history command's body receives. */
export interface HistoryContext {
  /** The project's state database and sync names (the rest of the file is not needed, nor its secrets set). */
  location: StateLocation;
  /** `null` when the state database does not exist yet (no run was ever recorded). */
  history: RunHistory | null;
  /** Redacts every project secret (API keys, passwords, tokens) from `text`. */
  redact(text: string): string;
  /** A command to suggest: `panelsync ARGS`, with the `--project DIR` this command was given. */
  suggest(args: string): string;
}

/**
 * Runs `body` with the project's run history, prints what it returns on stdout (redacted; a JSON
 * value as one line when `--json`, else the text as is) and returns the exit code. Errors go to
 * stderr (and as `{ "error": { "code", "message" } }` to stdout with `--json`): a
 * {@link HistoryCommandError} as its code says, the rest as every command reports them.
 * @param body returns the text to print, or (with `--json`) the JSON value
 */
export async function runHistoryCommand(
  opts: HistoryOptions,
  body: (ctx: HistoryContext) => Promise<string | object> | string | object,
): Promise<ExitCode> {
  const json = opts.json === true;
  let opened: ReturnType<typeof SqliteRunHistory.open> = null;
  try {
    // Reading history needs no credential: an unset ${UI_API_KEY} must not stop `runs` or `debug`.
    const location = await loadStateLocation({ projectDir: opts.project });
    opened = SqliteRunHistory.open(location.statePath);
    const hide = (text: string) => redact(text, location.secrets);
    const suggest = (args: string) => `panelsync ${args}${opts.project === undefined ? '' : ` --project ${shellWord(opts.project)}`}`;
    const result = await body({ location, history: opened?.history ?? null, redact: hide, suggest });
    process.stdout.write(hide(typeof result === 'string' ? result : `${JSON.stringify(result)}\n`));
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof HistoryCommandError)) return reportCommandError(error, json);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
    process.stderr.write(`error: ${error.message}\n`);
    return error.code === 'RUN_NOT_FOUND' || error.code === 'CALL_NOT_FOUND' ? EXIT.usage : EXIT.failed;
  } finally {
    opened?.close();
  }
}

/** `word` as one shell word: as is when it holds only safe characters, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * Checks that `sync` is one of the project's syncs.
 * @throws RunError `SYNC_UNKNOWN` naming the known syncs (exit 2, as `panelsync run`)
 */
export function requireSync(location: StateLocation, sync: string): void {
  if (!location.syncs.includes(sync)) {
    throw new RunError('SYNC_UNKNOWN', `unknown sync "${sync}" (known: ${location.syncs.join(', ') || 'none'})`);
  }
}

/** Parses `--limit N`: a whole number from 1 up. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('--limit takes a whole number from 1 up.');
  return n;
}
