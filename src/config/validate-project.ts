/**
 * The project file's rules, without files: interpolate `${VAR}` -> schema (defaults) -> normalize
 * -> cross-field rules. Every problem is collected, not just the first.
 */
import path from 'node:path';
import type { ConfigIssue } from './config-error.ts';
import { formatConfigPath, type ConfigPathSegment } from './config-path.ts';
import { fieldTargetKey, parseFieldTarget } from '../destinations/user-interviews/fields.ts';
import { interpolateEnv, SECRET_KEY, type Env } from './interpolate-env.ts';
import { ALERT_RULE_DEFAULTS, DELETE_BEHAVIORS, mappingSchema, projectSchema, SYNC_MODES, type DeleteBehavior, type ProjectConfig, type SyncMode } from './schema.ts';
import { isRecord, zodIssuesToConfigIssues } from './zod-issues.ts';
import { parseCron, scheduleKindProblem } from '../scheduler/sync-schedule.ts';
import { runAfterCycles } from './run-after-cycles.ts';
import { redact as redactSecrets } from '../http/redact.ts';
import { dropUnusedUnset, type ProjectUse, type SkippedAlertChannel } from './project-use.ts';
import { createTemplateEngine } from '../engine/template-engine.ts';
import { logToIssues } from './log-to-rules.ts';

/**
 * A valid project: the parsed config with defaults applied, normalized, plus where it lives.
 *
 * Normalized: `sources.*.path` (sqlite, duckdb) is absolute (resolved against `projectDir`;
 * `:memory:` kept); `destinations.*.base_url` has no trailing `/`. `state` keeps the text as written;
 * `statePath` is the absolute file.
 */
export type Project = ProjectConfig & {
  /** The directory holding the project file, absolute. Relative paths in the file start here. */
  projectDir: string;
  /** The project file, absolute; absent when validated from a value ({@link validateProject}). */
  projectFile?: string;
  /** The state database file, absolute. */
  statePath: string;
  /**
   * Strings to redact wherever text may leave the process (logs, run records, UI, errors),
   * longest first, never empty: every `api_key` (interpolated or literal), every environment value
   * interpolated into a key naming a token, secret or password (and the whole resulting string),
   * and the password (raw and percent-decoded) and secret query parameters of every source URL.
   */
  secrets: string[];
  /**
   * Alert channels left out because a variable they reference is unset, when validated for a
   * command that sends its sync's alerts (ValidateProjectOptions.use, see ./project-use.ts): a
   * run warns about each and sends it nothing. Absent otherwise.
   */
  skippedAlertChannels?: SkippedAlertChannel[];
};

/** Which delete behaviours each mode allows (see docs/architecture.md, "Delete behaviour"). */
export const DELETE_BEHAVIORS_BY_MODE: Record<SyncMode, readonly DeleteBehavior[]> = {
  upsert: ['do_nothing', 'clear', 'delete'],
  update: ['do_nothing', 'clear'],
  insert: ['do_nothing'],
};

export interface ValidateProjectOptions {
  /** Relative paths are resolved against it; default `process.cwd()`. */
  projectDir?: string;
  /** The project file the value came from, kept on the result. */
  projectFile?: string;
  /**
   * What the command uses (see ./project-use.ts): the parts it does not use (`server`, alert
   * channels) are left out when they reference an unset variable, instead of being errors.
   * Default: everything is used (`validate`, `serve`).
   */
  use?: ProjectUse;
}

/**
 * Validates a parsed project file (`raw`, e.g. YAML's `toJS()`), interpolating `${VAR}` from `env`
 * (default `{}`: pure, it never reads `process.env`; {@link loadProject} passes it).
 * Returns `project` only when `issues` is empty. Issue messages never contain a secret: a secret
 * that would appear is replaced by `[redacted]`. Never throws for bad input.
 */
