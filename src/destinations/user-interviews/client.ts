/**
 * The User Interviews participant API, one method per endpoint. It holds API knowledge only: it
 * receives an {@link HttpClient} that already carries auth, timeouts, retries and rate limiting,
 * and every body shape comes from ./wire.ts. Source of every fact: see shared docs:
 * user-interviews-api (tags [confirmed] / [assumed] repeated on each method).
 */
import { HttpRequestRefusedError, HttpUnexpectedResponseError, isContentRefusal } from '../../http/errors.ts';
import type { HttpClient, HttpResponse, RequestContext } from '../../http/http-client.ts';
import {
  ACCEPT,
  CHARACTERISTIC_TYPES,
  CONTENT_TYPE,
  EMAIL_TAKEN_DETAIL,
  MAX_BATCH_SIZE,
  MAX_PAGE_SIZE,
  ROUTES,
  pageQuery,
  pointerIndex,
  type ApiErrorEntry,
  type ApiErrorResponse,
  type BatchUpsertRequest,
  type BatchUpsertResponse,
  type CharacteristicType,
  type CreateParticipantRequest,
  type CreateParticipantResponse,
  type ListCharacteristicsResponse,
  type ListParticipantsResponse,
  type ParticipantInput,
  isUnknownParticipantError,
} from './wire.ts';

/**
 * Why a row was rejected, when the caller can act on it:
 * - `ALREADY_EXISTS`: a create met an existing email (`own: true`);
 * - `UNKNOWN_PARTICIPANT`: the `id` sent names no participant, e.g. one deleted by hand in User
 *   Interviews since its id was stored (`own: true`; nothing of the batch was written);
 * - `REJECTED_WITH_BATCH`: a `422` rejected the batch as a whole and did not name this row
 *   (`own: false`): split retries may get it through.
 * A single-row request (create, delete) refused for what it carries (`400`, `409`, `422`: see
 * isContentRefusal in http/errors.ts) is that row's rejection, with the API's own error and no code.
 * A request refused as a whole for another reason (`403`, `404`, another status the route does
 * not expect; on the batch endpoint anything but `422`) is no row's rejection: it throws
 * {@link HttpRequestRefusedError}.
 */
export const ROW_REJECTION_CODES = ['ALREADY_EXISTS', 'UNKNOWN_PARTICIPANT', 'REJECTED_WITH_BATCH'] as const;
export type RowRejectionCode = (typeof ROW_REJECTION_CODES)[number];

/**
 * The outcome of one row sent to the API. `own: true` means the API named this row as the
 * offender; `own: false` means it was rejected because of its batch or the request as a whole.
 * `code` says why, when the caller can act on it (see {@link ROW_REJECTION_CODES}).
 */
export type RowResult =
  | {
      ok: true;
      id: string;
      /**
       * True when an earlier attempt of the same request got no answer (or a `5xx`) before this
       * one was acknowledged: it may still be applied later, over what this one wrote.
       */
      earlierAttemptMayHaveApplied?: boolean;
    }
  | {
      ok: false;
      error: string;
      own: boolean;
      code?: RowRejectionCode;
      /**
       * True when an earlier attempt of the same request may have been applied: it got no
       * response (timeout, reset, dropped connection) or a `5xx`. False when the earlier attempts
       * were only `429`s or other `4xx`, which were not applied. Set on `ALREADY_EXISTS`.
       */
      earlierAttemptMayHaveApplied?: boolean;
    };

/** A characteristic (custom field) of the account. */
export interface Characteristic {
  slug: string;
  name: string;
  type: CharacteristicType;
}

/** The part of a listed participant panelsync needs to build its email -> id directory. */
export interface ListedParticipant {
  id: string;
  email: string;
}

const CHARACTERISTIC_TYPE_SET: ReadonlySet<string> = new Set(CHARACTERISTIC_TYPES);

/** Client for one User Interviews account (see shared docs: user-interviews-api). */
export class UserInterviewsClient {
  constructor(private readonly http: HttpClient) {}

  /**
   * Headers of every request: `Authorization: Bearer <key>` [confirmed], `Accept` and
   * `Content-Type` of the v2 API [confirmed] (the HttpClient drops `Content-Type` without a body).
   */
  static headers(apiKey: string): Record<string, string> {
    return { Authorization: `Bearer ${apiKey}`, Accept: ACCEPT, 'Content-Type': CONTENT_TYPE };
  }

