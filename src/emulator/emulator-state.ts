/**
 * The emulator's in-memory panel: participants by id, an email -> id index and the characteristics.
 * Every write costs O(1) per participant (no scan of the panel), so that a benchmark of a million
 * participants stays fast. Semantics follow the shared docs (user-interviews-api): matching by
 * normalized email, keys absent left alone, `null` clears, batches all or nothing.
 */
import {
  ATTRIBUTE_NAMES,
  EMAIL_TAKEN_DETAIL,
  PARTICIPANT_FIELDS,
  batchPointer,
  normalizeEmail,
  pointerIndex,
  unknownParticipantDetail,
  type ApiErrorEntry,
  type CharacteristicResource,
  type CharacteristicType,
  type CharacteristicValue,
  type ParticipantField,
  type ParticipantInput,
  type ParticipantResource,
} from '../destinations/user-interviews/wire.ts';
import {
  participantError,
  validateParticipant,
  type CharacteristicDefinition,
  type StoredCharacteristicValue,
} from './validate-participant.ts';

/** One stored participant. Timestamps are epoch ms. */
export type StoredParticipant = {
  id: number;
  email: string;
  characteristics: Record<string, StoredCharacteristicValue> | null;
  createdAt: number;
  updatedAt: number;
} & Record<ParticipantField, string | null>;

/** A participant as `GET /_emulator/state` shows it: snake_case, ISO timestamps. */
export interface ParticipantSnapshot {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  phone_number: string | null;
  title: string | null;
  company: string | null;
  city: string | null;
  state: string | null;
  country: string | null;
  characteristics: Record<string, StoredCharacteristicValue>;
  created_at: string;
  updated_at: string;
}

/** Outcome of a write: the resources written, or the error entries (nothing written). */
export type WriteResult<T> = { ok: true; data: T } | { ok: false; errors: ApiErrorEntry[] };

/** Options of a write that depend on the knobs. */
export interface WriteRules {
  rejectEmail: RegExp | null;
}

type Target = { kind: 'existing'; id: number } | { kind: 'new'; slot: number };

/** The panel. Not thread-safe by design: Node runs one request handler step at a time. */
export class EmulatorState {
  private readonly participants = new Map<number, StoredParticipant>();
  private readonly emailIndex = new Map<string, number>();
  /** Participant ids in ascending order; rebuilt lazily after a delete (Map order is id order). */
  private order: number[] = [];
  private orderIsStale = false;
  private nextId = 1;
  private readonly characteristics = new Map<string, CharacteristicDefinition>();
  private nextCharacteristicId = 1;
  /** Normalized email -> writes applied to the participant holding it (create, update, delete). */
  private readonly writes = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Number of participants. */
  get size(): number {
    return this.participants.size;
  }

  /**
   * Removes every participant; characteristics are kept. Ids are not reused: the next participant
   * gets the id after the last one ever created, as a real API never hands out an id twice (a
   * client holding an id from before the reset must find it gone, not another person behind it).
   */
  reset(): void {
    this.participants.clear();
    this.emailIndex.clear();
    this.writes.clear();
    this.order = [];
    this.orderIsStale = false;
  }

  /** Adds or replaces characteristics by slug; a replaced one keeps its id. */
  defineCharacteristics(definitions: { slug: string; type: CharacteristicType; name?: string }[]): void {
    for (const { slug, type, name } of definitions) {
      const existing = this.characteristics.get(slug);
      const id = existing?.id ?? String(this.nextCharacteristicId++);
      this.characteristics.set(slug, { id, slug, type, name: name ?? existing?.name ?? humanize(slug) });
    }
  }

  /** `GET /characteristics` resources, in definition order. */
  listCharacteristics(): CharacteristicResource[] {
    return [...this.characteristics.values()].map((c) => ({
      id: c.id,
      type: 'characteristic',
      attributes: { name: c.name, slug: c.slug, type: c.type },
    }));
  }

