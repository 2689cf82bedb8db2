/**
 * The emulator's run-time knobs: rate limit, latency, batch size limit, the server-side email
 * rejection rule and injected faults. They are set at start (`createEmulatorApp` options, CLI flags)
 * and changed while running with `PATCH /_emulator/knobs` (snake_case keys, as below). The numbers
 * of the real API are unknown (see shared docs: user-interviews-api, "Limits and errors"), so each is
 * a setting.
 */
import { z } from 'zod';
import { MAX_BATCH_SIZE } from '../destinations/user-interviews/wire.ts';

/** Faults the random fault injector picks from, each with the same chance. */
export const FAULT_KINDS = ['500', '429', 'drop', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Which rate-limit headers the emulator adds to every answer of a rate-limited key (knob
 * `rate_limit_headers`). Whether the real API sends any is not known (see shared docs:
 * user-interviews-api, "Limits and errors"), so none is the default:
 * - `ratelimit`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the
 *   bucket is full) and `RateLimit-Policy: LIMIT;w=SECONDS` (IETF draft-ietf-httpapi-ratelimit-headers-07);
 * - `x-ratelimit`: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds
 *   when the bucket is full, as GitHub sends it).
 */
export const RATE_LIMIT_HEADER_STYLES = ['none', 'ratelimit', 'x-ratelimit'] as const;
export type RateLimitHeaderStyle = (typeof RATE_LIMIT_HEADER_STYLES)[number];

/**
 * One deterministic fault for the next `/api` request (knob `fail_next`, consumed in order):
 * - `{ status: 500 }` answers that status (400..599) with an `errors` body; with 429 a
 *   `Retry-After` of `retry_after` seconds (default 1) is sent;
 * - `{ drop: true }` destroys the connection without any response;
 * - `{ slow_ms: 5000 }` waits that long, then handles the request normally (a client with a shorter
 *   timeout gives up, but the write is still applied).
 */
export interface FaultSpec {
  status?: number;
  retry_after?: number;
  drop?: boolean;
  slow_ms?: number;
}

/** Every knob, as `PATCH /_emulator/knobs` takes and returns them (API keys are never returned). */
export interface EmulatorKnobs {
  /** Requests per second per API key (token bucket, burst = one second's worth); `null`: unlimited. */
  rate_limit: number | null;
  /** Rate-limit headers sent with the answers of a rate-limited key (see {@link RATE_LIMIT_HEADER_STYLES}). */
  rate_limit_headers: RateLimitHeaderStyle;
  /** Added to every `/api` response, ms. */
  latency_ms: number;
  /** Share (0..1) of `/api` requests that fail with a random fault of `fault_kinds`. */
  fault_rate: number;
  fault_kinds: FaultKind[];
  /** How long a `slow` fault holds a response, ms; longer than a typical client timeout. */
  slow_ms: number;
  /** Seed of the fault randomness; setting it restarts the random sequence. */
  seed: number;
  /** Emails matching this regular expression (case-insensitive) are rejected: "email is not deliverable". */
  reject_email_pattern: string | null;
  /** At most this many participants per `PATCH /participants/batches`, else 422. */
  max_batch: number;
  /** Faults for the next `/api` requests, in order, one each. */
  fail_next: FaultSpec[];
  /** The next N write requests (POST, PATCH, DELETE) are applied, then their connection is dropped. */
  apply_then_drop_next: number;
}

/** Knob values when nothing is set: no limit, no latency, no faults, the API's batch size limit. */
export const DEFAULT_KNOBS: EmulatorKnobs = {
  rate_limit: null,
  rate_limit_headers: 'none',
  latency_ms: 0,
  fault_rate: 0,
  fault_kinds: [...FAULT_KINDS],
  slow_ms: 5000,
  seed: 1,
  reject_email_pattern: null,
  max_batch: MAX_BATCH_SIZE,
  fail_next: [],
  apply_then_drop_next: 0,
};

const faultSpecSchema = z
  .strictObject({
    status: z.number().int().min(400).max(599).optional(),
    retry_after: z.number().int().min(0).optional(),
    drop: z.boolean().optional(),
    slow_ms: z.number().int().min(0).optional(),
  })
  .refine((spec) => spec.status !== undefined || spec.drop === true || spec.slow_ms !== undefined, {
    message: 'give "status", "drop": true or "slow_ms"',
  });

const regexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/** Validates a partial knob update (`PATCH /_emulator/knobs` body). Unknown keys are refused. */
export const knobsPatchSchema = z
  .strictObject({
    rate_limit: z.number().positive().nullable(),
    rate_limit_headers: z.enum(RATE_LIMIT_HEADER_STYLES),
    latency_ms: z.number().int().min(0),
    fault_rate: z.number().min(0).max(1),
    fault_kinds: z.array(z.enum(FAULT_KINDS)).min(1),
    slow_ms: z.number().int().min(0),
    seed: z.number().int(),
    reject_email_pattern: regexSource.nullable(),
    max_batch: z.number().int().min(1),
    fail_next: z.array(faultSpecSchema),
    apply_then_drop_next: z.number().int().min(0),
  })
  .partial();
export type KnobsPatch = z.infer<typeof knobsPatchSchema>;

/**
 * Parses a knob update; returns the patch, or one message per problem naming the knob and what to
 * send instead (`knobs.fault_rate: Too big: expected number to be <=1`).
 */
export function parseKnobsPatch(body: unknown): { ok: true; patch: KnobsPatch } | { ok: false; problems: string[] } {
  const result = knobsPatchSchema.safeParse(body);
  if (result.success) return { ok: true, patch: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => `knobs${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`),
  };
}