  /**
   * `GET /characteristics` [assumed path; concept and types confirmed]. Throws
   * {@link HttpRequestRefusedError} on a `4xx`, {@link HttpUnexpectedResponseError} on another
   * status but 200, a body without `data`, or a type panelsync does not know; HttpError from the
   * HttpClient (401, transient exhausted).
   */
  async listCharacteristics(context?: RequestContext): Promise<Characteristic[]> {
    const res = await this.http.request<ListCharacteristicsResponse | ApiErrorResponse>(
      { method: 'GET', path: ROUTES.characteristics },
      context,
    );
    const data = this.expectData(res, 'GET /characteristics', 200);
    return data.map((item) => {
      const { slug, name, type } = (item as ListCharacteristicsResponse['data'][number]).attributes ?? {};
      if (typeof slug !== 'string' || !CHARACTERISTIC_TYPE_SET.has(type)) {
        throw new HttpUnexpectedResponseError(
          `GET /characteristics returned characteristic ${JSON.stringify(slug)} of type ` +
            `${JSON.stringify(type)}, which panelsync does not know (known: ${CHARACTERISTIC_TYPES.join(', ')}); ` +
            `upgrade panelsync or remove that characteristic from the mappings`,
          res.status,
        );
      }
      return { slug, name: typeof name === 'string' ? name : slug, type };
    });
  }

