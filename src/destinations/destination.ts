/**
 * The small interface the engine reaches a destination through (style.md: action-destinations'
 * `perform(request, data)`): write rows with one result per row, create one, delete one, read the
 * participant directory, read the characteristics. What a request body looks like, and rules such
 * as "an id plus an email renames a participant" or "null clears a field", live only behind it
 * (src/destinations/user-interviews/).
 */
import type { RowResult } from './user-interviews/client.ts';
import type { Characteristic, ListedParticipant } from './user-interviews/client.ts';
import type { RequestContext } from '../http/http-client.ts';

export type { Characteristic, ListedParticipant, RowResult };

/**
 * One participant to write. The fields are the mapped values as the snapshot stores them
 * (default fields at the top level, custom ones under `characteristics`).
 * - With `participantId`: that participant is written; `email`, when given, becomes its email (a
 *   move); without `email`, its email is left as the destination holds it.
 * - Without `participantId`: the participant with `email` is written, or created when none has it.
 * `clear` names fields to empty (`first_name`, `characteristics.plan`), besides those written.
 */
export interface ParticipantWrite {
  participantId?: string;
  email?: string;
  fields?: Record<string, unknown>;
  clear?: readonly string[];
}

/** A destination panelsync syncs participants to. Every method throws only when a whole request fails. */
export interface Destination {
  /** Participants one {@link writeParticipants} call takes at most. */
  readonly maxBatchSize: number;
  /**
   * Writes up to {@link maxBatchSize} participants in one all-or-nothing call: one result per
   * write, in order; a call refused as a whole by validation gives `REJECTED_WITH_BATCH` to the
   * rows it did not name (split retries send the halves again), `UNKNOWN_PARTICIPANT` to a write
   * whose participant id names no participant.
   */
  writeParticipants(writes: readonly ParticipantWrite[], context?: RequestContext): Promise<RowResult[]>;
  /** Creates one participant, never overwriting one: an email already taken is `ALREADY_EXISTS`. */
  createParticipant(write: ParticipantWrite, context?: RequestContext): Promise<RowResult>;
  /** Deletes one participant; one already gone counts as deleted. */
  deleteParticipant(participantId: string, context?: RequestContext): Promise<RowResult>;
  /** Every participant (id and email), page after page. */
  participants(context?: RequestContext): AsyncIterable<ListedParticipant>;
  /** The custom fields the account defines, with their types. */
  listCharacteristics(context?: RequestContext): Promise<Characteristic[]>;
}
