/**
 * Sync alerts: what the rest of panelsync uses.
 *
 * - {@link watchRun}: subscribe to runs' events; notices go out when a trigger changes state.
 * - {@link watchSchedules}: `serve`'s missed-schedule trigger.
 * - {@link syncAlertStatus}: a sync's alert rules, trigger states and last deliveries (web UI/API).
 * - {@link sendTestNotice}: `panelsync alerts test CHANNEL`.
 */
export { watchRun, type AlertLogLevel, type RunWatcher, type WatchRunOptions } from './watch-run.ts';
export { watchSchedules, type ScheduleWatcher } from './watch-schedules.ts';
export { syncAlertStatus, type SyncAlertStatus } from './sync-alert-status.ts';
export { sendTestNotice, AlertChannelUnknownError, type TestNoticeProgress } from './send-test-notice.ts';
export type { DeliveryResult } from './deliver-notice.ts';
export type { Notice } from './notice.ts';