  /**
   * `GET /participants?page[size]=N&page[number]=K` [confirmed; response shape assumed]. `page` is
   * 1-based; `size` 1..200 rows, default 200. `hasMore` comes from `meta.pagination.hasMore`
   * (when absent: a full page means more). Throws RangeError on a bad page or size,
   * {@link HttpRequestRefusedError} on a `4xx` but 422, {@link HttpUnexpectedResponseError} on
   * another status but 200 or a body without `data`.
   */
  async listParticipantsPage(
    page: number,
    size: number = MAX_PAGE_SIZE,
    context?: RequestContext,
  ): Promise<{ participants: ListedParticipant[]; hasMore: boolean }> {
    if (!Number.isInteger(page) || page < 1) throw new RangeError(`page must be an integer >= 1, got ${page}`);
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw new RangeError(`page size must be an integer in 1..${MAX_PAGE_SIZE}, got ${size}`);
    }
    const res = await this.http.request<ListParticipantsResponse | ApiErrorResponse>(
      { method: 'GET', path: `${ROUTES.listParticipants}?${pageQuery(size, page)}` },
      context,
    );
    const data = this.expectData(res, 'GET /participants', 200) as ListParticipantsResponse['data'];
    const participants = data.map((p) => ({ id: String(p.id), email: p.attributes.email }));
    const meta = (res.body as Partial<ListParticipantsResponse>).meta;
    const hasMore = meta?.pagination?.hasMore ?? participants.length >= size;
    return { participants, hasMore };
  }

  /**
   * Every participant of the account, page after page of `size` rows (default 200), in the API's
   * order. Stops at the first page with `hasMore: false` or no rows. Errors as
   * {@link listParticipantsPage}.
   */
  async *participants(size: number = MAX_PAGE_SIZE, context?: RequestContext): AsyncGenerator<ListedParticipant> {
    for (let page = 1; ; page += 1) {
      const { participants, hasMore } = await this.listParticipantsPage(page, size, context);
      yield* participants;
      if (!hasMore || participants.length === 0) return;
    }
  }

  /**
   * `PATCH /participants/batches` [confirmed path; body assumed], at most 100 rows [confirmed].
   * Returns one {@link RowResult} per input row, in order:
   * - 200: every row `{ ok: true, id }` from `data`, in request order [assumed];
   * - 422 (all or nothing, nothing written [confirmed]): rows named by an error's
   *   `source.pointer` (`/participants/{index}/{field}` [assumed]) get their own details,
   *   `field: detail` joined by `; `, `own: true`, and `code: 'UNKNOWN_PARTICIPANT'` when an error
   *   says their `id` names no participant [assumed, see wire.ts]; the others `own: false`,
   *   `code: 'REJECTED_WITH_BATCH'`, `batch rejected: N other participant(s) invalid`. Without
   *   usable pointers every row gets the errors' details, `own: false`, `REJECTED_WITH_BATCH`;
   * - 413 (the body is too large for the API [assumed]): with more than one row, every row
   *   `own: false`, `code: 'REJECTED_WITH_BATCH'` (split retries send halves, as for a 422); a
   *   single row is rejected on its own (`own: true`): that participant alone is too large;
   * - any other status (`403`, `404`, `400`…): throws {@link HttpRequestRefusedError} (the request
   *   as a whole was refused: splitting cannot help, and every other batch would meet it too).
   * Throws only when the whole batch fails: that, HttpError from the HttpClient (401, transient
   * exhausted, rate limit exceeded), {@link HttpUnexpectedResponseError} when a 200 does not carry
   * one participant per row, RangeError over 100 rows.
   */
  async batchUpsert(participants: ParticipantInput[], context?: RequestContext): Promise<RowResult[]> {
    if (participants.length === 0) return [];
    if (participants.length > MAX_BATCH_SIZE) {
      throw new RangeError(`a batch holds at most ${MAX_BATCH_SIZE} participants, got ${participants.length}`);
    }
    const body: BatchUpsertRequest = { participants };
    const res = await this.http.request<BatchUpsertResponse | ApiErrorResponse>(
      { method: 'PATCH', path: ROUTES.batchUpsert, body },
      context,
    );
    const n = participants.length;
    if (isSuccess(res.status)) {
      const data = this.expectData(res, 'PATCH /participants/batches', res.status);
      if (data.length !== n || data.some((p) => !hasId(p))) {
        throw new HttpUnexpectedResponseError(
          `PATCH /participants/batches returned ${data.length} participant(s) for ${n} sent ` +
            `(HTTP ${res.status}); the API did not answer as documented, report this with the run's API calls`,
          res.status,
        );
      }
      // An earlier attempt that got no answer may still land after this one: the caller keeps it in doubt.
      const late = res.earlierAttemptMayHaveApplied ? { earlierAttemptMayHaveApplied: true } : {};
      return data.map((p) => ({ ok: true, id: String((p as { id: unknown }).id), ...late }));
    }
    if (res.status === 413) return tooLargeResults(n, Buffer.byteLength(JSON.stringify(body)));
    const errors = errorEntries(res.body);
    if (res.status !== 422) throw this.refused('PATCH /participants/batches', res);
    const own = new Map<number, string[]>();
    const unknownId = new Set<number>();
    const general: string[] = [];
    for (const entry of errors) {
      const index = pointerIndex(entry.source?.pointer);
      if (index !== null && index < n) {
        own.set(index, [...(own.get(index) ?? []), fieldDetail(entry, /^\/participants\/\d+\/?(.*)$/)]);
        const id = participants[index]!.id;
        if (id !== undefined && isUnknownParticipantError(entry, index, id)) unknownId.add(index);
      } else {
        general.push(entryDetail(entry));
      }
    }
    if (own.size === 0) {
      // The API's details may echo what it was sent (an API key among them): redacted like every text it returns.
      const error = this.http.redact(general.length > 0 ? general.join('; ') : 'HTTP 422: batch rejected without details');
      return participants.map(() => ({ ok: false, own: false, code: 'REJECTED_WITH_BATCH', error }));
    }
    const others = this.http.redact([`batch rejected: ${own.size} other participant(s) invalid`, ...general].join('; '));
    return participants.map((_, i): RowResult => {
      const details = own.get(i);
      if (!details) return { ok: false, own: false, code: 'REJECTED_WITH_BATCH', error: others };
      const error = this.http.redact(details.join('; '));
      return unknownId.has(i) ? { ok: false, own: true, code: 'UNKNOWN_PARTICIPANT', error } : { ok: false, own: true, error };
    });
  }

  /**
   * `POST /participants` [confirmed path; body assumed]: creates one participant, never overwrites.
   * 201 -> `{ ok: true, id }`; 422 (or 400, 409) with "email has already been taken" [assumed] ->
   * `{ ok: false, own: true, code: 'ALREADY_EXISTS', earlierAttemptMayHaveApplied }`; other 400,
   * 409 or 422 -> the row's own error, the API's details (`field: detail`, joined by `; `); any
   * other status (`403`, `404`…) throws {@link HttpRequestRefusedError}. Throws as
   * {@link batchUpsert}. Note: a create retried after a timeout, a dropped connection or a `5xx`
   * may meet the participant its first attempt created, and report `ALREADY_EXISTS` with
   * `earlierAttemptMayHaveApplied: true`; after `429`s only, the email was taken by someone else.
   */
  async createParticipant(p: ParticipantInput, context?: RequestContext): Promise<RowResult> {
    const body: CreateParticipantRequest = { participant: p };
    const res = await this.http.request<CreateParticipantResponse | ApiErrorResponse>(
      { method: 'POST', path: ROUTES.createParticipant, body },
      context,
    );
    if (isSuccess(res.status)) {
      const data = (res.body as Partial<CreateParticipantResponse> | undefined)?.data;
      if (!hasId(data)) {
        throw new HttpUnexpectedResponseError(
          `POST /participants answered HTTP ${res.status} without data.id; the API did not answer as ` +
            `documented, report this with the run's API calls`,
          res.status,
        );
      }
      return { ok: true, id: String(data.id) };
    }
    if (!isContentRefusal(res.status)) throw this.refused('POST /participants', res);
    if (errorEntries(res.body).some((e) => e.detail?.trim().toLowerCase() === EMAIL_TAKEN_DETAIL)) {
      return {
        ok: false,
        own: true,
        code: 'ALREADY_EXISTS',
        error: `already exists: ${EMAIL_TAKEN_DETAIL}`,
        earlierAttemptMayHaveApplied: res.earlierAttemptMayHaveApplied,
      };
    }
    return this.rowRejection(res);
  }

  /**
   * `DELETE /participants/{id}` [assumed]: 204 -> `{ ok: true, id }`; 404 -> `{ ok: true, id }`
   * (already deleted [assumed]); 400, 409 or 422 -> the row's own error, the API's details (this
   * participant cannot be deleted now); any other status (`403`…) throws
   * {@link HttpRequestRefusedError}. Throws as {@link batchUpsert}.
   */
  async deleteParticipant(id: string, context?: RequestContext): Promise<RowResult> {
    const res = await this.http.request<ApiErrorResponse>({ method: 'DELETE', path: ROUTES.participant(id) }, context);
    if (isSuccess(res.status) || res.status === 404) return { ok: true, id };
    if (isContentRefusal(res.status)) return this.rowRejection(res);
    throw this.refused(`DELETE ${ROUTES.participant(id)}`, res);
  }

  /**
   * A single-row request's refusal as that row's own rejection: the API's details, each as
   * `field: detail` when its pointer names a field of the participant (secrets redacted), joined by
   * `; `; `HTTP {status}: rejected without details` without any.
   */
  private rowRejection(res: HttpResponse<unknown>): RowResult {
    const details = errorEntries(res.body).map((e) => fieldDetail(e, /^\/participants?(?:\/\d+)?\/?(.*)$/));
    const error = details.length > 0 ? details.join('; ') : `HTTP ${res.status}: rejected without details`;
    return { ok: false, own: true, error: this.http.redact(error) };
  }

  /**
   * `body.data` as an array when `res.status` is `expected`; otherwise HttpRequestRefusedError for a
   * `4xx` but 422 (the request refused as a whole), else HttpUnexpectedResponseError.
   */
  private expectData(res: HttpResponse<unknown>, route: string, expected: number): unknown[] {
    const data = (res.body as { data?: unknown } | undefined)?.data;
    if (res.status === expected && Array.isArray(data)) return data;
    if (res.status >= 400 && res.status <= 499 && res.status !== 422) throw this.refused(route, res);
    const why = res.status === expected ? 'a body without a data array' : `HTTP ${res.status}: ${this.http.redact(detailsText(errorEntries(res.body)))}`;
    throw new HttpUnexpectedResponseError(`${route} answered ${why}; the API did not answer as documented, report this with the run's API calls`, res.status);
  }

  /** The refusal of `route` as a whole, with the API's error details (secrets redacted). */
  private refused(route: string, res: HttpResponse<unknown>): HttpRequestRefusedError {
    return new HttpRequestRefusedError(route, res.status, this.http.redact(detailsText(errorEntries(res.body))));
  }
}

