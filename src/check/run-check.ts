/**
 * `panelsync check`: confirms or refutes every item of the contract the wire module assumes
 * (CONTRACT_ASSUMPTIONS) against the account of one destination. Read-only unless `writeTest`;
 * with `recordDir`, every exchange (redacted) and the report are kept as fixtures that
 * `panelsync emulator --profile DIR` answers from.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../config/load-project.ts';
import { PRODUCTION_BASE_URL, emailProblem } from '../destinations/user-interviews/wire.ts';
import { ContractProbe, type RecordedExchange } from './contract-probe.ts';
import { isRateLimitHeader } from './contract-observations.ts';
import { Findings, countResults, type CheckReport } from './check-report.ts';
import { checkReads } from './read-checks.ts';
import { TestParticipantLedger, markedTestEmail } from './test-participants.ts';
import { checkWrites, removeTestParticipants } from './write-checks.ts';

/** Codes of {@link CheckUsageError}. */
export const CHECK_USAGE_ERROR_CODES = ['CHECK_UNKNOWN_DESTINATION', 'CHECK_PRODUCTION_REFUSED', 'CHECK_BAD_TEST_EMAIL', 'CHECK_RECORD_DIR_IN_USE'] as const;
export type CheckUsageErrorCode = (typeof CHECK_USAGE_ERROR_CODES)[number];

/** A check that cannot start as asked: the message says what to change (exit 2). */
export class CheckUsageError extends Error {
  constructor(
    readonly code: CheckUsageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CheckUsageError';
  }
}

/** The files of a recording (`--record DIR`). */
export const RECORDING = {
  /** The report, as `--json` prints it. */
  report: 'report.json',
  /** One `NNN-step.json` per exchange ({@link RecordedExchange}). */
  exchanges: 'exchanges',
} as const;

export interface CheckOptions {
  project: Project;
  /** A key of `project.destinations`. */
  destination: string;
  /** Exercise the writes on a test participant of the check's own. */
  writeTest?: boolean;
  /** The test participant's email instead of a marked one; it must not be a participant yet. */
  testEmail?: string;
  /** Allows `writeTest` on an `environment: production` destination. */
  confirmProduction?: boolean;
  /** Keep every exchange and the report here. */
  recordDir?: string;
  /** Once aborted, the write test stops before its next step, cleans up and reports. */
  signal?: AbortSignal;
}

/**
 * Runs the check.
 * @throws CheckUsageError for an unknown destination, a write test on production without
 *   `confirmProduction`, an invalid `testEmail`, a record directory holding other files;
 *   HttpError when the API cannot be reached at all
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const { project, destination: name } = options;
  const destination = project.destinations[name];
  if (!destination) {
    throw new CheckUsageError('CHECK_UNKNOWN_DESTINATION', `unknown destination "${name}" (known: ${Object.keys(project.destinations).join(', ') || 'none'})`);
  }
  const writeTest = options.writeTest === true;
  if (writeTest && destination.environment === 'production' && !options.confirmProduction) {
    throw new CheckUsageError(
      'CHECK_PRODUCTION_REFUSED',
      `destinations.${name} is environment: production: --write-test creates, changes and deletes test participants in your real panel. ` +
        'Run it against a sandbox account (environment: sandbox with its base_url), or add --confirm-production to accept that',
    );
  }
  const testEmail = options.testEmail ?? markedTestEmail();
  const problem = emailProblem(testEmail.trim());
  if (problem !== null) throw new CheckUsageError('CHECK_BAD_TEST_EMAIL', `--test-email ${JSON.stringify(testEmail)} ${problem}`);
  const baseUrl = destination.base_url ?? PRODUCTION_BASE_URL;
  const exchangesDir = options.recordDir === undefined ? null : prepareRecordDir(options.recordDir);

  const findings = new Findings();
  const rateLimitHeaders: Record<string, string> = {};
  const probe = new ContractProbe({
    baseUrl,
    apiKey: destination.api_key,
    timeoutMs: destination.timeout_ms,
    secrets: project.secrets,
    onExchange: (exchange: RecordedExchange) => {
      if (exchange.status !== null && exchange.status < 400) {
        for (const [header, value] of Object.entries(exchange.response_headers)) if (isRateLimitHeader(header)) rateLimitHeaders[header] = value;
      }
      if (exchangesDir !== null) {
        writeFileSync(path.join(exchangesDir, `${String(exchange.seq).padStart(3, '0')}-${exchange.step}.json`), `${JSON.stringify(exchange, null, 2)}\n`);
      }
    },
  });

  const ledger = TestParticipantLedger.beside(project.statePath, name, baseUrl);
  const reads = await checkReads(probe, findings);
  let leftoversRemoved = 0;
  let stopped: string | null = null;
  if (writeTest && reads.keyAccepted) {
    leftoversRemoved = await removeTestParticipants(probe, ledger);
    stopped = await checkWrites(probe, findings, { testEmail: testEmail.trim(), ledger, characteristics: reads.characteristics, signal: options.signal });
  }
  judgeRateLimit(findings, probe.retryAfters, rateLimitHeaders);
  if (Object.keys(rateLimitHeaders).length > 0) findings.observed.rate_limit_headers = rateLimitHeaders;

  const leftovers = ledger.list().length;
  const assumptions = findings.results((_id, needs) => {
    if (!reads.keyAccepted) return 'the API key was refused: fix api_key first';
    if (needs === 'read') return 'not reached';
    if (!writeTest) {
      return leftovers > 0
        ? `needs --write-test (which also removes the ${leftovers} test participant(s) an interrupted check left)`
        : 'needs --write-test (it writes to test participants of its own, then deletes them)';
    }
    return `the write test stopped before this step: ${stopped ?? 'not reached'}`;
  });
  const report: CheckReport = {
    destination: name,
    environment: destination.environment,
    base_url: probe.redact(baseUrl),
    write_test: writeTest,
    assumptions,
    counts: countResults(assumptions),
    observed: findings.observed,
    leftovers_removed: leftoversRemoved,
  };
  if (options.recordDir !== undefined) writeFileSync(path.join(options.recordDir, RECORDING.report), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** `rate_limit.retry_after`: judged on the `429`s met, if any; otherwise not checked, naming the headers seen. */
function judgeRateLimit(findings: Findings, retryAfters: readonly string[], headers: Record<string, string>): void {
  const announced = Object.entries(headers).map(([h, v]) => `${h}: ${v}`).join(', ') || 'none';
  if (retryAfters.length === 0) {
    findings.skip('rate_limit.retry_after', `no 429 was met (check sends too few requests to provoke one); rate-limit headers seen: ${announced}`);
    return;
  }
  const bad = retryAfters.filter((value) => !/^\d+$/.test(value.trim()));
  if (bad.length === 0) findings.confirm('rate_limit.retry_after', `429 with Retry-After ${retryAfters.join(', ')}`);
  else findings.refute('rate_limit.retry_after', '429 with Retry-After in seconds', `Retry-After ${bad.map((v) => JSON.stringify(v)).join(', ')}`);
}

/** Makes `dir/exchanges` empty; `dir` must be new, empty, or an earlier recording. */
function prepareRecordDir(dir: string): string {
  const exchanges = path.join(dir, RECORDING.exchanges);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(path.join(dir, RECORDING.report))) {
    throw new CheckUsageError('CHECK_RECORD_DIR_IN_USE', `--record ${dir} holds other files: give a new or empty directory, or an earlier recording to replace`);
  }
  rmSync(exchanges, { recursive: true, force: true });
  mkdirSync(exchanges, { recursive: true });
  return exchanges;
}

