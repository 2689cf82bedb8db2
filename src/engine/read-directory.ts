/**
 * The destination's email -> id directory, read into a run's (or a plan's) stage: what update and
 * insert modes, `--reset-cdc` and `panelsync plan` look planned rows up in.
 */
import type { Destination } from '../destinations/destination.ts';
import { normalizeEmail } from '../destinations/user-interviews/wire.ts';
import type { Stage } from '../state/state-store.ts';

/**
 * Reads every participant of the account (`GET /participants`, pages of 200,
 * calls tagged `directory`) into the stage's directory (normalized email -> id), replacing any
 * earlier one, so that {@link Stage.page} gives each planned row its `existingId` and
 * {@link Stage.directoryId} answers.
 * @returns participants read
 * @throws the client's HttpError when a page cannot be read; the stage's directory is then
 *   incomplete: read it again before relying on it
 */
export function readDirectory(destination: Destination, stage: Stage): Promise<number> {
  return stage.loadDirectory(
    (async function* () {
      for await (const p of destination.participants({ tag: 'directory' })) yield { id: p.id, emailKey: normalizeEmail(p.email) };
    })(),
  );
}
