/**
 * The User Interviews emulator as a Hono app: the participant API under `/api`, exactly as the wire
 * module encodes it (see shared docs: user-interviews-api), plus test-only routes under
 * `/_emulator/` (state dump, reset, stats, per-email write counts, characteristics, knobs). Serve it with
 * {@link ../emulator/start-emulator.ts} or test it with `app.request(...)`.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { z } from 'zod';
import {
  ACCEPT,
  CHARACTERISTIC_TYPES,
  CONTENT_TYPE,
  type ApiErrorEntry,
  type ApiErrorResponse,
  type BatchUpsertResponse,
  type CharacteristicType,
  type CreateParticipantResponse,
  type ListCharacteristicsResponse,
  type ListParticipantsResponse,
  type ParticipantResource,
} from '../destinations/user-interviews/wire.ts';
import { ENVIRONMENTS, type Environment } from '../config/schema.ts';
import { DEFAULT_KNOBS, parseKnobsPatch, type EmulatorKnobs, type FaultKind, type FaultSpec, type KnobsPatch, type RateLimitHeaderStyle } from './emulator-knobs.ts';
import { EmulatorState } from './emulator-state.ts';
import { participantError } from './validate-participant.ts';
import { BUILT_IN_CONTRACT, type EmulatorContract } from './variants.ts';
import { errorBodyIn, participantInBuiltInKeys } from './contract-forms.ts';
import { RateLimiter, type RateDecision } from './rate-limiter.ts';
import { SeededRandom } from './seeded-random.ts';

/** The API key the emulator accepts when none is given. Documented for demos; not a secret. */
export const DEMO_API_KEY = 'demo-key';

/** A characteristic to define: `slug` (letters, digits, `_`, `-`), `type`, optional display `name`. */
export interface CharacteristicInput {
  slug: string;
  type: CharacteristicType;
  name?: string;
}

/** Start options of the emulator. Every knob can also be changed later (`PATCH /_emulator/knobs`). */
export interface EmulatorOptions {
  /**
   * Accepted API keys: `KEY` (valid in both environments), `sandbox:KEY` or `production:KEY` (valid
   * only when the emulator plays that environment). Default: [{@link DEMO_API_KEY}].
   */
  apiKeys?: string[];
  /** The environment this emulator plays (it decides which prefixed keys are valid). Default `sandbox`. */
  environment?: Environment;
  /** Characteristics defined at start. Default: none. */
  characteristics?: CharacteristicInput[];
  /** Requests per second per API key; `null`/absent: unlimited. */
  rateLimit?: number | null;
  /** Rate-limit headers on the answers of a rate-limited key. Default `none`. */
  rateLimitHeaders?: RateLimitHeaderStyle;
  /** Added to every `/api` response, ms. */
  latencyMs?: number;
  /** Share (0..1) of `/api` requests failing with a random fault. */
  faultRate?: number;
  /** Emails matching it (case-insensitive) are rejected as "email is not deliverable". */
  rejectEmailPattern?: string | null;
  /** Participants per batch, at most. Default: the contract's (100 unless a variant or profile says less). */
  maxBatch?: number;
  /**
   * The items of the contract answered differently from the wire module (a variant of
   * ./variants.ts, or a profile of ./contract-profile.ts). Default: none, the built-in contract.
   */
  contract?: Partial<EmulatorContract>;
  /** How long a slow fault holds a response, ms. Default 5000. */
  slowMs?: number;
  /** Seed of the fault randomness. Default 1. */
  seed?: number;
  /** Any other knobs, snake_case as `PATCH /_emulator/knobs` takes them; applied last. */
  knobs?: KnobsPatch;
  /** Aborting it ends pending latency and slow-fault waits at once (used on shutdown). */
  signal?: AbortSignal;
  /** Clock, epoch ms (timestamps and the rate limit). */
  now?: () => number;
}