  /**
   * `PATCH /participants/batches`: validates every participant, then simulates the writes in
   * request order (two entries with the same email behave like sequential writes; an `id` entry
   * changes that participant's email unless another participant has it); writes only when no entry
   * failed. Returns `data` in request order, each as it was right after its own write.
   */
  upsertBatch(raw: unknown[], rules: WriteRules): WriteResult<ParticipantResource[]> {
    const errors: ApiErrorEntry[] = [];
    const inputs: ParticipantInput[] = [];
    raw.forEach((entry, index) => {
      const result = validateParticipant(entry, {
        characteristics: this.characteristics,
        rejectEmail: rules.rejectEmail,
        allowId: true,
        pointer: (field) => (field === undefined ? batchPointer(index, '').replace(/\/$/, '') : batchPointer(index, field)),
      });
      if (result.ok) inputs[index] = result.participant;
      else errors.push(result.error);
    });

    // Simulated email index: normalized email -> target, `null` once freed by an email change.
    const overlay = new Map<string, Target | null>();
    const currentEmail = new Map<number, string>();
    const owner = (email: string): Target | undefined => {
      const pending = overlay.get(email);
      if (pending !== undefined) return pending ?? undefined;
      const id = this.emailIndex.get(email);
      return id === undefined ? undefined : { kind: 'existing', id };
    };
    const targets: Target[] = [];
    let slots = 0;
    inputs.forEach((input, index) => {
      if (input.id !== undefined) {
        const id = Number(input.id);
        const participant = this.participants.get(id);
        if (!participant) {
          errors.push(participantError(batchPointer(index, 'id'), unknownParticipantDetail(input.id)));
          return;
        }
        const email = input.email === undefined ? (currentEmail.get(id) ?? normalizeEmail(participant.email)) : normalizeEmail(input.email);
        const holder = owner(email);
        if (holder && !(holder.kind === 'existing' && holder.id === id)) {
          errors.push(participantError(batchPointer(index, 'email'), EMAIL_TAKEN_DETAIL));
          return;
        }
        const previous = currentEmail.get(id) ?? normalizeEmail(participant.email);
        if (previous !== email) {
          overlay.set(previous, null);
          overlay.set(email, { kind: 'existing', id });
          currentEmail.set(id, email);
        }
        targets[index] = { kind: 'existing', id };
        return;
      }
      const email = normalizeEmail(input.email!); // validated: an entry without an id has an email
      let target = owner(email);
      if (!target) {
        target = { kind: 'new', slot: slots++ };
        overlay.set(email, target);
      }
      targets[index] = target;
    });
    if (errors.length > 0) {
      errors.sort((a, b) => pointerOrder(a) - pointerOrder(b));
      return { ok: false, errors };
    }

    const created: number[] = [];
    const data = inputs.map((input, index) => {
      const target = targets[index]!;
      let participant: StoredParticipant;
      if (target.kind === 'existing') {
        participant = this.participants.get(target.id)!;
      } else {
        const id = created[target.slot];
        if (id === undefined) {
          participant = this.create(input.email!);
          created[target.slot] = participant.id;
        } else {
          participant = this.participants.get(id)!;
        }
      }
      this.write(participant, input);
      return toResource(participant);
    });
    return { ok: true, data };
  }

  /** `POST /participants`: creates one participant; 422 entries when invalid or the email is taken. */
  createOne(raw: unknown, rules: WriteRules): WriteResult<ParticipantResource> {
    const result = validateParticipant(raw, {
      characteristics: this.characteristics,
      rejectEmail: rules.rejectEmail,
      allowId: false,
      pointer: (field) => (field === undefined ? '/participant' : `/participant/${field}`),
    });
    if (!result.ok) return { ok: false, errors: [result.error] };
    const email = result.participant.email!; // validated: a create has no id, so it has an email
    if (this.emailIndex.has(normalizeEmail(email))) {
      return { ok: false, errors: [participantError('/participant/email', EMAIL_TAKEN_DETAIL)] };
    }
    const participant = this.create(email);
    this.write(participant, result.participant);
    return { ok: true, data: toResource(participant) };
  }

  /** `DELETE /participants/{id}`: the participant as it was, or `null` when it did not exist. */
  deleteOne(id: string): ParticipantResource | null {
    if (!/^\d+$/.test(id)) return null;
    const participant = this.participants.get(Number(id));
    if (!participant) return null;
    this.participants.delete(participant.id);
    this.emailIndex.delete(normalizeEmail(participant.email));
    this.countWrite(participant.email);
    this.orderIsStale = true;
    return toResource(participant);
  }

  /**
   * `GET /_emulator/writes`: per normalized email, how many writes were applied to the participant
   * holding it since the last reset (each create or update of a batch entry, each delete). An email
   * change counts under the new email. Lets a test prove that no row was sent twice.
   */
  writeCounts(): Record<string, number> {
    return Object.fromEntries(this.writes);
  }

