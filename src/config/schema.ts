/**
 * The project file (`panelsync.yml`) schema: the public interface users write. Keys are kept
 * forever; new ones are added, none renamed. The JSON Schema (`npm run schema`, written to
 * `panelsync.schema.json`) is generated from this same source, so every `.describe()` text below
 * is what an editor shows on hover.
 *
 * This file holds the shapes only. Rules that span several keys (names that must exist, mapping
 * targets, sandbox needs `base_url`, delete behaviour per mode) live in `validate-project.ts`.
 */
import { z } from 'zod';
import { PARTICIPANT_FIELDS } from '../destinations/user-interviews/wire.ts';

export const SOURCE_TYPES = ['duckdb', 'sqlite', 'postgres', 'mysql'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const SYNC_MODES = ['upsert', 'update', 'insert'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const DELETE_BEHAVIORS = ['do_nothing', 'clear', 'delete'] as const;
export type DeleteBehavior = (typeof DELETE_BEHAVIORS)[number];

export const ENVIRONMENTS = ['sandbox', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Names of sources, models, destinations and syncs: used in paths, URLs and CLI arguments. */
const name = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, "_", "-" and "." (not starting with "-" or ".")');

/** A model column name: any text that is not blank. */
const column = (description: string) =>
  z.string().regex(/\S/, 'must name a model column; it is blank').describe(description);

const duckdbSource = z.strictObject({
  type: z.literal('duckdb'),
  path: z
    .string()
    .min(1)
    .default(':memory:')
    .describe('A DuckDB database file, relative to the project file, or ":memory:" (the default).'),
});
const sqliteSource = z.strictObject({
  type: z.literal('sqlite'),
  path: z.string().min(1).describe('The SQLite file, relative to the project file. Opened read-only.'),
});
const postgresSource = z.strictObject({
  type: z.literal('postgres'),
  url: z
    .string()
    .min(1)
    .describe('postgres://user:password@host:port/database (write the password as "${PGPASSWORD}").'),
});
const mysqlSource = z.strictObject({
  type: z.literal('mysql'),
  url: z
    .string()
    .min(1)
    .describe('mysql://user:password@host:port/database (write the password as "${MYSQL_PASSWORD}").'),
});
export const sourceSchema = z
  .discriminatedUnion('type', [duckdbSource, sqliteSource, postgresSource, mysqlSource])
  .describe('A database connection that models query.');
export type SourceConfig = z.infer<typeof sourceSchema>;

export const rateLimitSchema = z
  .strictObject({
    requests_per_second: z.number().positive().describe('Requests per second to the account, on average, at most.'),
    burst: z.number().int().min(1).default(1).describe('Requests that may start at once after a pause (default 1: evenly spaced).'),
  })
  .describe(
    'A rate limit for the API account (base_url and api_key), kept by every process that shares the state database ' +
      '(CLI runs and serve); panelsync also paces itself by what the API answers.',
  );

export const destinationSchema = z
  .strictObject({
    type: z.literal('user-interviews'),
    api_key: z
      .string()
      .min(1)
      .describe('Secret: write it as "${UI_API_KEY}". Never logged, stored or shown.'),
    environment: z.enum(ENVIRONMENTS).describe('sandbox or production; sandbox needs base_url.'),
    base_url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL ending in /api' })
      .optional()
      .describe('Overrides the API base URL (ends in /api); required for sandbox.'),
    concurrency: z.number().int().min(1).max(16).default(4).describe('Batches in flight at once.'),
    batch_size: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .describe("Participants per batch; at most 100, the API's limit."),
    timeout_ms: z.number().int().min(100).default(30_000).describe('Per-request timeout, ms.'),
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(5)
      .describe('Attempts per request on transient failures (429, 5xx, resets, timeouts).'),
    late_write_ms: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'How long after its last attempt a write that got no answer may still be applied by the API, ms; until then its row waits ' +
          '(default: timeout_ms + 1000).',
      ),
    rate_limit: rateLimitSchema.optional(),
  })
  .describe('A User Interviews account.');
export type DestinationConfig = z.infer<typeof destinationSchema>;

export const modelSchema = z
  .strictObject({
    source: name.describe('The name of a source defined under sources.'),
    primary_key: column('The model column whose value identifies a row between runs (unique, non-null).'),
    sql: z.string().min(1).describe('The query whose rows are synced.'),
  })
  .describe('A SQL query on a source, with a primary key column.');
export type ModelConfig = z.infer<typeof modelSchema>;

const mappingTarget = z
  .string()
  .min(1)
  .describe(`The participant field written: ${PARTICIPANT_FIELDS.join(', ')}, or characteristics.<slug>.`);
const fromMapping = z.strictObject({ from: column('The model column whose value is written.'), to: mappingTarget });
const staticMapping = z.strictObject({
  static: z
    .union([z.string(), z.number(), z.boolean(), z.null()])
    .describe('A fixed value written for every row.'),
  to: mappingTarget,
});
const templateMapping = z.strictObject({
  template: z
    .string()
    .describe('A Liquid template rendered with `row` (the model row): "{{ row.City }}". Filters sha256 and md5 write a hex hash: "{{ row.Email | sha256 }}".'),
  to: mappingTarget,
});
/** Exactly one of `from`, `static` or `template`, and `to`. */
export const mappingSchema = z
  .union([fromMapping, staticMapping, templateMapping])
  .describe('Writes one participant field: exactly one of from, static or template, and to.');
export type MappingConfig = z.infer<typeof mappingSchema>;

/** Alert levels a recipient can ask for; a trigger's state is `ok` or one of these. */
export const ALERT_LEVELS = ['warning', 'critical'] as const;
export type AlertLevel = (typeof ALERT_LEVELS)[number];

/** Notification channel types (see src/alerts/). */
export const ALERT_CHANNEL_TYPES = ['slack', 'pagerduty', 'sms', 'email', 'webhook'] as const;
export type AlertChannelType = (typeof ALERT_CHANNEL_TYPES)[number];

/** SMS providers; only Twilio for now. */
export const SMS_PROVIDERS = ['twilio'] as const;

/**
 * A phone number in E.164 form: "+", a country code not starting with 0, at most 15 digits in
 * all (ITU-T E.164). Only the form is checked, not whether the number exists.
 */
export const E164_PATTERN = /^\+[1-9][0-9]{1,14}$/;

/** Whether `url` holds a user name or password (`https://user:pw@host/`). */
function hasUserInfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

/**
 * An http(s) URL without user info: fetch refuses to send a request to a URL that includes
 * credentials (Fetch standard, https://fetch.spec.whatwg.org/#dom-request, "includes
 * credentials"), so `user:pw@` is refused here rather than at send time. `fix` says what to do
 * instead.
 */
const httpUrl = (description: string, fix = 'remove it; this URL takes no credentials') =>
  z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine((url) => !hasUserInfo(url), { error: `must not hold a user name or password ("user:password@"; notifications could never be sent): ${fix}` })
    .describe(description);
const e164 = z.string().regex(E164_PATTERN, 'must be a phone number in E.164 form, e.g. "+15550199"');

const slackChannel = z.strictObject({
  type: z.literal('slack'),
  webhook_url: httpUrl('Secret: the Slack incoming webhook URL; write it as "${SLACK_WEBHOOK_URL}".'),
});
const pagerdutyChannel = z.strictObject({
  type: z.literal('pagerduty'),
  routing_key: z.string().min(1).describe('Secret: the Events API v2 integration (routing) key; write it as "${PD_ROUTING_KEY}".'),
  events_url: httpUrl('Overrides the Events API v2 URL; default https://events.pagerduty.com/v2/enqueue.').optional(),
});
const smsChannel = z.strictObject({
  type: z.literal('sms'),
  provider: z.enum(SMS_PROVIDERS).describe('The SMS provider: twilio.'),
  account_sid: z.string().min(1).describe('The Twilio account SID (AC...).'),
  auth_token: z.string().min(1).describe('Secret: the Twilio auth token; write it as "${TWILIO_TOKEN}".'),
  from: z
    .string()
    .regex(/^(\+[1-9][0-9]{1,14}|[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*)$/, 'must be an E.164 phone number ("+15550100") or an alphanumeric sender ID')
    .describe('The sending number (E.164) or alphanumeric sender ID.'),
  to: z.array(e164).min(1).describe('Phone numbers to text, in E.164 form ("+15550199").'),
  base_url: httpUrl('Overrides the Twilio API base URL; default https://api.twilio.com.').optional(),
});
const emailChannel = z.strictObject({
  type: z.literal('email'),
  smtp_url: z
    .url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' })
    .describe('Secret: smtp://user:password@host:port (smtps:// for TLS from the start); write it as "${SMTP_URL}".'),
  from: z.string().min(1).describe('The sender, e.g. "panelsync@example.com" or "panelsync <panelsync@example.com>".'),
  to: z.array(z.email('must be an email address')).min(1).describe('Email addresses to notify.'),
});
const webhookChannel = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl(
    'The URL notifications are POSTed to as JSON.',
    'send credentials as a header under headers instead, e.g. headers: { Authorization: "Basic ${HOOK_BASIC_AUTH}" }',
  ),
  headers: z
    .record(z.string().min(1), z.string())
    .default({})
    .describe('Headers sent with every notification. Secret values: write them as "${HOOK_TOKEN}".'),
});
export const alertChannelSchema = z
  .discriminatedUnion('type', [slackChannel, pagerdutyChannel, smsChannel, emailChannel, webhookChannel])
  .describe('Where notifications go: slack, pagerduty, sms, email or webhook.');
export type AlertChannelConfig = z.infer<typeof alertChannelSchema>;

/** Trigger thresholds when neither alerts.defaults nor the sync sets them. */
export const ALERT_RULE_DEFAULTS = {
  rejected_rows: { warning: 0, critical: 0.2 },
  failed_runs: { critical: 1 },
} as const;

/** Defaults of the triggers that are off unless configured (missed_schedule, empty_model, volume_change, full_resync). */
export const ALERT_TRIGGER_DEFAULTS = {
  missed_schedule: { grace_minutes: 10, level: 'critical' },
  empty_model: { level: 'critical' },
  volume_change: { runs: 5, level: 'warning' },
  full_resync: { level: 'warning' },
} as const;

/** The level a trigger reaches when its condition is met. */
const alertLevel = (fallback: AlertLevel) =>
  z.enum(ALERT_LEVELS).default(fallback).describe(`The level reached when the condition is met: warning or critical; default ${fallback}.`);

const share = z.number().min(0).max(1);
const runCount = z.number().int().min(1);
export const alertRecipientSchema = z
  .strictObject({
    channel: name.describe('The name of a channel defined under alerts.channels.'),
    levels: z.array(z.enum(ALERT_LEVELS)).min(1).describe('The levels sent to this channel: warning, critical.'),
  })
  .describe('A channel and the levels it is notified of (and their recovery).');
export type AlertRecipientConfig = z.infer<typeof alertRecipientSchema>;

/** Alert rules: under alerts.defaults for every sync, and under syncs.NAME.alerts to override them key by key. */
export const alertRulesSchema = z
  .strictObject({
    recipients: z.array(alertRecipientSchema).describe('Who is notified, at which levels. A sync\'s list replaces the default list.'),
    rejected_rows: z
      .strictObject({
        warning: share.optional().describe('Share (0..1) at which a run is a warning; default 0 (any rejected or invalid row).'),
        critical: share.optional().describe('Share (0..1) at which a run is critical; default 0.2.'),
      })
      .describe(
        "Share of the run's rows (queried + removed) that were rejected or invalid. A level is reached when the share is above 0 and at least its threshold; warning <= critical.",
      ),
    failed_runs: z
      .strictObject({
        warning: runCount.optional().describe('Consecutive failed runs that make a warning; default none.'),
        critical: runCount.optional().describe('Consecutive failed runs that make it critical; default 1.'),
      })
      .describe('Failed runs in a row before notifying; always on.'),
    slow_run_minutes: z
      .number()
      .positive()
      .nullable()
      .describe('A run longer than this, minutes, is a warning; null or absent: off.'),
    missed_schedule: z
      .strictObject({
        grace_minutes: z.number().positive().default(ALERT_TRIGGER_DEFAULTS.missed_schedule.grace_minutes).describe('How long after its due time a scheduled run may still start, minutes; default 10.'),
        level: alertLevel(ALERT_TRIGGER_DEFAULTS.missed_schedule.level),
      })
      .nullable()
      .describe(
        '`panelsync serve` alerts when a scheduled run did not start within grace_minutes of its due time (the server was down, the run lock stuck); back to ok when a run starts. Null or absent: off.',
      ),
    empty_model: z
      .strictObject({ level: alertLevel(ALERT_TRIGGER_DEFAULTS.empty_model.level) })
      .nullable()
      .describe('Alerts when the model returns 0 rows after a run that read rows; back to ok when it returns rows. Null or absent: off.'),
    volume_change: z
      .strictObject({
        share: z.number().positive().describe('Alert when the rows queried differ from the median of the last runs by more than this share of it, e.g. 0.5.'),
        runs: z.number().int().min(1).max(100).default(ALERT_TRIGGER_DEFAULTS.volume_change.runs).describe('How many completed runs the median is taken over (and needed before it is checked); default 5.'),
        level: alertLevel(ALERT_TRIGGER_DEFAULTS.volume_change.level),
      })
      .nullable()
      .describe('Alerts when the rows queried move far from the median of the last completed runs. Null or absent: off.'),
    full_resync: z
      .strictObject({ level: alertLevel(ALERT_TRIGGER_DEFAULTS.full_resync.level) })
      .nullable()
      .describe('A notice when a full resync starts (at this level), and its recovery when that run ends. Null or absent: off.'),
  })
  .partial()
  .describe('Alert rules: recipients and trigger thresholds.');
export type AlertRulesConfig = z.infer<typeof alertRulesSchema>;

/** Delivery settings when alerts.delivery does not set them. */
export const ALERT_DELIVERY_DEFAULTS = { max_attempts: 3, retry_backoff_ms: 2_000, timeout_ms: 10_000 } as const;

export const alertDeliverySchema = z
  .strictObject({
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(ALERT_DELIVERY_DEFAULTS.max_attempts)
      .describe('Attempts per notification and channel on transient failures (5xx, 429, timeouts, connection errors).'),
    retry_backoff_ms: z
      .number()
      .int()
      .min(0)
      .max(300_000)
      .default(ALERT_DELIVERY_DEFAULTS.retry_backoff_ms)
      .describe('Wait before retry n is retry_backoff_ms * 2^(n-1), ms (raised to a Retry-After the channel sends, up to 60 s).'),
    timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(ALERT_DELIVERY_DEFAULTS.timeout_ms)
      .describe('Limit for one delivery attempt, ms.'),
  })
  .describe('How notifications are delivered. They are sent after the run ended and never fail or slow it.');
export type AlertDeliveryConfig = z.infer<typeof alertDeliverySchema>;

export const alertsSchema = z
  .strictObject({
    channels: z.record(name, alertChannelSchema).default({}).describe('Notification channels, by name.'),
    delivery: alertDeliverySchema.default(ALERT_DELIVERY_DEFAULTS),
    defaults: alertRulesSchema.default({}).describe('Rules for every sync; a sync may override them under syncs.NAME.alerts.'),
  })
  .describe('Sync alerts: one notification per change of state per sync and trigger, and one when it recovers.');
export type AlertsConfig = z.infer<typeof alertsSchema>;

/** A schedule interval, e.g. `15m`: a whole number above 0 and a unit, s (seconds), m (minutes), h (hours) or d (days). */
export const INTERVAL_PATTERN = /^[1-9][0-9]*[smhd]$/;

/** When a run-after chain fires: `success` (each sync it follows ended `success` or `warning`) or `completion` (ended, however). */
export const CHAIN_ON = ['success', 'completion'] as const;
export type ChainOn = (typeof CHAIN_ON)[number];

/**
 * When `panelsync serve` runs a sync: exactly one of `interval`, `cron` or `after` (checked, with
 * the cron expression and the chains' cycles, in validate-project.ts; see src/scheduler/).
 */
export const scheduleSchema = z
  .strictObject({
    interval: z
      .string()
      .regex(INTERVAL_PATTERN, 'must be a whole number above 0 and a unit s, m, h or d, e.g. "15m"')
      .optional()
      .describe('Runs the sync this long after its last run started: a number and a unit s, m, h or d, e.g. "15m".'),
    cron: z
      .string()
      .optional()
      .describe('Runs the sync at the times of this cron expression, in UTC: minute hour day-of-month month day-of-week, e.g. "0 6 * * *".'),
    after: z
      .array(name)
      .min(1, 'name at least one sync, e.g. after: [orders-to-panel]')
      .optional()
      .describe('Runs the sync once each of these syncs (names under syncs) has ended a run in `panelsync serve`, as `on` says.'),
    on: z
      .enum(CHAIN_ON)
      .optional()
      .describe('With after: success (default; each followed sync ended success or warning) or completion (ended, whatever its status).'),
  })
  .describe(
    'When `panelsync serve` runs the sync: { interval: 15m }, { cron: "0 6 * * *" } (UTC) or { after: [sync-a], on: success }. Absent: only when triggered.',
  );
export type ScheduleConfig = z.infer<typeof scheduleSchema>;

/** A `log_to` schema name: lower-case, so that it reads the same unquoted in every engine. */
export const LOG_SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Where run logs are written after each run (see src/run-log/). */
export const logToSchema = z
  .strictObject({
    source: name.describe('The name of a source defined under sources (postgres, mysql, a duckdb file or sqlite) that receives the logs.'),
    schema: z
      .string()
      .regex(LOG_SCHEMA_PATTERN, 'use lower-case letters, digits and "_" (not starting with a digit), at most 63 characters')
      .default('panelsync')
      .describe('The schema of the tables runs and row_outcomes (MySQL: a database; SQLite: the table prefix, panelsync_runs); default panelsync.'),
  })
  .describe('Writes each run and its row outcomes into tables of a source, after the run; a failure to write is a warning, never a failed sync.');
export type LogToConfig = z.infer<typeof logToSchema>;

export const syncSchema = z
  .strictObject({
    model: name.describe('The name of a model defined under models.'),
    destination: name.describe('The name of a destination defined under destinations.'),
    mode: z
      .enum(SYNC_MODES)
      .default('upsert')
      .describe('insert: only create; update: only existing participants; upsert: both.'),
    match: column("The model column matched to the participant's email (record matching)."),
    mappings: z.array(mappingSchema).default([]).describe('The participant fields written, besides email.'),
    delete_behavior: z
      .enum(DELETE_BEHAVIORS)
      .default('do_nothing')
      .describe('For rows that left the model: do_nothing, clear (upsert, update) or delete (upsert).'),
    max_delete_share: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      .describe('Share (0..1] of synced rows a run may clear or delete without --allow-mass-delete.'),
    split_retries: z
      .boolean()
      .default(true)
      .describe('Split a batch rejected as a whole until each row is accepted or rejected on its own.'),
    alerts: alertRulesSchema.optional().describe('Overrides alerts.defaults for this sync, key by key.'),
    schedule: scheduleSchema.optional(),
    log_to: logToSchema.nullable().optional().describe("Overrides the project's log_to for this sync; null: this sync's runs are not logged."),
  })
  .describe('Keeps a destination in step with a model.');
export type SyncConfig = z.infer<typeof syncSchema>;

/** How an inbound webhook is signed: panelsync's own scheme, or dbt Cloud's "job run completed" webhook. */
export const HOOK_FORMATS = ['panelsync', 'dbt-cloud'] as const;
export type HookFormat = (typeof HOOK_FORMATS)[number];

/** The least characters of a hook's `secret`. */
export const MIN_HOOK_SECRET_LENGTH = 16;

/**
 * An inbound webhook, `POST /api/v1/hooks/{name}` of `panelsync serve` (src/server/hook-routes.ts):
 * `syncs` (format panelsync) or `jobs` (format dbt-cloud) say which syncs it runs; which of the
 * two a format needs is checked in validate-project.ts.
 */
export const hookSchema = z
  .strictObject({
    secret: z
      .string()
      .min(MIN_HOOK_SECRET_LENGTH, `must be at least ${MIN_HOOK_SECRET_LENGTH} characters; generate one with \`openssl rand -hex 32\` (dbt Cloud: the secret it shows for the webhook)`)
      .describe('Secret: the HMAC-SHA256 key the caller signs with; write it as "${HOOK_SECRET}".'),
    format: z
      .enum(HOOK_FORMATS)
      .default('panelsync')
      .describe('panelsync (default: X-Panelsync-Signature: t=UNIX_SECONDS,v1=HEX) or dbt-cloud (dbt Cloud\'s job.run.completed webhook, signed in Authorization).'),
    syncs: z.array(name).min(1).optional().describe('Format panelsync: the syncs (names under syncs) each accepted call runs.'),
    jobs: z
      .record(z.string().regex(/^[0-9]+$/, 'must be a dbt Cloud job id (digits), e.g. "123"'), z.array(name).min(1))
      .optional()
      .describe('Format dbt-cloud: dbt Cloud job id -> the syncs a successful run of that job runs, e.g. { "123": [customers-to-panel] }.'),
  })
  .describe('An inbound webhook that triggers syncs when its signature checks out.');
export type HookConfig = z.infer<typeof hookSchema>;

/** The least characters of `server.api_token`. */
export const MIN_API_TOKEN_LENGTH = 16;

/** `panelsync serve`: the HTTP API's token and where it listens (command-line flags win). */
export const serverSchema = z
  .strictObject({
    api_token: z
      .string()
      .min(MIN_API_TOKEN_LENGTH, `must be at least ${MIN_API_TOKEN_LENGTH} characters; generate one with \`openssl rand -hex 32\``)
      .regex(/^[A-Za-z0-9._~+/-]+=*$/, 'use only letters, digits and - . _ ~ + / (then = padding), as in a bearer token (RFC 6750); `openssl rand -hex 32` gives one')
      .describe('Secret: the bearer token every API request but /api/v1/healthz needs; write it as "${PANELSYNC_API_TOKEN}".'),
    viewer_token: z
      .string()
      .min(MIN_API_TOKEN_LENGTH, `must be at least ${MIN_API_TOKEN_LENGTH} characters; generate one with \`openssl rand -hex 32\``)
      .regex(/^[A-Za-z0-9._~+/-]+=*$/, 'use only letters, digits and - . _ ~ + / (then = padding), as in a bearer token (RFC 6750); `openssl rand -hex 32` gives one')
      .optional()
      .describe(
        'Secret: a read-only bearer token ("${PANELSYNC_VIEWER_TOKEN}"): it reads syncs, runs, the call list and the audit log, never request or response bodies, emails or other participant values; every action (trigger, test) is 403. Must differ from api_token.',
      ),
    port: z.number().int().min(0).max(65535).optional().describe('TCP port; default 8080 (--port wins).'),
    host: z.string().min(1).optional().describe('Interface to listen on; default 127.0.0.1 (--host wins).'),
  })
  .describe('The HTTP API and web UI of `panelsync serve`.');
export type ServerConfig = z.infer<typeof serverSchema>;

export const projectSchema = z
  .strictObject({
    version: z.literal(1).describe('The project file format version: 1.'),
    state: z
      .string()
      .min(1)
      .default('.panelsync/state.db')
      .describe('The state database (SQLite file), relative to the project file.'),
    retention_days: z
      .number()
      .int()
      .min(1)
      .default(30)
      .describe('Days the API calls and row outcomes of a run are kept for the debugger; older ones are pruned at the start of each run.'),
    sources: z.record(name, sourceSchema).describe('Database connections, by name.'),
    destinations: z.record(name, destinationSchema).describe('User Interviews accounts, by name.'),
    models: z.record(name, modelSchema).describe('SQL models, by name.'),
    syncs: z.record(name, syncSchema).describe('Syncs from a model to a destination, by name.'),
    alerts: alertsSchema.optional(),
    public_url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .optional()
      .describe('Where the web UI is reached; alerts link to {public_url}/runs/{run_id}.'),
    server: serverSchema.optional(),
    log_to: logToSchema.optional(),
    log_retention_days: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Days runs are kept in the log_to tables; older ones are deleted when a run is logged. Absent: kept.'),
    hooks: z
      .record(name, hookSchema)
      .optional()
      .describe('Inbound webhooks of `panelsync serve`, by name: POST /api/v1/hooks/{name}, signed with the hook\'s secret.'),
  })
  .meta({ title: 'panelsync project file (panelsync.yml)' });
/** A project file after defaults, before cross-field rules. */
export type ProjectConfig = z.infer<typeof projectSchema>;