/** Invalid emulator options (a knob out of range, a bad key or characteristic). */
export class EmulatorOptionsError extends Error {
  readonly code = 'EMULATOR_INVALID_OPTIONS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmulatorOptionsError';
  }
}

const characteristicsBodySchema = z.strictObject({
  characteristics: z.array(
    z.strictObject({
      slug: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_-]*$/, 'use letters, digits, "_" and "-"'),
      type: z.enum(CHARACTERISTIC_TYPES),
      name: z.string().min(1).optional(),
    }),
  ),
});

type Env = { Bindings: Partial<HttpBindings> | undefined };

/**
 * Builds the emulator app. API routes (base `/api`, see shared docs: user-interviews-api), as the
 * built-in contract has them unless `options.contract` changes an item (./variants.ts):
 * `GET /participants?page[size]&page[number]` (size 1..200, default 25; a size over 200 is a 422,
 * not clamped, so that a client bug shows), `PATCH /participants/batches`, `POST /participants`,
 * `DELETE /participants/{id}`, `GET /characteristics`. Every `/api` request passes, in order:
 * counted in stats, latency, injected fault (`fail_next`, then random), auth (401), rate limit
 * (429), `Accept` (406), the route (404 when unknown), then for writes `Content-Type` (415) and JSON (400).
 * Test routes: `GET /_emulator/state`, `POST /_emulator/reset` (participants, write counts and stats
 * cleared; ids keep counting, never reused), `GET /_emulator/stats`
 * (`{ total, by_route: { "PATCH /api/participants/batches": 40 }, by_status: { "200": 40, "429": 2 } }`:
 * `/api` requests since the last reset; a dropped connection's status is `none`),
 * `GET /_emulator/writes` (`{ by_email: { "ann@example.com": 2 } }`: writes applied per normalized
 * email since the last reset, see {@link EmulatorState.writeCounts}),
 * `POST /_emulator/characteristics`, `GET|PATCH /_emulator/knobs`.
 * @throws EmulatorOptionsError when an option is invalid.
 */