export function validateProject(
  raw: unknown,
  env: Env = {},
  options: ValidateProjectOptions = {},
): { project?: Project; issues: ConfigIssue[] } {
  const projectDir = path.resolve(options.projectDir ?? process.cwd());
  const used = options.use === undefined ? { raw, skippedAlertChannels: undefined } : dropUnusedUnset(raw, interpolateEnv(raw, env, { baseDir: projectDir }).unset, options.use);
  const interpolated = interpolateEnv(used.raw, env, { baseDir: projectDir });
  const issues: ConfigIssue[] = [...interpolated.issues];
  // A value whose variable is unset is told once, by that: not again by the rules it then fails.
  const unsetPaths = new Set(interpolated.unset.map((u) => formatConfigPath(u.path)));
  const ruleIssues: ConfigIssue[] = [];
  const secretList = projectSecrets(interpolated.value, interpolated.secrets);

  const parsed = projectSchema.safeParse(interpolated.value);
  if (!parsed.success) {
    ruleIssues.push(...zodIssuesToConfigIssues(parsed.error.issues, interpolated.value, projectSchema, mappingSchema));
  }
  // Cross-field rules read the interpolated value (not the parse result) so that they run, and
  // their problems are reported, even when the schema found others.
  ruleIssues.push(...crossFieldIssues(interpolated.value));
  issues.push(...ruleIssues.filter((issue) => !unsetPaths.has(issue.path)));

  const redacted = issues.map((issue) => ({ ...issue, message: redact(issue.message, secretList) }));
  if (redacted.length > 0 || !parsed.success) return { issues: redacted };

  const project: Project = {
    ...normalize(parsed.data, projectDir),
    projectDir,
    statePath: path.resolve(projectDir, parsed.data.state),
    secrets: secretList,
  };
  if (options.projectFile !== undefined) project.projectFile = path.resolve(options.projectFile);
  if (used.skippedAlertChannels !== undefined) project.skippedAlertChannels = used.skippedAlertChannels;
  return { project, issues: [] };
}

function normalize(config: ProjectConfig, projectDir: string): ProjectConfig {
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, source]) => {
      if ((source.type === 'sqlite' || source.type === 'duckdb') && source.path !== ':memory:') {
        return [name, { ...source, path: path.resolve(projectDir, source.path) }];
      }
      return [name, source];
    }),
  );
  const destinations = Object.fromEntries(
    Object.entries(config.destinations).map(([name, destination]) => [
      name,
      destination.base_url === undefined ? destination : { ...destination, base_url: destination.base_url.replace(/\/+$/, '') },
    ]),
  );
  const publicUrl = config.public_url === undefined ? {} : { public_url: config.public_url.replace(/\/+$/, '') };
  return { ...config, sources, destinations, ...publicUrl } as ProjectConfig;
}

/**
 * Every secret of an interpolated project file, longest first (so that redaction replaces a whole
 * secret before a part of it): `fromEnv`, the values interpolated into secret-bearing keys, and
 * the secrets written literally (see {@link collectLiteralSecrets}).
 */
export function projectSecrets(interpolated: unknown, fromEnv: readonly string[]): string[] {
  const secrets = new Set(fromEnv);
  collectLiteralSecrets(interpolated, secrets);
  return [...secrets].filter((s) => s !== '').sort((a, b) => b.length - a.length);
}

/**
 * api_key values written literally, hook secrets, passwords in source URLs (literal or interpolated), and the
 * alert channels' secrets however written: routing_key, auth_token (and Twilio's
 * `account_sid:auth_token` pair, whose base64 is its Basic credentials), webhook_url, smtp_url
 * (whole and its password), header values, and secret query parameters / passwords of a webhook url.
 */
function collectLiteralSecrets(value: unknown, secrets: Set<string>): void {
  if (!isRecord(value)) return;
  const alerts = isRecord(value.alerts) ? value.alerts : {};
  for (const channel of Object.values(isRecord(alerts.channels) ? alerts.channels : {})) {
    if (!isRecord(channel)) continue;
    for (const key of ['routing_key', 'auth_token', 'webhook_url', 'smtp_url'] as const) {
      if (typeof channel[key] === 'string') secrets.add(channel[key]);
    }
    if (typeof channel.smtp_url === 'string') for (const s of urlSecrets(channel.smtp_url)) secrets.add(s);
    // Twilio's HTTP Basic credentials, `account_sid:auth_token`, as the channel encodes them whole.
    if (typeof channel.account_sid === 'string' && typeof channel.auth_token === 'string') secrets.add(`${channel.account_sid}:${channel.auth_token}`);
    if (typeof channel.url === 'string') for (const s of urlSecrets(channel.url)) secrets.add(s);
    for (const header of Object.values(isRecord(channel.headers) ? channel.headers : {})) {
      if (typeof header === 'string') secrets.add(header);
    }
  }
  for (const destination of Object.values(isRecord(value.destinations) ? value.destinations : {})) {
    if (isRecord(destination) && typeof destination.api_key === 'string') secrets.add(destination.api_key);
  }
  if (isRecord(value.server) && typeof value.server.api_token === 'string') secrets.add(value.server.api_token);
  for (const hook of Object.values(isRecord(value.hooks) ? value.hooks : {})) {
    if (isRecord(hook) && typeof hook.secret === 'string') secrets.add(hook.secret);
  }
  if (isRecord(value.server) && typeof value.server.viewer_token === 'string') secrets.add(value.server.viewer_token);
  for (const source of Object.values(isRecord(value.sources) ? value.sources : {})) {
    if (isRecord(source) && typeof source.url === 'string') for (const s of urlSecrets(source.url)) secrets.add(s);
  }
}

