/**
 * The User Interviews destination: the engine's {@link Destination} over the participant API's
 * client. It alone turns a {@link ParticipantWrite} into a request body ([assumed] rules from
 * ./wire.ts: an `id` names the participant written and `email` then renames it; `null` clears a
 * field; see shared docs: user-interviews-api).
 */
import type { Destination, ParticipantWrite } from '../destination.ts';
import type { RequestContext } from '../../http/http-client.ts';
import type { UserInterviewsClient } from './client.ts';
import { MAX_BATCH_SIZE, MAX_PAGE_SIZE, type CharacteristicValue, type ParticipantInput } from './wire.ts';

export class UserInterviewsDestination implements Destination {
  readonly maxBatchSize = MAX_BATCH_SIZE;
  constructor(private readonly client: UserInterviewsClient) {}

  writeParticipants(writes: readonly ParticipantWrite[], context?: RequestContext) {
    return this.client.batchUpsert(writes.map(participantInput), context);
  }

  createParticipant(write: ParticipantWrite, context?: RequestContext) {
    return this.client.createParticipant(participantInput(write), context);
  }

  deleteParticipant(participantId: string, context?: RequestContext) {
    return this.client.deleteParticipant(participantId, context);
  }

  participants(context?: RequestContext) {
    return this.client.participants(MAX_PAGE_SIZE, context);
  }

  listCharacteristics(context?: RequestContext) {
    return this.client.listCharacteristics(context);
  }
}

/**
 * The request body of one write: `email` when given, its fields, `null` for each field it clears,
 * and `id` when it names its participant.
 */
export function participantInput(write: ParticipantWrite): ParticipantInput {
  const input = { ...(write.email === undefined ? {} : { email: write.email }), ...write.fields } as ParticipantInput & Record<string, unknown>;
  for (const field of write.clear ?? []) {
    if (field.startsWith('characteristics.')) {
      input.characteristics = { ...input.characteristics, [field.slice('characteristics.'.length)]: null as CharacteristicValue };
    } else {
      input[field] = null;
    }
  }
  if (write.participantId !== undefined) input.id = write.participantId;
  return input;
}
