/**
 * What one command uses of the project file, so that it resolves only the environment variables it
 * needs: `panelsync run` and `plan` never use `server` (the token of `panelsync serve`), nor the
 * sources and destinations of other syncs (the sources of `log_to` are used); `plan` sends no
 * alert, and `run` sends alerts only to the channels its sync's recipients name.
 */
import type { ConfigPathSegment } from './config-path.ts';
import { isRecord } from './zod-issues.ts';

/** What a command uses: one sync, and whether it sends that sync's alert notifications. */
export interface ProjectUse {
  /** The sync the command runs or plans (a key of `syncs`). */
  sync: string;
  /** Whether the command sends alert notifications (`run`: true; `plan`: false). */
  alerts: boolean;
}

/** An alert channel a run leaves out because a variable it needs is unset. */
export interface SkippedAlertChannel {
  /** The channel's name under `alerts.channels`. */
  channel: string;
  /** The unset variables it references, in file order, without repeats. */
  variables: string[];
}

/**
 * A copy of `raw` (the parsed project file, before interpolation) without the parts `use` does
 * not need that reference an unset variable: `server` as a whole, `hooks` (always: only `serve`
 * uses them), and each such alert channel
 * together with every recipient that names it (under `alerts.defaults` and each sync's `alerts`).
 * What the command uses is left as written, so that its unset variables are still errors.
 *
 * @param unset the unset references of `raw` (InterpolationResult.unset of interpolate-env.ts)
 * @returns the pruned copy, and the channels dropped that the sync's recipients name, when
 *   `use.alerts` (a run warns about those; a plan sends no alert, so it names none)
 */
export function dropUnusedUnset(
  raw: unknown,
  unset: ReadonlyArray<{ path: ConfigPathSegment[]; name: string }>,
  use: ProjectUse,
): { raw: unknown; skippedAlertChannels: SkippedAlertChannel[] } {
  if (!isRecord(raw) || unset.length === 0) return { raw, skippedAlertChannels: [] };
  const out: Record<string, unknown> = { ...raw };
  if (unset.some((u) => u.path[0] === 'server')) delete out.server;
  // Hooks are `serve`'s only, and may name the syncs dropped below.
  delete out.hooks;
  dropOtherSyncsUnset(out, unset, use.sync);

  const byChannel = new Map<string, string[]>();
  for (const { path, name } of unset) {
    if (path[0] !== 'alerts' || path[1] !== 'channels' || typeof path[2] !== 'string') continue;
    const names = byChannel.get(path[2]) ?? [];
    if (!names.includes(name)) names.push(name);
    byChannel.set(path[2], names);
  }
  if (byChannel.size === 0 || !isRecord(out.alerts)) return { raw: out, skippedAlertChannels: [] };

  const alerts: Record<string, unknown> = { ...out.alerts };
  const notified = recipientChannels(raw, use.sync);
  if (isRecord(alerts.channels)) {
    alerts.channels = Object.fromEntries(Object.entries(alerts.channels).filter(([name]) => !byChannel.has(name)));
  }
  const keep = (rules: unknown) => {
    if (!isRecord(rules) || !Array.isArray(rules.recipients)) return rules;
    return { ...rules, recipients: rules.recipients.filter((r) => !(isRecord(r) && typeof r.channel === 'string' && byChannel.has(r.channel))) };
  };
  alerts.defaults = keep(alerts.defaults);
  if (alerts.defaults === undefined) delete alerts.defaults;
  out.alerts = alerts;
  if (isRecord(out.syncs)) {
    out.syncs = Object.fromEntries(
      Object.entries(out.syncs).map(([name, sync]) => [name, isRecord(sync) && sync.alerts !== undefined ? { ...sync, alerts: keep(sync.alerts) } : sync]),
    );
  }
  const skippedAlertChannels = use.alerts
    ? [...byChannel].filter(([channel]) => notified.has(channel)).map(([channel, variables]) => ({ channel, variables }))
    : [];
  return { raw: out, skippedAlertChannels };
}