/** The password of `scheme://user:password@host/...` (raw and decoded) and secret-named query parameters. */
export function urlSecrets(url: string): string[] {
  const found: string[] = [];
  const addDecoded = (text: string) => {
    found.push(text);
    try {
      found.push(decodeURIComponent(text));
    } catch {
      // not percent-encoded: the raw text is the secret
    }
  };
  const scheme = url.indexOf('://');
  if (scheme !== -1) {
    const rest = url.slice(scheme + 3);
    // The host follows the LAST "@": an unencoded "@" or "/" in a password still counts as password.
    const at = rest.lastIndexOf('@');
    const userinfo = at === -1 ? '' : rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon !== -1) addDecoded(userinfo.slice(colon + 1));
  }
  const query = url.indexOf('?');
  if (query !== -1) {
    for (const [key, value] of new URLSearchParams(url.slice(query + 1))) {
      if (SECRET_KEY.test(key)) found.push(value);
    }
  }
  return [...new Set(found)].filter((s) => s !== '');
}

/** The one redaction of secrets (src/http/redact.ts), with this module's marker. */
function redact(message: string, secrets: readonly string[]): string {
  return redactSecrets(message, secrets, '[redacted]');
}

const liquid = createTemplateEngine();

/**
 * Rules that span keys, on the interpolated value; anything of the wrong shape is skipped (the
 * schema reports it).
 */
