/**
 * The contract the emulator answers with, and its variants: each a plausible way the real User
 * Interviews API may differ from what the wire module assumes (see shared docs:
 * user-interviews-api), so that `panelsync check` can be proven to tell every difference. A
 * variant, or a profile recorded from a real account (./contract-profile.ts), changes only the
 * items it names; everything else answers as the wire module says.
 */
import { DEFAULT_PAGE_SIZE, MAX_BATCH_SIZE, MAX_PAGE_SIZE } from '../destinations/user-interviews/wire.ts';
import type { BatchErrorForm, ErrorBodyForm, RequestKeyForm } from '../check/contract-observations.ts';

/** The items of the contract the emulator can answer differently. */
export interface EmulatorContract {
  /** `errors_array`: `{"errors": [{status, title, detail, source}]}`; `error_object`: `{"error": {status, message, field}}` (the first entry). */
  errorBody: Exclude<ErrorBodyForm, 'other'>;
  /** `page_size_number`: `page[size]`/`page[number]`, meta `{pagination: {currentPage, hasMore}}`; `page_per_page`: `per_page`/`page`, meta `{page, per_page, total_count}`. */
  paging: 'page_size_number' | 'page_per_page';
  /** Rows of a page asked without a size. */
  defaultPageSize: number;
  /** Most rows of a page. */
  maxPageSize: number;
  /** A size over {@link maxPageSize}: `refuse` (422) or `clamp` (serve the maximum). */
  pageSizeOverMax: 'refuse' | 'clamp';
  /** `all_or_nothing`: one invalid entry refuses the batch (422); `per_row`: the valid entries are written, 200 with `data` (null where refused) and `errors`. */
  batchErrors: BatchErrorForm;
  /** Whether a batch entry's `id` names (and with `email`, renames) its participant; else 422 `unknown attribute "id"`. */
  renameById: boolean;
  /** `DELETE /participants/{id}` success: 204 without a body, or 200 with the deleted participant as `data`. */
  deleteStatus: 200 | 204;
  /** Most participants per batch (the `max_batch` knob starts at it). */
  maxBatch: number;
  /** Keys of participant fields in request bodies; the other form's keys are ignored. */
  requestKeys: RequestKeyForm;
  /** Added to every `/api` response (e.g. rate-limit headers a real account sends). */
  responseHeaders: Record<string, string>;
}

/** The contract exactly as the wire module assumes it. */
export const BUILT_IN_CONTRACT: Readonly<EmulatorContract> = {
  errorBody: 'errors_array',
  paging: 'page_size_number',
  defaultPageSize: DEFAULT_PAGE_SIZE,
  maxPageSize: MAX_PAGE_SIZE,
  pageSizeOverMax: 'refuse',
  batchErrors: 'all_or_nothing',
  renameById: true,
  deleteStatus: 204,
  maxBatch: MAX_BATCH_SIZE,
  requestKeys: 'snake_case',
  responseHeaders: {},
};

/** One variant: its name, what differs (one line), and the items it changes. */
export interface EmulatorVariant {
  name: string;
  differs: string;
  contract: Partial<EmulatorContract>;
}

/** Every variant `panelsync emulator --variant NAME` offers, in `--list-variants` order. */
export const VARIANTS = [
  {
    name: 'per-row-errors',
    differs: 'a batch with invalid participants writes the valid ones and answers 200 with data (null where refused) and errors per row, instead of an all-or-nothing 422',
    contract: { batchErrors: 'per_row' },
  },
  {
    name: 'page-per-page',
    differs: 'GET /participants pages with page and per_page (page[size] and page[number] are ignored), meta {page, per_page, total_count}',
    contract: { paging: 'page_per_page' },
  },
  {
    name: 'error-object',
    differs: 'error bodies are {"error": {"status", "message", "field"}} instead of {"errors": [{"status", "title", "detail", "source"}]}',
    contract: { errorBody: 'error_object' },
  },
  {
    name: 'no-rename-by-id',
    differs: 'a batch entry with "id" is refused (422 unknown attribute "id"): no email change by id',
    contract: { renameById: false },
  },
  {
    name: 'delete-200',
    differs: 'DELETE /participants/{id} answers 200 with the deleted participant as data, instead of 204',
    contract: { deleteStatus: 200 },
  },
  {
    name: 'batch-limit-50',
    differs: 'a batch holds at most 50 participants (422 above), instead of 100',
    contract: { maxBatch: 50 },
  },
  {
    name: 'camel-case-keys',
    differs: 'request bodies take camelCase keys (firstName, phoneNumber…); snake_case field keys are ignored',
    contract: { requestKeys: 'camelCase' },
  },
] as const satisfies readonly EmulatorVariant[];

export type VariantName = (typeof VARIANTS)[number]['name'];
export const VARIANT_NAMES: readonly VariantName[] = VARIANTS.map((v) => v.name);

/**
 * The contract of variant `name` (the built-in one with the variant's items changed).
 * @throws RangeError naming the known variants when `name` is none of them
 */
export function variantContract(name: string): EmulatorContract {
  const variant = (VARIANTS as readonly EmulatorVariant[]).find((v) => v.name === name);
  if (!variant) throw new RangeError(`unknown emulator variant "${name}" (known: ${VARIANT_NAMES.join(', ')})`);
  return { ...BUILT_IN_CONTRACT, ...variant.contract };
}
