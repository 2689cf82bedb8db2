/**
 * `panelsync emulator --profile DIR`: the contract of a real account, as `panelsync check
 * --record DIR` saw it. It reads the recording's report (`observed`, see
 * src/check/contract-observations.ts) and returns the items that differ from the built-in
 * contract, for the emulator to answer with (statuses, body shapes, headers, page sizes).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BATCH_ERROR_FORMS, ERROR_BODY_FORMS, PAGING_FORMS, REQUEST_KEY_FORMS } from '../check/contract-observations.ts';
import { RECORDING } from '../check/run-check.ts';
import { EmulatorOptionsError } from './create-emulator-app.ts';
import { BUILT_IN_CONTRACT, type EmulatorContract } from './variants.ts';

const rows = z.number().int().min(1);
const observedSchema = z.object({
  error_body: z.enum(ERROR_BODY_FORMS).optional(),
  paging: z.enum(PAGING_FORMS).optional(),
  default_page_size: rows.optional(),
  max_page_size: rows.optional(),
  batch_errors: z.enum(BATCH_ERROR_FORMS).optional(),
  rename_by_id: z.boolean().optional(),
  delete_status: z.number().int().min(200).max(299).optional(),
  max_batch: z.number().int().min(0).optional(),
  request_keys: z.enum(REQUEST_KEY_FORMS).optional(),
  rate_limit_headers: z.record(z.string(), z.string()).optional(),
});

/**
 * The items of the contract the recorded account answered differently. A form the emulator cannot
 * play (`other`) is left as built in.
 * @throws EmulatorOptionsError when `dir` holds no readable recording (naming the command that makes one)
 */
export function loadContractProfile(dir: string): Partial<EmulatorContract> {
  const file = path.join(dir, RECORDING.report);
  let observed;
  try {
    observed = observedSchema.parse((JSON.parse(readFileSync(file, 'utf8')) as { observed?: unknown }).observed);
  } catch (error) {
    throw new EmulatorOptionsError(
      `--profile ${dir}: ${file} is not a recording of panelsync check (${(error as Error).message.split('\n')[0]}): make one with "panelsync check DESTINATION --write-test --record ${dir}"`,
      { cause: error },
    );
  }
  const profile: Partial<EmulatorContract> = {};
  if (observed.error_body === 'error_object') profile.errorBody = 'error_object';
  if (observed.paging === 'page_per_page') profile.paging = 'page_per_page';
  if (observed.default_page_size !== undefined && observed.default_page_size !== BUILT_IN_CONTRACT.defaultPageSize) {
    profile.defaultPageSize = observed.default_page_size;
  }
  if (observed.max_page_size !== undefined && observed.max_page_size < BUILT_IN_CONTRACT.maxPageSize) {
    profile.maxPageSize = observed.max_page_size;
    profile.pageSizeOverMax = 'clamp'; // the account served fewer than asked, it did not refuse
  }
  if (observed.batch_errors === 'per_row') profile.batchErrors = 'per_row';
  if (observed.rename_by_id === false) profile.renameById = false;
  if (observed.delete_status !== undefined && observed.delete_status !== 204) profile.deleteStatus = 200;
  if (observed.max_batch !== undefined && observed.max_batch >= 1 && observed.max_batch !== BUILT_IN_CONTRACT.maxBatch) profile.maxBatch = observed.max_batch;
  if (observed.request_keys === 'camelCase') profile.requestKeys = 'camelCase';
  if (observed.rate_limit_headers !== undefined) profile.responseHeaders = observed.rate_limit_headers;
  return profile;
}