function crossFieldIssues(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (at: ConfigPathSegment[], message: string) => issues.push({ path: formatConfigPath(at), message });
  if (!isRecord(value)) return issues;
  const section = (key: string) => (isRecord(value[key]) ? value[key] : undefined);
  const sources = section('sources');
  const destinations = section('destinations');
  const models = section('models');
  const syncs = section('syncs');

  const reference = (at: ConfigPathSegment[], name: unknown, kind: string, defined: Record<string, unknown> | undefined) => {
    if (typeof name !== 'string' || defined === undefined || Object.hasOwn(defined, name)) return;
    const known = Object.keys(defined);
    add(
      at,
      `unknown ${kind} "${name}" ` +
        (known.length === 0 ? `(no ${kind}s are defined; add one under ${kind}s)` : `(known: ${known.join(', ')})`),
    );
  };

  for (const [name, destination] of Object.entries(destinations ?? {})) {
    if (isRecord(destination) && destination.environment === 'sandbox' && destination.base_url === undefined) {
      add(
        ['destinations', name, 'base_url'],
        'missing: environment sandbox needs base_url (the sandbox has no public URL): set base_url to its API URL, ending in /api, or use environment: production',
      );
    }
  }

  alertRuleIssues(['alerts', 'defaults'], isRecord(value.alerts) ? value.alerts.defaults : undefined, value.alerts, add);
  logToIssues(value, add);
  if (isRecord(value.server) && typeof value.server.viewer_token === 'string' && value.server.viewer_token === value.server.api_token) {
    add(['server', 'viewer_token'], 'must differ from server.api_token (a viewer must not hold the operator token): generate another with `openssl rand -hex 32`');
  }

  for (const [name, model] of Object.entries(models ?? {})) {
    if (isRecord(model)) reference(['models', name, 'source'], model.source, 'source', sources);
  }

  for (const [name, sync] of Object.entries(syncs ?? {})) {
    if (!isRecord(sync)) continue;
    const at = (...rest: ConfigPathSegment[]) => ['syncs', name, ...rest];
    reference(at('model'), sync.model, 'model', models);
    reference(at('destination'), sync.destination, 'destination', destinations);

    const mode = sync.mode ?? 'upsert';
    const deleteBehavior = sync.delete_behavior ?? 'do_nothing';
    if (isOneOf(mode, SYNC_MODES) && isOneOf(deleteBehavior, DELETE_BEHAVIORS)) {
      const allowed = DELETE_BEHAVIORS_BY_MODE[mode];
      if (!allowed.includes(deleteBehavior)) {
        const modes = SYNC_MODES.filter((m) => DELETE_BEHAVIORS_BY_MODE[m].includes(deleteBehavior));
        add(
          at('delete_behavior'),
          `${deleteBehavior} is not allowed in ${mode} mode (allowed in ${mode} mode: ${allowed.join(', ')}; ${deleteBehavior} needs mode ${modes.join(' or ')})`,
        );
      }
    }

    alertRuleIssues(at('alerts'), sync.alerts, value.alerts, add);
    if (isRecord(sync.alerts) && isRecord(sync.alerts.missed_schedule) && sync.schedule === undefined) {
      add(at('alerts', 'missed_schedule'), 'this sync has no schedule, so no run of it can be missed: add schedule (e.g. { interval: 15m }) or remove missed_schedule');
    }
    if (isRecord(sync.schedule)) {
      scheduleIssues(at('schedule'), sync.schedule, add);
      if (Array.isArray(sync.schedule.after)) {
        sync.schedule.after.forEach((followed: unknown, index: number) => reference(at('schedule', 'after', index), followed, 'sync', syncs));
      }
    }

    if (!Array.isArray(sync.mappings)) continue;
    const written = new Map<string, number>();
    sync.mappings.forEach((mapping: unknown, index: number) => {
      if (!isRecord(mapping)) return;
      if (typeof mapping.to === 'string' && mapping.to !== '') {
        const result = parseFieldTarget(mapping.to);
        if ('error' in result) {
          add(at('mappings', index, 'to'), result.error);
        } else {
          const key = fieldTargetKey(result.target);
          const first = written.get(key);
          if (first === undefined) written.set(key, index);
          else add(at('mappings', index, 'to'), `${key} is already written by mappings[${first}]; map each target once`);
        }
      }
      if (typeof mapping.template === 'string') {
        try {
          liquid.parse(mapping.template);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          add(at('mappings', index, 'template'), `the Liquid template does not parse: ${reason}`);
        }
      }
    });
  }
  runAfterCycleIssues(syncs ?? {}, add);
  hookIssues(section('hooks') ?? {}, syncs, reference, add);
  return issues;
}

/**
 * Run-after chains must not loop: a cycle would never start (each waits for the next) or, once
 * started by hand, never stop. Each cycle is told once, at the `after` of its first sync, with its path.
 */
function runAfterCycleIssues(syncs: Record<string, unknown>, add: (at: ConfigPathSegment[], message: string) => void): void {
  const follows = new Map<string, string[]>();
  for (const [name, sync] of Object.entries(syncs)) {
    const after = isRecord(sync) && isRecord(sync.schedule) && Array.isArray(sync.schedule.after) ? sync.schedule.after : [];
    follows.set(name, after.filter((s): s is string => typeof s === 'string'));
  }
  for (const cycle of runAfterCycles(follows)) {
    const path = cycle.join(' → ');
    add(
      ['syncs', cycle[0]!, 'schedule', 'after'],
      cycle.length === 2
        ? `sync "${cycle[0]}" runs after itself (${path}); remove it from its own after list`
        : `run-after chains form a cycle: ${path} (each runs after the next), so none of them would ever start; remove one of these syncs from an after list`,
    );
  }
}

/**
 * Hooks: format panelsync names its syncs under `syncs`, format dbt-cloud maps job ids under
 * `jobs`, never the other key; every sync named exists.
 */
