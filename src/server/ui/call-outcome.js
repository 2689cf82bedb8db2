/**
 * What came of an API call, in words: the one source of the per-call notes that `panelsync debug`
 * (src/cli/format-call-tree.ts) prints and the web UI's live debugger (./call-debugger.js) shows,
 * so that both say the same: "rejected as a whole: split in 2", "12 rows rejected (pk 3, 7, 9, …):
 * email is not deliverable", "gave up after 3 attempts", and the rows a batch call sent,
 * "upsert b10 row 88" (1-based, as the rows of a run are counted everywhere else).
 *
 * Plain JavaScript with no DOM and no imports, so that the browser loads it as it is (served under
 * /ui/, see ./ui-routes.ts) and Node imports it from TypeScript (types in ./call-outcome.d.ts).
 */

/** Groups of rows (by result and error) named on a call's outcome; more are counted. */
export const NAMED_ROWS = 3;

/**
 * The rows a batch call sent, positions 1-based within the batch: `upsert b1 rows 1-50`,
 * `delete b7 row 1`.
 * @param {{ operation: string, batch: string, offset: number, count: number } | null} parts the
 *   call's batch, its first row (0-based) and row count, e.g. from `parseBatchCallTag`
 *   (src/state/batch-call-tag.ts); `null` for a call that sent no rows of a batch
 * @returns {string | null}
 */
export function batchRowsText(parts) {
  if (parts === null) return null;
  const { operation, batch, offset, count } = parts;
  return `${operation} ${batch} ${count === 1 ? `row ${offset + 1}` : `rows ${offset + 1}-${offset + count}`}`;
}

/**
 * Why an attempt that was not its request's last was tried again: `retried`, or for a call that
 * got no response, its error and `retried`.
 * @param {{ status: number | null, error: string | null }} call
 * @returns {string}
 */
export function attemptNote(call) {
  return call.status === null ? `${call.error ?? 'no response'}; retried` : 'retried';
}

/**
 * What came of a request (a first attempt and its retries), said on its last attempt: split into
 * parts, the rows the API rejected (or left unsent) there, grouped by error, or, when the last
 * attempt failed in a way that is retried, that the client gave up.
 * @param {{ status: number | null, error: string | null }} last the request's last attempt
 * @param {{
 *   attempts: number,
 *   parts: number,
 *   rows: ReadonlyArray<{ pk: string | null, result: string, error: string | null }>,
 *   retryable: boolean,
 *   partial: boolean,
 * }} request `attempts` made; `parts`: requests that split it; `rows`: the rows whose final answer
 *   this attempt carried with result `rejected` or `unsent`; `retryable`: whether the last attempt's
 *   failure is one the client retries (no response, or `isRetryableStatus` in src/http/errors.ts);
 *   `partial`: only the run's first calls are known, so later attempts or parts may exist, and the
 *   outcome says only what the calls known show ("split (2 parts shown)", "no further attempt
 *   among the calls shown") instead of "split in 2" and "gave up"
 * @returns {string} `''` when there is nothing to say (a plain success)
 */
export function requestOutcome(last, request) {
  const { attempts, parts, rows, retryable, partial } = request;
  if (parts > 0) {
    return partial ? `rejected as a whole: split (${plural(parts, 'part')} shown)` : `rejected as a whole: split in ${parts}`;
  }
  const notes = [];
  if (last.status === null) notes.push(last.error ?? 'no response');
  if (last.status === null || retryable) {
    notes.push(partial ? 'no further attempt among the calls shown' : `gave up after ${plural(attempts, 'attempt')}`);
  }
  // Rows rejected (or left unsent) for the same reason (a batch that failed whole) are named once.
  const byError = new Map();
  for (const r of rows) {
    const error = r.error ?? 'no reason given';
    const key = `${r.result}\n${error}`;
    const group = byError.get(key) ?? { result: r.result, error, pks: [] };
    group.pks.push(r.pk ?? '(none)');
    byError.set(key, group);
  }
  const groups = [...byError.values()];
  for (const { result, error, pks } of groups.slice(0, NAMED_ROWS)) {
    const which = pks.length <= NAMED_ROWS ? pks.join(', ') : `${pks.slice(0, NAMED_ROWS).join(', ')}, …`;
    notes.push(pks.length === 1 ? `pk ${which} ${result}: ${error}` : `${pks.length} rows ${result} (pk ${which}): ${error}`);
  }
  if (groups.length > NAMED_ROWS) {
    const more = groups.slice(NAMED_ROWS).reduce((n, g) => n + g.pks.length, 0);
    notes.push(`${plural(more, 'more row')} rejected`);
  }
  return notes.join('; ');
}

/** `1 attempt`, `3 attempts`. */
function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
