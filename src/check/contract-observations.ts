/**
 * What `panelsync check` saw of an account, in a form a machine can act on: each key is one way the
 * contract may differ from what the wire module assumes (see shared docs: user-interviews-api).
 * The check's JSON report carries it as `observed` (only what was seen), and the emulator's
 * `--profile DIR` reads it back from a `--record DIR` to answer as that account did.
 */

/** How error bodies are shaped: `{"errors": [...]}` (assumed), `{"error": {...}}`, or anything else. */
export const ERROR_BODY_FORMS = ['errors_array', 'error_object', 'other'] as const;
export type ErrorBodyForm = (typeof ERROR_BODY_FORMS)[number];

/** Which query pages `GET /participants`: `page[size]`/`page[number]` (confirmed) or `per_page`/`page`. */
export const PAGING_FORMS = ['page_size_number', 'page_per_page', 'other'] as const;
export type PagingForm = (typeof PAGING_FORMS)[number];

/** How a batch with invalid participants is answered: refused whole (confirmed), or the valid rows written. */
export const BATCH_ERROR_FORMS = ['all_or_nothing', 'per_row'] as const;
export type BatchErrorForm = (typeof BATCH_ERROR_FORMS)[number];

/** Which keys a request body's participant fields take: `first_name` (assumed) or `firstName`. */
export const REQUEST_KEY_FORMS = ['snake_case', 'camelCase'] as const;
export type RequestKeyForm = (typeof REQUEST_KEY_FORMS)[number];

/** Everything observed; a key is absent when the check did not see it. */
export interface ContractObservations {
  error_body?: ErrorBodyForm;
  paging?: PagingForm;
  /** Participants in a page asked without a size (only when more were listed), rows. */
  default_page_size?: number;
  /** The most participants a page gave when 200 were asked (only when more were listed), rows. */
  max_page_size?: number;
  batch_errors?: BatchErrorForm;
  /** Whether a batch entry's `id` renames that participant. */
  rename_by_id?: boolean;
  /** The status of a successful `DELETE /participants/{id}`. */
  delete_status?: number;
  /** The most participants a batch was accepted with, rows (the check tries up to 100). */
  max_batch?: number;
  request_keys?: RequestKeyForm;
  /** Rate-limit headers of successful responses (`x-ratelimit-*`, `ratelimit-*`), names in lower case. */
  rate_limit_headers?: Record<string, string>;
}

/** Whether a response header announces a rate limit (`x-ratelimit-limit`, `ratelimit-remaining`…). */
export function isRateLimitHeader(name: string): boolean {
  return /^(x-)?ratelimit(-|$)/i.test(name);
}