function hookIssues(
  hooks: Record<string, unknown>,
  syncs: Record<string, unknown> | undefined,
  reference: (at: ConfigPathSegment[], name: unknown, kind: string, defined: Record<string, unknown> | undefined) => void,
  add: (at: ConfigPathSegment[], message: string) => void,
): void {
  for (const [name, hook] of Object.entries(hooks)) {
    if (!isRecord(hook)) continue;
    const at = (...rest: ConfigPathSegment[]) => ['hooks', name, ...rest];
    if (hook.format === 'dbt-cloud') {
      if (hook.syncs !== undefined) add(at('syncs'), 'a dbt-cloud hook picks its syncs by dbt Cloud job id: write them under jobs, e.g. jobs: { "123": [customers-to-panel] }');
      if (hook.jobs === undefined) add(at('jobs'), 'missing: a dbt-cloud hook needs jobs, the dbt Cloud job ids whose successful runs start syncs, e.g. jobs: { "123": [customers-to-panel] }');
    } else if (hook.format === undefined || hook.format === 'panelsync') {
      if (hook.jobs !== undefined) add(at('jobs'), 'jobs (dbt Cloud job ids) need format: dbt-cloud; a panelsync hook lists its syncs under syncs');
      if (hook.syncs === undefined) add(at('syncs'), 'missing: list the syncs this hook runs, e.g. syncs: [customers-to-panel]');
    }
    if (Array.isArray(hook.syncs)) hook.syncs.forEach((sync: unknown, index: number) => reference(at('syncs', index), sync, 'sync', syncs));
    for (const [job, list] of Object.entries(isRecord(hook.jobs) ? hook.jobs : {})) {
      if (Array.isArray(list)) list.forEach((sync: unknown, index: number) => reference(at('jobs', job, index), sync, 'sync', syncs));
    }
  }
}

/**
 * Alert rules (`alerts.defaults`, or a sync's `alerts` merged over them): recipients name defined
 * channels, once each; thresholds in order (warning <= critical) after the merge. Shapes, levels
 * and ranges are the schema's.
 */
function alertRuleIssues(
  at: ConfigPathSegment[],
  rules: unknown,
  alerts: unknown,
  add: (at: ConfigPathSegment[], message: string) => void,
): void {
  if (!isRecord(rules)) return;
  const channels = isRecord(alerts) && isRecord(alerts.channels) ? alerts.channels : {};
  const defaults = isRecord(alerts) && isRecord(alerts.defaults) && at[0] === 'syncs' ? alerts.defaults : {};
  if (Array.isArray(rules.recipients)) {
    const seen = new Map<string, number>();
    rules.recipients.forEach((recipient: unknown, index: number) => {
      if (!isRecord(recipient) || typeof recipient.channel !== 'string') return;
      const channel = recipient.channel;
      if (!Object.hasOwn(channels, channel)) {
        const known = Object.keys(channels);
        add(
          [...at, 'recipients', index, 'channel'],
          `unknown channel "${channel}" ` +
            (known.length === 0 ? '(no channels are defined; add one under alerts.channels)' : `(known: ${known.join(', ')})`),
        );
      }
      const first = seen.get(channel);
      if (first === undefined) seen.set(channel, index);
      else add([...at, 'recipients', index, 'channel'], `channel "${channel}" is already listed at recipients[${first}]; list each channel once, with all its levels`);
    });
  }
  for (const key of ['rejected_rows', 'failed_runs'] as const) {
    if (!isRecord(rules[key])) continue;
    const own = rules[key];
    const inherited = isRecord(defaults[key]) ? defaults[key] : {};
    const warning = own.warning ?? inherited.warning;
    const critical = own.critical ?? inherited.critical ?? ALERT_RULE_DEFAULTS[key].critical;
    if (typeof warning === 'number' && typeof critical === 'number' && warning > critical) {
      const from = (k: 'warning' | 'critical') => (own[k] === undefined ? ` (from alerts.defaults.${key}.${k}${k === 'critical' && inherited[k] === undefined ? ', or the default' : ''})` : '');
      add(
        [...at, key],
        `warning ${warning}${from('warning')} must not be above critical ${critical}${from('critical')}; lower warning or raise critical`,
      );
    }
  }
}

/**
 * A sync's schedule: exactly one of interval, cron or after (`on` only with after), and a cron expression that parses (see
 * src/scheduler/sync-schedule.ts). The interval's form is the schema's.
 */
function scheduleIssues(
  at: ConfigPathSegment[],
  schedule: Record<string, unknown>,
  add: (at: ConfigPathSegment[], message: string) => void,
): void {
  const kindProblem = scheduleKindProblem(schedule);
  if (kindProblem !== null) {
    add(at, kindProblem);
    return;
  }
  if (typeof schedule.cron !== 'string') return;
  try {
    parseCron(schedule.cron);
  } catch (error) {
    add([...at, 'cron'], (error as Error).message);
  }
}

function isOneOf<T extends string>(value: unknown, values: readonly T[]): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}