/**
 * The results of a batch of `n` rows answered `413` (its JSON body, `bytes` long, is over the
 * API's limit): a batch of several is rejected as a whole, for split retries to halve; one row is
 * rejected on its own, as too large whatever batch carries it.
 */
function tooLargeResults(n: number, bytes: number): RowResult[] {
  if (n === 1) {
    return [{ ok: false, own: true, error: `HTTP 413: this participant is too large for the API (${bytes} bytes of JSON); shorten its mapped values` }];
  }
  const error = `HTTP 413: the batch of ${n} participants (${bytes} bytes of JSON) is too large for the API: rejected as a whole, split to find the rows too large`;
  return Array.from({ length: n }, (): RowResult => ({ ok: false, own: false, code: 'REJECTED_WITH_BATCH', error }));
}

function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

function hasId(value: unknown): value is { id: string | number } {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return (typeof id === 'string' && id !== '') || typeof id === 'number';
}

function errorEntries(body: unknown): ApiErrorEntry[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.filter((e): e is ApiErrorEntry => typeof e === 'object' && e !== null) : [];
}

function entryDetail(entry: ApiErrorEntry): string {
  return entry.detail || entry.title || 'invalid';
}

/** `email: email is not a valid email address` from an entry whose pointer's tail (group 1 of `tail`) names the field. */
function fieldDetail(entry: ApiErrorEntry, tail: RegExp): string {
  const field = tail.exec(entry.source?.pointer ?? '')?.[1]?.split('/').filter(Boolean).join('.');
  return field ? `${field}: ${entryDetail(entry)}` : entryDetail(entry);
}

function detailsText(errors: ApiErrorEntry[]): string {
  return errors.length > 0 ? errors.map(entryDetail).join('; ') : 'no error detail';
}
