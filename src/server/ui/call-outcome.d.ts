/** Types of ./call-outcome.js (plain JavaScript, shared by the web UI and `panelsync debug`). */

/** Groups of rows (by result and error) named on a call's outcome; more are counted. */
export declare const NAMED_ROWS: number;

/** The rows a batch call sent, 1-based: `upsert b1 rows 1-50`; `null` without batch parts. */
export declare function batchRowsText(parts: { operation: string; batch: string; offset: number; count: number } | null): string | null;

/** Why an attempt that was not its request's last was tried again. */
export declare function attemptNote(call: { status: number | null; error: string | null }): string;

/** What came of a request, said on its last attempt; `''` for a plain success. See ./call-outcome.js. */
export declare function requestOutcome(
  last: { status: number | null; error: string | null },
  request: {
    attempts: number;
    parts: number;
    rows: ReadonlyArray<{ pk: string | null; result: string; error: string | null }>;
    retryable: boolean;
    partial: boolean;
  },
): string;