export function createEmulatorApp(options: EmulatorOptions = {}): Hono<Env> {
  const now = options.now ?? Date.now;
  const environment = options.environment ?? 'sandbox';
  const apiKeys = parseApiKeys(options.apiKeys ?? [DEMO_API_KEY]);
  const contract: EmulatorContract = { ...BUILT_IN_CONTRACT, ...options.contract };
  const state = new EmulatorState(now);
  const knobs: EmulatorKnobs = structuredClone(DEFAULT_KNOBS);
  let random = new SeededRandom(knobs.seed);
  let rateLimiter: RateLimiter | null = null;
  let rejectEmail: RegExp | null = null;
  let stats = new Map<string, number>();
  let statuses = new Map<string, number>();
  let total = 0;

  const applyKnobs = (patch: KnobsPatch): void => {
    Object.assign(knobs, structuredClone(patch));
    if (patch.seed !== undefined) random = new SeededRandom(patch.seed);
    if (patch.rate_limit !== undefined) rateLimiter = patch.rate_limit === null ? null : new RateLimiter(patch.rate_limit, now);
    if (patch.reject_email_pattern !== undefined) {
      rejectEmail = patch.reject_email_pattern === null ? null : new RegExp(patch.reject_email_pattern, 'i');
    }
  };
  const startKnobs: Record<string, unknown> = {
    rate_limit: options.rateLimit,
    rate_limit_headers: options.rateLimitHeaders,
    latency_ms: options.latencyMs,
    fault_rate: options.faultRate,
    reject_email_pattern: options.rejectEmailPattern,
    max_batch: options.maxBatch ?? contract.maxBatch,
    slow_ms: options.slowMs,
    seed: options.seed,
    ...options.knobs,
  };
  for (const key of Object.keys(startKnobs)) if (startKnobs[key] === undefined) delete startKnobs[key];
  const parsedKnobs = parseKnobsPatch(startKnobs);
  if (!parsedKnobs.ok) throw new EmulatorOptionsError(`invalid emulator options: ${parsedKnobs.problems.join('; ')}`);
  applyKnobs(parsedKnobs.patch);
  const parsedCharacteristics = characteristicsBodySchema.safeParse({ characteristics: options.characteristics ?? [] });
  if (!parsedCharacteristics.success) {
    throw new EmulatorOptionsError(`invalid emulator characteristics: ${zodProblems(parsedCharacteristics.error).join('; ')}`, {
      cause: parsedCharacteristics.error,
    });
  }
  state.defineCharacteristics(parsedCharacteristics.data.characteristics);

  const app = new Hono<Env>();

  // ---- test-only routes ----
  app.get('/_emulator/state', () => {
    const chunks = state.stateJsonChunks();
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
    });
    return new Response(body, { headers: { 'content-type': 'application/json; charset=utf-8' } });
  });
  app.post('/_emulator/reset', (c) => {
    state.reset();
    stats = new Map();
    statuses = new Map();
    total = 0;
    if (knobs.rate_limit !== null) rateLimiter = new RateLimiter(knobs.rate_limit, now);
    return c.json({ ok: true });
  });
  app.get('/_emulator/stats', (c) => c.json({ total, by_route: Object.fromEntries(stats), by_status: Object.fromEntries(statuses) }));
  app.get('/_emulator/writes', (c) => c.json({ by_email: state.writeCounts() }));
  app.post('/_emulator/characteristics', async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const parsed = characteristicsBodySchema.safeParse(body.value);
    if (!parsed.success) {
      return errorResponse(c, 400, 'Invalid characteristics', zodProblems(parsed.error));
    }
    state.defineCharacteristics(parsed.data.characteristics);
    return c.json({ data: state.listCharacteristics() } satisfies ListCharacteristicsResponse);
  });
  app.get('/_emulator/knobs', (c) => c.json(knobs));
  app.patch('/_emulator/knobs', async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const parsed = parseKnobsPatch(body.value);
    if (!parsed.ok) return errorResponse(c, 400, 'Invalid knobs', parsed.problems);
    applyKnobs(parsed.patch);
    return c.json(knobs);
  });

  // ---- the API ----
  const api = new Hono<Env>();
  // Outermost: every /api answer, early refusals included, in the contract's error body and headers.
  api.use('*', async (c, next) => {
    await next();
    if (contract.errorBody !== 'errors_array' && c.res.status >= 400 && (c.res.headers.get('content-type') ?? '').includes('json')) {
      const entries = ((await c.res.clone().json()) as Partial<ApiErrorResponse>).errors ?? [];
      c.res = new Response(JSON.stringify(errorBodyIn(contract.errorBody, entries)), { status: c.res.status, headers: c.res.headers });
    }
    for (const [name, value] of Object.entries(contract.responseHeaders)) c.res.headers.set(name, value);
  });
  api.use('*', async (c, next) => {
    total += 1;
    const route = routeKey(c.req.method, c.req.path);
    stats.set(route, (stats.get(route) ?? 0) + 1);
    const answer = await guard(c, next);
    // A dropped connection has no status: it is counted under "none".
    const status = c.env?.incoming?.socket.destroyed ? 'none' : String((answer ?? c.res).status);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    return answer;
  });

  /** Latency, faults, auth, rate limit and `Accept` of one `/api` request, then its route. */
  const guard = async (c: Context<Env>, next: () => Promise<void>): Promise<Response | undefined> => {
    await sleep(knobs.latency_ms, options.signal);

    const fault = knobs.fail_next.shift() ?? randomFault();
    if (fault) {
      if (fault.drop) return dropConnection(c);
      if (fault.slow_ms !== undefined) await sleep(fault.slow_ms, options.signal);
      if (fault.status !== undefined) {
        const headers: Record<string, string> = {};
        if (fault.status === 429) headers['retry-after'] = String(fault.retry_after ?? 1);
        else if (fault.retry_after !== undefined) headers['retry-after'] = String(fault.retry_after);
        return errorResponse(c, fault.status, 'Injected fault', `the emulator injected a ${fault.status} (fault knob)`, headers);
      }
    }

    const key = bearerToken(c.req.header('authorization'));
    const keyEnvironment = key === null ? undefined : apiKeys.get(key);
    if (key === null || keyEnvironment === undefined) {
      return errorResponse(c, 401, 'Unauthorized', 'missing or invalid API key: send "Authorization: Bearer <key>" with a key from Account Settings > API Keys');
    }
    if (keyEnvironment !== null && keyEnvironment !== environment) {
      return errorResponse(c, 401, 'Unauthorized', `this API key belongs to the ${keyEnvironment} environment, this server is ${environment}: use a ${environment} key or the ${keyEnvironment} base URL`);
    }
    const decision = rateLimiter?.take(key) ?? null;
    const limitHeaders = decision === null ? {} : rateLimitHeaders(decision, knobs.rate_limit_headers, now());
    if (decision?.retryAfter != null) {
      return errorResponse(c, 429, 'Too Many Requests', `rate limit of ${knobs.rate_limit} requests per second exceeded: retry after ${decision.retryAfter} s`, {
        'retry-after': String(decision.retryAfter),
        ...limitHeaders,
      });
    }
    if (!acceptsApiVersion(c.req.header('accept'))) {
      return errorResponse(c, 406, 'Not Acceptable', `send "Accept: ${ACCEPT}" on every request`);
    }
    await next();
    for (const [name, value] of Object.entries(limitHeaders)) c.res.headers.set(name, value);
    if (c.req.method !== 'GET' && knobs.apply_then_drop_next > 0) {
      knobs.apply_then_drop_next -= 1;
      c.res = dropConnection(c);
    }
    return undefined;
  };

  api.get('/participants', (c) => {
    const perPage = contract.paging === 'page_per_page';
    const [sizeName, pageName] = perPage ? ['per_page', 'page'] : ['page[size]', 'page[number]'];
    const clamp = contract.pageSizeOverMax === 'clamp';
    const size = pageParam(c.req.query(sizeName), contract.defaultPageSize, clamp ? Number.MAX_SAFE_INTEGER : contract.maxPageSize);
    const page = pageParam(c.req.query(pageName), 1, Number.MAX_SAFE_INTEGER);
    if (size === null) return errorResponse(c, 422, 'Invalid page', `${sizeName} must be a whole number from 1 to ${contract.maxPageSize}`);
    if (page === null) return errorResponse(c, 422, 'Invalid page', `${pageName} must be a whole number from 1`);
    const { data, hasMore } = state.listPage(Math.min(size, contract.maxPageSize), page);
    if (perPage) return c.json({ data, meta: { page, per_page: Math.min(size, contract.maxPageSize), total_count: state.size } });
    return c.json({ data, meta: { pagination: { currentPage: page, hasMore } } } satisfies ListParticipantsResponse);
  });

  api.patch('/participants/batches', async (c) => {
    const body = await readApiJson(c);
    if (!body.ok) return body.response;
    const participants = (body.value as { participants?: unknown } | null)?.participants;
    if (!Array.isArray(participants)) {
      return errorResponse(c, 422, 'Invalid request', 'the body must be {"participants": [ … ]}');
    }
    if (participants.length > knobs.max_batch) {
      return c.json(
        {
          errors: [
            {
              status: '422',
              title: 'Batch too large',
              detail: `a batch holds at most ${knobs.max_batch} participants (got ${participants.length}): send smaller batches`,
              source: { pointer: '/participants' },
            },
          ],
        } satisfies ApiErrorResponse,
        422,
      );
    }
    const entries = participants.map((entry) => participantInBuiltInKeys(contract.requestKeys, entry));
    if (!contract.renameById) {
      const errors = entries.flatMap((entry, index) =>
        typeof entry === 'object' && entry !== null && 'id' in entry
          ? [participantError(`/participants/${index}/id`, 'unknown attribute "id" (known: email and the participant fields)')]
          : [],
      );
      if (errors.length > 0) return c.json({ errors } satisfies ApiErrorResponse, 422);
    }
    if (contract.batchErrors === 'per_row') {
      // Each entry on its own: the valid ones are written, the others answered in `errors`.
      const data: (ParticipantResource | null)[] = [];
      const errors: ApiErrorEntry[] = [];
      entries.forEach((entry, index) => {
        const one = state.upsertBatch([entry], { rejectEmail });
        data.push(one.ok ? one.data[0]! : null);
        if (!one.ok) {
          for (const error of one.errors) {
            const pointer = error.source?.pointer.replace(/^\/participants\/0(?=\/|$)/, `/participants/${index}`);
            errors.push(pointer === undefined ? error : { ...error, source: { pointer } });
          }
        }
      });
      return c.json(errors.length > 0 ? { data, errors } : { data }, 200);
    }
    const result = state.upsertBatch(entries, { rejectEmail });
    if (!result.ok) return c.json({ errors: result.errors } satisfies ApiErrorResponse, 422);
    return c.json({ data: result.data } satisfies BatchUpsertResponse, 200);
  });

  api.post('/participants', async (c) => {
    const body = await readApiJson(c);
    if (!body.ok) return body.response;
    const value = body.value as { participant?: unknown } | null;
    if (typeof value !== 'object' || value === null || !('participant' in value)) {
      return errorResponse(c, 422, 'Invalid request', 'the body must be {"participant": { "email": … }}');
    }
    const result = state.createOne(participantInBuiltInKeys(contract.requestKeys, value.participant), { rejectEmail });
    if (!result.ok) return c.json({ errors: result.errors } satisfies ApiErrorResponse, 422);
    return c.json({ data: result.data } satisfies CreateParticipantResponse, 201);
  });

  api.delete('/participants/:id', (c) => {
    const deleted = state.deleteOne(c.req.param('id'));
    if (!deleted) {
      return errorResponse(c, 404, 'Not Found', `participant ${c.req.param('id')} does not exist (treat it as already deleted)`);
    }
    return contract.deleteStatus === 200 ? c.json({ data: deleted }, 200) : c.body(null, 204);
  });

  api.get('/characteristics', (c) => c.json({ data: state.listCharacteristics() } satisfies ListCharacteristicsResponse));

  app.route('/api', api);
  app.notFound((c) =>
    errorResponse(
      c,
      404,
      'Not Found',
      c.req.path === '/api' || c.req.path.startsWith('/api/')
        ? `no API route ${c.req.method} ${c.req.path}: see the participant API routes (GET|POST /api/participants, PATCH /api/participants/batches, DELETE /api/participants/{id}, GET /api/characteristics)`
        : `no emulator route ${c.req.method} ${c.req.path}: the API is under /api, test routes under /_emulator`,
    ),
  );
  app.onError((error, c) => errorResponse(c, 500, 'Internal Server Error', `the emulator failed: ${error.message}`));
  return app;

  function randomFault(): FaultSpec | undefined {
    if (knobs.fault_rate <= 0 || random.next() >= knobs.fault_rate) return undefined;
    const kind: FaultKind = knobs.fault_kinds[Math.floor(random.next() * knobs.fault_kinds.length)] ?? '500';
    switch (kind) {
      case '500':
        return { status: 500 };
      case '429':
        return { status: 429, retry_after: 1 };
      case 'drop':
        return { drop: true };
      case 'slow':
        return { slow_ms: knobs.slow_ms };
    }
  }
}

