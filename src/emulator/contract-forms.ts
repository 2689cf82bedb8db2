/**
 * The emulator's translations between the built-in contract (wire.ts) and the forms a variant or a
 * profile answers with (./variants.ts): the error body shape and the keys of request bodies. The
 * routes work in the built-in forms; these functions sit at the edge.
 */
import { ATTRIBUTE_NAMES, PARTICIPANT_FIELDS, type ApiErrorEntry } from '../destinations/user-interviews/wire.ts';
import type { EmulatorContract } from './variants.ts';

/**
 * An error body in the contract's form. `errors_array` keeps `{"errors": entries}`;
 * `error_object` gives `{"error": {"status", "message", "field"}}` for the first entry, the field
 * written `participants[1].email` (no JSON pointer), the other entries' details appended to `message`.
 */
export function errorBodyIn(form: EmulatorContract['errorBody'], entries: ApiErrorEntry[]): unknown {
  if (form === 'errors_array') return { errors: entries };
  const first = entries[0];
  const pointer = first?.source?.pointer;
  const field = pointer
    ? pointer
        .replace(/^\//, '')
        .split('/')
        .map((token, index) => (/^\d+$/.test(token) ? `[${token}]` : index === 0 ? token : `.${token}`))
        .join('')
    : null;
  return {
    error: {
      status: Number(first?.status ?? 500),
      message: entries.map((e) => e.detail).join('; '),
      field,
    },
  };
}

/**
 * One participant of a request body with its field keys in the built-in form (snake_case). With
 * `camelCase` request keys, `firstName` becomes `first_name` and a snake_case key that differs
 * from its camelCase form (`first_name`) is dropped, as such an API ignores it. Anything but a
 * plain object is returned as it is (validation refuses it).
 */
export function participantInBuiltInKeys(form: EmulatorContract['requestKeys'], raw: unknown): unknown {
  if (form === 'snake_case' || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const entry = { ...(raw as Record<string, unknown>) };
  for (const field of PARTICIPANT_FIELDS) {
    const camel = ATTRIBUTE_NAMES[field];
    if (camel === field) continue;
    delete entry[field];
    if (camel in entry) {
      entry[field] = entry[camel];
      delete entry[camel];
    }
  }
  return entry;
}
