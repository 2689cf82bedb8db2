/**
 * The report of `panelsync check`: one result per item of the wire module's contract
 * (CONTRACT_ASSUMPTIONS), in its order. The JSON form is a public contract (issue 12):
 * `{ destination, environment, base_url, write_test, assumptions: [{ id, statement, result,
 * expected, seen, why }] }`, extended with `source`, `counts`, `observed` and `leftovers_removed`.
 */
import {
  CONTRACT_ASSUMPTIONS,
  type AssumptionId,
  type ContractSource,
} from '../destinations/user-interviews/wire.ts';
import type { ContractObservations } from './contract-observations.ts';

/** What `check` concluded about one item. */
export const CHECK_RESULTS = ['confirmed', 'refuted', 'not_checked'] as const;
export type CheckResult = (typeof CHECK_RESULTS)[number];

/** One item's result. `expected`/`seen` are set when refuted (`seen` also when confirmed), `why` when not checked. */
export interface AssumptionResult {
  id: AssumptionId;
  statement: string;
  /** The item's tag in the shared docs (user-interviews-api). */
  source: ContractSource;
  result: CheckResult;
  expected: string | null;
  seen: string | null;
  why: string | null;
}

/** The whole report, as `--json` prints it. */
export interface CheckReport {
  destination: string;
  environment: string;
  base_url: string;
  write_test: boolean;
  assumptions: AssumptionResult[];
  counts: Record<CheckResult, number>;
  /** What a machine can act on (`panelsync emulator --profile` reads it back). */
  observed: ContractObservations;
  /** Test participants an earlier, interrupted `check --write-test` had left, removed first. */
  leftovers_removed: number;
}

type Finding = Pick<AssumptionResult, 'result' | 'expected' | 'seen' | 'why'>;

/**
 * Collects results while the checks run. A refutation stands once made (a later confirmation of
 * the same item from another exchange does not undo it); a confirmation replaces "not checked".
 */
export class Findings {
  private readonly found = new Map<AssumptionId, Finding>();
  readonly observed: ContractObservations = {};

  confirm(id: AssumptionId, seen: string | null = null): void {
    const current = this.found.get(id);
    if (current?.result === 'refuted') return;
    this.found.set(id, { result: 'confirmed', expected: null, seen, why: null });
  }

  refute(id: AssumptionId, expected: string, seen: string): void {
    if (this.found.get(id)?.result === 'refuted') return;
    this.found.set(id, { result: 'refuted', expected, seen, why: null });
  }

  /** Marks `id` not checked, unless a result is already known. */
  skip(id: AssumptionId, why: string): void {
    if (!this.found.has(id)) this.found.set(id, { result: 'not_checked', expected: null, seen: null, why });
  }

  /** Whether `id` has a result (confirmed, refuted or skipped). */
  has(id: AssumptionId): boolean {
    return this.found.has(id);
  }

  /** Every item of the contract in order; one without a finding is not checked for `why`. */
  results(why: (id: AssumptionId, needs: 'read' | 'write') => string): AssumptionResult[] {
    return CONTRACT_ASSUMPTIONS.map((a) => {
      const finding = this.found.get(a.id) ?? { result: 'not_checked' as const, expected: null, seen: null, why: why(a.id, a.needs) };
      return { id: a.id, statement: a.statement, source: a.source, ...finding };
    });
  }
}

/** Counts of each result. */
export function countResults(assumptions: readonly AssumptionResult[]): Record<CheckResult, number> {
  const counts: Record<CheckResult, number> = { confirmed: 0, refuted: 0, not_checked: 0 };
  for (const a of assumptions) counts[a.result] += 1;
  return counts;
}

/** A short JSON text of a value for `seen` (bodies cut at 300 characters). */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? 'nothing';
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
