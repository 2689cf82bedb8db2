/**
 * What a viewer (`server.viewer_token`) reads: every API answer, with the participant data taken
 * out. The rule: a viewer reads syncs, runs and the call list, never request or response
 * bodies, emails or other participant values. So, in any answer, at any depth:
 * - `request_body` and `response_body` are `null` (a call's detail keeps sizes and truncation flags);
 * - `participant_id` is `null`;
 * - `pk` and each of `pks` keep the primary key, unless it holds an email (then `[email]`);
 * - `error`, `last_error`, `reason` and `message` texts are scrubbed as alert notices are (emails,
 *   quoted values and phone numbers replaced, see src/alerts/scrub-personal-data.ts);
 * - every other string has any email replaced (the last line of defence: a column or a static
 *   mapping value holding one).
 * Keys, numbers, counts, statuses and times are kept: a viewer sees how syncs run.
 */
import { scrubPersonalData, SCRUBBED } from '../alerts/scrub-personal-data.ts';

/** Keys whose value is withheld from a viewer. */
const WITHHELD_KEYS = new Set(['request_body', 'response_body', 'participant_id']);
/** Keys holding a sentence that may quote the values it is about. */
const TEXT_KEYS = new Set(['error', 'last_error', 'reason', 'message', 'detail']);
/** Keys holding primary keys. */
const PK_KEYS = new Set(['pk', 'pks']);

/** An email, plain or percent-encoded (`ann%40example.com` in a URL). */
const EMAIL = /[^\s"'<>()[\]{},;:@/?&=]+(?:@|%40)[^\s"'<>()[\]{},;:@/?&=]+/gi;

/**
 * A copy of `value` (a JSON-ready answer) as a viewer may read it (see the module comment).
 * @param secrets the project's secrets, redacted from scrubbed texts
 */
export function forViewer(value: unknown, secrets: readonly string[], key?: string): unknown {
  if (key !== undefined && WITHHELD_KEYS.has(key)) return null;
  if (typeof value === 'string') {
    if (key !== undefined && TEXT_KEYS.has(key)) return scrubPersonalData(value, secrets);
    return value.replace(EMAIL, SCRUBBED.email);
  }
  if (Array.isArray(value)) return value.map((item) => forViewer(item, secrets, key !== undefined && PK_KEYS.has(key) ? key : undefined));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, item]) => [k, forViewer(item, secrets, k)]));
  }
  return value;
}