/**
 * Drops from `out` (in place) the sources and destinations that reference an unset variable and
 * that `sync` does not reach, with the models and syncs that depend on them: another sync's
 * warehouse or account needs no secret of this command.
 */
function dropOtherSyncsUnset(out: Record<string, unknown>, unset: ReadonlyArray<{ path: ConfigPathSegment[] }>, sync: string): void {
  const entry = (section: string, name: unknown) => (isRecord(out[section]) && typeof name === 'string' ? out[section][name] : undefined);
  const used = entry('syncs', sync);
  const model = isRecord(used) ? used.model : undefined;
  const source = isRecord(entry('models', model)) ? (entry('models', model) as Record<string, unknown>).source : undefined;
  const destination = isRecord(used) ? used.destination : undefined;
  // The sources runs are logged to (`log_to`: the project's, which names it, and the sync's own) are used too.
  const logSources = [out.log_to, isRecord(used) ? used.log_to : undefined].map((logTo) => (isRecord(logTo) ? logTo.source : undefined));
  const unsetIn = (section: string, ...keep: unknown[]) =>
    new Set(unset.flatMap((u) => (u.path[0] === section && typeof u.path[1] === 'string' && !keep.includes(u.path[1]) ? [u.path[1]] : [])));
  const sources = unsetIn('sources', source, ...logSources);
  const destinations = unsetIn('destinations', destination);
  if (sources.size === 0 && destinations.size === 0) return;
  const without = (section: string, drop: (name: string, value: unknown) => boolean) => {
    if (isRecord(out[section])) out[section] = Object.fromEntries(Object.entries(out[section]).filter(([name, value]) => !drop(name, value)));
  };
  without('sources', (name) => sources.has(name));
  without('destinations', (name) => destinations.has(name));
  const models = new Set<string>();
  without('models', (name, value) => {
    const drop = name !== model && isRecord(value) && typeof value.source === 'string' && sources.has(value.source);
    if (drop) models.add(name);
    return drop;
  });
  without(
    'syncs',
    (name, value) =>
      name !== sync && isRecord(value) && ((typeof value.model === 'string' && models.has(value.model)) || (typeof value.destination === 'string' && destinations.has(value.destination))),
  );
  // A run-after chain (`serve`'s only) that follows a dropped sync follows the others; none left: no schedule.
  if (!isRecord(out.syncs)) return;
  const kept = out.syncs;
  out.syncs = Object.fromEntries(
    Object.entries(kept).map(([name, value]) => {
      if (!isRecord(value) || !isRecord(value.schedule) || !Array.isArray(value.schedule.after)) return [name, value];
      const after = value.schedule.after.filter((followed) => typeof followed !== 'string' || Object.hasOwn(kept, followed));
      if (after.length === value.schedule.after.length) return [name, value];
      const { schedule: _dropped, ...rest } = value;
      return [name, after.length === 0 ? rest : { ...rest, schedule: { ...value.schedule, after } }];
    }),
  );
}

/** The channels a sync's alerts go to: its own `alerts.recipients`, else those of `alerts.defaults`. */
function recipientChannels(raw: Record<string, unknown>, sync: string): Set<string> {
  const own = isRecord(raw.syncs) && isRecord(raw.syncs[sync]) ? raw.syncs[sync].alerts : undefined;
  const defaults = isRecord(raw.alerts) ? raw.alerts.defaults : undefined;
  const recipients = isRecord(own) && Array.isArray(own.recipients) ? own.recipients : isRecord(defaults) && Array.isArray(defaults.recipients) ? defaults.recipients : [];
  return new Set(recipients.flatMap((r) => (isRecord(r) && typeof r.channel === 'string' ? [r.channel] : [])));
}

/** A skipped channel as a run tells it on stderr. */
export function skippedChannelWarning(skipped: SkippedAlertChannel): string {
  const vars = skipped.variables;
  return (
    `alert channel "${skipped.channel}" is skipped for this run: environment variable${vars.length === 1 ? '' : 's'} ${vars.join(', ')} ` +
    `${vars.length === 1 ? 'is' : 'are'} not set; set ${vars.length === 1 ? 'it' : 'them'} to get this channel's notifications`
  );
}