/**
 * The stats key of a request: method and path, ids replaced by `{id}`, no query string
 * (`DELETE /api/participants/{id}`).
 */
export function routeKey(method: string, path: string): string {
  const segments = path.replace(/\/+$/, '').split('/');
  const normalized = segments.map((segment, index) =>
    /^\d+$/.test(segment) || (index === 3 && segments[1] === 'api' && segments[2] === 'participants' && segment !== 'batches')
      ? '{id}'
      : segment,
  );
  return `${method} ${normalized.join('/') || '/'}`;
}

/**
 * The rate-limit headers of `style` for a key's bucket after `decision` (see
 * {@link RATE_LIMIT_HEADER_STYLES}); `{}` for `none`. `nowMs`: epoch ms, for `X-RateLimit-Reset`.
 */
function rateLimitHeaders(decision: RateDecision, style: RateLimitHeaderStyle, nowMs: number): Record<string, string> {
  switch (style) {
    case 'none':
      return {};
    case 'ratelimit':
      return {
        'ratelimit-limit': String(decision.limit),
        'ratelimit-remaining': String(decision.remaining),
        'ratelimit-reset': String(decision.resetSeconds),
        'ratelimit-policy': `${decision.limit};w=${Number(decision.windowSeconds.toFixed(3))}`,
      };
    case 'x-ratelimit':
      return {
        'x-ratelimit-limit': String(decision.limit),
        'x-ratelimit-remaining': String(decision.remaining),
        'x-ratelimit-reset': String(Math.ceil(nowMs / 1000) + decision.resetSeconds),
      };
  }
}

