/** Reads a mapping's `to`: a default participant field or `characteristics.<slug>`. */
import { PARTICIPANT_FIELDS, type ParticipantField } from '../destinations/user-interviews/wire.ts';
import type { MappingTarget } from './schema.ts';

/** A characteristic slug [assumed shape of the API's slugs, see shared docs: user-interviews-api]. */
export const CHARACTERISTIC_SLUG = /^[a-z0-9_]+$/;
const CHARACTERISTIC_PREFIX = 'characteristics.';

/**
 * `first_name` -> `{ kind: 'field', field: 'first_name' }`;
 * `characteristics.lifetime_value` -> `{ kind: 'characteristic', slug: 'lifetime_value' }`.
 * Anything else -> `{ error }`, a message saying what to write instead (`email` is refused: the
 * sync's `match` sets it).
 */
export function parseMappingTarget(to: string): { target: MappingTarget } | { error: string } {
  if (to.startsWith(CHARACTERISTIC_PREFIX)) {
    const slug = to.slice(CHARACTERISTIC_PREFIX.length);
    if (CHARACTERISTIC_SLUG.test(slug)) return { target: { kind: 'characteristic', slug } };
    return {
      error: `characteristic slug "${slug}" is not valid: use lower-case letters, digits and "_" (${CHARACTERISTIC_SLUG.source}), as the characteristic's slug in User Interviews`,
    };
  }
  if ((PARTICIPANT_FIELDS as readonly string[]).includes(to)) {
    return { target: { kind: 'field', field: to as ParticipantField } };
  }
  if (to === 'email') {
    return { error: 'email is not a mapping target: the sync\'s `match` sets it (the model column holding the email)' };
  }
  const guess = PARTICIPANT_FIELDS.find((field) => field.startsWith(to) || to.startsWith(field));
  return {
    error:
      `unknown participant field "${to}" (known: ${PARTICIPANT_FIELDS.join(', ')}, or characteristics.<slug>)` +
      (guess === undefined ? '' : `; did you mean "${guess}"?`),
  };
}

/** The target as one string, to find two mappings that write the same thing. */
export function mappingTargetKey(target: MappingTarget): string {
  return target.kind === 'field' ? target.field : `${CHARACTERISTIC_PREFIX}${target.slug}`;
}