  /** `GET /participants`: one page (1-based) of `size` participants, by id ascending. */
  listPage(size: number, page: number): { data: ParticipantResource[]; hasMore: boolean } {
    if (this.orderIsStale) {
      this.order = [...this.participants.keys()];
      this.orderIsStale = false;
    }
    const start = (page - 1) * size;
    const ids = this.order.slice(start, start + size);
    return {
      data: ids.map((id) => toResource(this.participants.get(id)!)),
      hasMore: start + size < this.order.length,
    };
  }

  /**
   * Every participant as `GET /_emulator/state` shows it, by id ascending, as JSON text chunks of
   * at most `chunkSize` participants, so that a million participants never become one string.
   */
  *stateJsonChunks(chunkSize = 1000): Generator<string> {
    yield '{"participants":[';
    let first = true;
    let parts: string[] = [];
    for (const participant of this.participants.values()) {
      parts.push((first ? '' : ',') + JSON.stringify(toSnapshot(participant)));
      first = false;
      if (parts.length >= chunkSize) {
        yield parts.join('');
        parts = [];
      }
    }
    yield parts.join('') + ']}';
  }

  private create(email: string): StoredParticipant {
    const at = this.now();
    const participant: StoredParticipant = {
      id: this.nextId++,
      email: email.trim(),
      first_name: null,
      last_name: null,
      phone_number: null,
      title: null,
      company: null,
      city: null,
      state: null,
      country: null,
      characteristics: null,
      createdAt: at,
      updatedAt: at,
    };
    this.participants.set(participant.id, participant);
    this.emailIndex.set(normalizeEmail(participant.email), participant.id);
    this.order.push(participant.id);
    return participant;
  }

  private write(participant: StoredParticipant, input: ParticipantInput): void {
    const email = input.email?.trim() ?? participant.email;
    const previous = normalizeEmail(participant.email);
    const next = normalizeEmail(email);
    if (previous !== next) {
      if (this.emailIndex.get(previous) === participant.id) this.emailIndex.delete(previous);
      this.emailIndex.set(next, participant.id);
    }
    participant.email = email;
    for (const field of PARTICIPANT_FIELDS) {
      const value = input[field];
      if (value !== undefined) participant[field] = value;
    }
    if (input.characteristics) {
      for (const [slug, value] of Object.entries(input.characteristics)) {
        if (value === null) {
          if (participant.characteristics) delete participant.characteristics[slug];
        } else {
          participant.characteristics ??= {};
          participant.characteristics[slug] = value;
        }
      }
    }
    participant.updatedAt = this.now();
    this.countWrite(email);
  }

  private countWrite(email: string): void {
    const key = normalizeEmail(email);
    this.writes.set(key, (this.writes.get(key) ?? 0) + 1);
  }
}

/** The resource form of a stored participant ({@link ParticipantResource}). */
export function toResource(participant: StoredParticipant): ParticipantResource {
  const attributes: ParticipantResource['attributes'] = {
    email: participant.email,
    firstName: null,
    lastName: null,
    phoneNumber: null,
    title: null,
    company: null,
    city: null,
    state: null,
    country: null,
    characteristics: { ...participant.characteristics } as Record<string, CharacteristicValue>,
    createdAt: isoSeconds(participant.createdAt),
    updatedAt: isoSeconds(participant.updatedAt),
  };
  for (const field of PARTICIPANT_FIELDS) {
    (attributes as Record<string, unknown>)[ATTRIBUTE_NAMES[field]] = participant[field];
  }
  return { id: String(participant.id), type: 'participant', attributes };
}

function toSnapshot(participant: StoredParticipant): ParticipantSnapshot {
  return {
    id: String(participant.id),
    email: participant.email,
    first_name: participant.first_name,
    last_name: participant.last_name,
    phone_number: participant.phone_number,
    title: participant.title,
    company: participant.company,
    city: participant.city,
    state: participant.state,
    country: participant.country,
    characteristics: { ...participant.characteristics },
    created_at: isoSeconds(participant.createdAt),
    updated_at: isoSeconds(participant.updatedAt),
  };
}

let lastSecond = NaN;
let lastIso = '';
/** `2026-01-02T03:04:05Z`, as the API writes timestamps. Cached: most calls in a row share a second. */
function isoSeconds(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastIso = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastIso;
}

function humanize(slug: string): string {
  const words = slug.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function pointerOrder(entry: ApiErrorEntry): number {
  return pointerIndex(entry.source?.pointer) ?? -1;
}