/** Parses `KEY`, `sandbox:KEY`, `production:KEY` into key -> environment (`null`: both). */
function parseApiKeys(raw: string[]): Map<string, Environment | null> {
  const keys = new Map<string, Environment | null>();
  for (const entry of raw) {
    const colon = entry.indexOf(':');
    const prefix = colon > 0 ? entry.slice(0, colon) : '';
    const environment = (ENVIRONMENTS as readonly string[]).includes(prefix) ? (prefix as Environment) : null;
    const key = environment ? entry.slice(colon + 1) : entry;
    if (key.trim() === '') throw new EmulatorOptionsError('an API key is empty: give KEY, sandbox:KEY or production:KEY');
    keys.set(key, environment);
  }
  if (keys.size === 0) throw new EmulatorOptionsError('no API key given: give at least one, or none to use the demo key');
  return keys;
}

function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function acceptsApiVersion(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => mediaType(part) === ACCEPT);
}

function pageParam(raw: string | undefined, fallback: number, max: number): number | null {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return null;
  const value = Number(raw);
  return value >= 1 && value <= max ? value : null;
}

function errorResponse(
  _c: Context<Env>,
  status: number,
  title: string,
  details: string | string[],
  headers: Record<string, string> = {},
): Response {
  const errors: ApiErrorEntry[] = (Array.isArray(details) ? details : [details]).map((detail) => ({
    status: String(status),
    title,
    detail,
  }));
  return new Response(JSON.stringify({ errors } satisfies ApiErrorResponse), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** Reads an API request body: 415 unless sent as the version's Content-Type, 400 unless JSON. */
async function readApiJson(c: Context<Env>): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  if (mediaType(c.req.header('content-type')) !== CONTENT_TYPE) {
    return { ok: false, response: errorResponse(c, 415, 'Unsupported Media Type', `send request bodies as "Content-Type: ${CONTENT_TYPE}"`) };
  }
  return readJson(c);
}

async function readJson(c: Context<Env>): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const text = await c.req.text();
  if (text.trim() === '') return { ok: false, response: errorResponse(c, 400, 'Bad Request', 'the request body is empty: send a JSON body') };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, response: errorResponse(c, 400, 'Bad Request', `the request body is not valid JSON (${(error as Error).message})`) };
  }
}

/**
 * Destroys the connection without a response. Without a socket (`app.request` in tests) there is
 * nothing to destroy: the emulator answers 500 instead.
 */
function dropConnection(c: Context<Env>): Response {
  const incoming = c.env?.incoming;
  if (!incoming) return errorResponse(c, 500, 'Injected fault', 'the emulator would drop this connection (no socket to drop)');
  incoming.socket.destroy();
  return new Response(null, { status: 500 });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')}: ${issue.message}`,
  );
}
