/**
 * A sync's schedule (`syncs.NAME.schedule` in the project file) as a rule for its next run:
 * `{ interval: "15m" }` or `{ cron: "0 6 * * *" }` (in UTC). Pure: times are always passed in.
 */
import { Cron } from 'croner';
import { INTERVAL_PATTERN, type ScheduleConfig } from '../config/schema.ts';

/** Milliseconds in one of each interval unit. */
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A schedule that cannot be used; `message` says what to fix (it never holds a secret). */
export class ScheduleError extends Error {
  readonly code = 'SCHEDULE_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScheduleError';
  }
}

/** A parsed schedule. */
export interface SyncSchedule {
  /** As written in the project file (the API returns it as it is). */
  config: { interval: string } | { cron: string };
  /**
   * When the sync is next due, given when its last run started (`null`: it never ran) and since
   * when it is scheduled (`scheduledSince`: the scheduler's start).
   * - interval: `lastStart + interval`; never ran: `scheduledSince` (due at once);
   * - cron: the first time of the expression strictly after `lastStart`; never ran: the first one
   *   after `scheduledSince` (a sync that never ran waits for its first slot).
   * A due time in the past means "run now": however many slots were missed, the sync runs once,
   * and the next due time is counted from that run's start.
   * @returns `null` when the cron expression has no later time
   */
  nextDue(lastStart: Date | null, scheduledSince: Date): Date | null;
}

/**
 * Parses a timetable (`interval` or `cron`) as written under `syncs.NAME.schedule`.
 * @throws ScheduleError for an `after` schedule (see ./run-after.ts), when it has neither or both of interval and cron, a bad interval, or a cron
 *   expression that does not parse or never matches a date
 */
export function parseSchedule(config: ScheduleConfig): SyncSchedule {
  const { interval, cron } = config;
  const kindProblem = scheduleKindProblem(config);
  if (kindProblem !== null) throw new ScheduleError(kindProblem);
  if (config.after !== undefined) throw new ScheduleError('an after schedule has no timetable: run-after chains are fired by src/scheduler/run-after.ts');
  if (interval !== undefined) {
    const ms = parseInterval(interval);
    return {
      config: { interval },
      nextDue: (lastStart, scheduledSince) => (lastStart === null ? scheduledSince : new Date(lastStart.getTime() + ms)),
    };
  }
  const expression = parseCron(cron!);
  return {
    config: { cron: cron! },
    nextDue: (lastStart, scheduledSince) => expression.nextRun(lastStart ?? scheduledSince),
  };
}

/**
 * What to fix when a schedule gives none, or more than one, of `interval`, `cron` and `after`
 * (each counts when not `undefined`), or `on` without `after`; `null` when it is well formed.
 */
export function scheduleKindProblem(config: { interval?: unknown; cron?: unknown; after?: unknown; on?: unknown }): string | null {
  const hasInterval = config.interval !== undefined;
  const hasCron = config.cron !== undefined;
  if (config.after !== undefined) {
    if (hasInterval || hasCron) {
      return `after runs the sync when the syncs it names end, so it takes no ${hasInterval ? 'interval' : 'cron'}: keep after, or remove it to run on a timetable`;
    }
    return null;
  }
  if (config.on !== undefined) return 'on goes with after (e.g. { after: [sync-a], on: completion }); remove on, or add after';
  if (hasInterval !== hasCron) return null;
  return (
    `give exactly one of interval or cron (found ${hasInterval ? 'both' : 'neither'}), e.g. { interval: 15m } or { cron: "0 6 * * *" }` +
    (hasInterval ? '' : ', or after: [SYNC] to run it when another sync ends')
  );
}

/**
 * `"15m"` -> 900000: a whole number above 0 and a unit `s`, `m`, `h` or `d`, as milliseconds.
 * @throws ScheduleError for anything else
 */
export function parseInterval(text: string): number {
  if (!INTERVAL_PATTERN.test(text)) {
    throw new ScheduleError(`interval "${text}" is not a whole number above 0 and a unit s, m, h or d; write e.g. "30s", "15m", "6h" or "1d"`);
  }
  const ms = Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms)) throw new ScheduleError(`interval "${text}" is too long; write at most a few years`);
  return ms;
}

/**
 * A standard five-field cron expression (minute hour day-of-month month day-of-week; names such as
 * MON and JAN, ranges, steps, and nicknames such as `@daily` allowed), read in UTC. When both
 * day fields are restricted, a day matching either runs, as in Vixie cron. Parsing is croner's
 * (https://croner.56k.guru/usage/pattern/).
 * @throws ScheduleError when it does not parse or never matches a date (e.g. "0 0 31 2 *")
 */
export function parseCron(expression: string): Cron {
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone: 'UTC', mode: '5-part', paused: true });
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, '');
    throw new ScheduleError(
      `cron expression "${expression}" does not parse (${reason}); write five fields, minute hour day-of-month month day-of-week, in UTC, e.g. "0 6 * * *"`,
      { cause: error },
    );
  }
  if (cron.nextRun(new Date(0)) === null) {
    throw new ScheduleError(`cron expression "${expression}" never matches a date; check its day and month fields`);
  }
  return cron;
}
