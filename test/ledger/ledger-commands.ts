/**
 * The steps of the randomized ledger test, as fast-check commands over the reference model
 * (ledger-reference.ts) and the real project (ledger-world.ts): model edits (plain SQL on
 * `people`), configuration changes (delete behaviour, the last_name mapping) and runs with
 * trouble. Each command names concrete keys; `check` skips it when the model does not allow it
 * (a key not in the model, a key not removed…), so that a shrunk sequence stays meaningful.
 * `toString` is what a failure prints.
 */
import fc from 'fast-check';
import type { RunSummary } from '../../src/engine/run-summary.ts';
import { afterRunProblems, rejectionProblems, summaryProblems } from './ledger-checks.ts';
import {
  DELETE_BEHAVIORS,
  MAX_PK,
  REFUSED_DOMAIN,
  describeModel,
  enterModel,
  initialRow,
  leaveModel,
  setEmail,
  type DeleteBehavior,
  type LedgerModel,
} from './ledger-reference.ts';
import { describeTrouble, FAULTS, type LedgerWorld, type Trouble } from './ledger-world.ts';

type Command = fc.AsyncCommand<LedgerModel, LedgerWorld>;

/** Thrown when an invariant breaks: the problems, the model and every run so far. */
export class LedgerInvariantError extends Error {
  constructor(problems: string[], model: LedgerModel, world: LedgerWorld) {
    super([...problems, '', describeModel(model), 'runs:', world.describeRuns()].join('\n'));
    this.name = 'LedgerInvariantError';
  }
}

const FIELDS = ['first_name', 'last_name'] as const;
type Field = (typeof FIELDS)[number];

export class SetField implements Command {
  constructor(readonly pk: number, readonly field: Field, readonly version: number) {}
  private value() {
    return `${this.field === 'first_name' ? 'F' : 'L'}${this.pk}v${this.version}`;
  }
  check = (m: Readonly<LedgerModel>) => m.rows.has(this.pk);
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    m.rows.get(this.pk)![this.field] = this.value();
    w.setColumn(this.pk, this.field, this.value());
  }
  toString = () => `key ${this.pk}: ${this.field} = ${this.value()}`;
}

export class RevertField implements Command {
  constructor(readonly pk: number, readonly field: Field) {}
  check = (m: Readonly<LedgerModel>) => m.rows.has(this.pk) && m.rows.get(this.pk)![this.field] !== initialRow(this.pk)[this.field];
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    const value = initialRow(this.pk)[this.field];
    m.rows.get(this.pk)![this.field] = value;
    w.setColumn(this.pk, this.field, value);
  }
  toString = () => `key ${this.pk}: ${this.field} back to ${initialRow(this.pk)[this.field]}`;
}

/** A removed key: the one given, or (`last`) the key removed last; undefined when there is none. */
type RemovedRef = number | 'last';
function removedKey(m: Readonly<LedgerModel>, ref: RemovedRef): number | undefined {
  if (ref === 'last') return [...m.removed.keys()].at(-1);
  return m.removed.has(ref) ? ref : undefined;
}
function describeRemoved(ref: RemovedRef): string {
  return ref === 'last' ? 'the key removed last' : `removed key ${ref}`;
}

/** A new key (never in the model), with its own email or the last email of a removed key. */
export class AddRow implements Command {
  constructor(readonly pk: number, readonly emailOf: RemovedRef | null) {}
  check = (m: Readonly<LedgerModel>) => !m.everInModel.has(this.pk) && (this.emailOf === null || removedKey(m, this.emailOf) !== undefined);
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    const row = initialRow(this.pk);
    if (this.emailOf !== null) row.email = m.removed.get(removedKey(m, this.emailOf)!)!.row.email;
    enterModel(m, this.pk, row);
    w.insertRow(this.pk, row);
  }
  toString = () => `add key ${this.pk}` + (this.emailOf === null ? '' : ` with the last email of ${describeRemoved(this.emailOf)}`);
}

export class RemoveRow implements Command {
  constructor(readonly pk: number) {}
  check = (m: Readonly<LedgerModel>) => m.rows.has(this.pk);
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    leaveModel(m, this.pk);
    w.deleteRow(this.pk);
  }
  toString = () => `remove key ${this.pk}`;
}

/** A removed key comes back as it left. */
export class ReAddRow implements Command {
  constructor(readonly ref: RemovedRef) {}
  check = (m: Readonly<LedgerModel>) => removedKey(m, this.ref) !== undefined;
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    const pk = removedKey(m, this.ref)!;
    const row = { ...m.removed.get(pk)!.row };
    enterModel(m, pk, row);
    w.insertRow(pk, row);
  }
  toString = () => `re-add ${describeRemoved(this.ref)}`;
}

/** A fresh address (`p{pk}n{n}@example.com`), or one the API refuses (`…@refused.example`). */
export class ChangeEmail implements Command {
  constructor(readonly pk: number, readonly n: number, readonly refused: boolean) {}
  private email() {
    return `p${this.pk}n${this.n}@${this.refused ? REFUSED_DOMAIN : 'example.com'}`;
  }
  check = (m: Readonly<LedgerModel>) => m.rows.has(this.pk);
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    setEmail(m, this.pk, this.email());
    w.setColumn(this.pk, 'email', this.email());
  }
  toString = () => `key ${this.pk}: email -> ${this.email()}${this.refused ? ' (refused by the API)' : ''}`;
}

/** user3@… <-> User3@…: the same participant. */
export class CaseOnlyEmail implements Command {
  constructor(readonly pk: number) {}
  check = (m: Readonly<LedgerModel>) => m.rows.has(this.pk);
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    const email = m.rows.get(this.pk)!.email;
    const first = email[0]!;
    const flipped = (first === first.toUpperCase() ? first.toLowerCase() : first.toUpperCase()) + email.slice(1);
    setEmail(m, this.pk, flipped);
    w.setColumn(this.pk, 'email', flipped);
  }
  toString = () => `key ${this.pk}: case-only email change`;
}

/** A current key takes the last email of a removed key. */
export class TakeRemovedEmail implements Command {
  constructor(readonly pk: number, readonly from: RemovedRef) {}
  check = (m: Readonly<LedgerModel>) => m.rows.has(this.pk) && removedKey(m, this.from) !== undefined;
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    const email = m.removed.get(removedKey(m, this.from)!)!.row.email;
    setEmail(m, this.pk, email);
    w.setColumn(this.pk, 'email', email);
  }
  toString = () => `key ${this.pk}: email -> the last email of ${describeRemoved(this.from)}`;
}

/**
 * Key `from` moves to a fresh address (or one the API refuses) and key `to` (in the model, or a
 * new key) takes the address `from` left, in one edit: the participant must stay with `from`.
 */
export class Handover implements Command {
  constructor(readonly from: number, readonly to: number, readonly n: number, readonly refused: boolean) {}
  private email() {
    return `p${this.from}n${this.n}@${this.refused ? REFUSED_DOMAIN : 'example.com'}`;
  }
  check = (m: Readonly<LedgerModel>) => this.from !== this.to && m.rows.has(this.from) && (m.rows.has(this.to) || !m.everInModel.has(this.to));
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    const left = m.rows.get(this.from)!.email;
    setEmail(m, this.from, this.email());
    w.setColumn(this.from, 'email', this.email());
    if (m.rows.has(this.to)) {
      setEmail(m, this.to, left);
      w.setColumn(this.to, 'email', left);
    } else {
      const row = { ...initialRow(this.to), email: left };
      enterModel(m, this.to, row);
      w.insertRow(this.to, row);
    }
  }
  toString = () =>
    `key ${this.from}: email -> ${this.email()}${this.refused ? ' (refused by the API)' : ''}, and ` +
    `key ${this.to} takes the email key ${this.from} left`;
}

export class SwapEmails implements Command {
  constructor(readonly a: number, readonly b: number) {}
  check = (m: Readonly<LedgerModel>) => this.a !== this.b && m.rows.has(this.a) && m.rows.has(this.b);
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    const ea = m.rows.get(this.a)!.email;
    const eb = m.rows.get(this.b)!.email;
    setEmail(m, this.a, eb);
    setEmail(m, this.b, ea);
    w.setColumn(this.a, 'email', eb);
    w.setColumn(this.b, 'email', ea);
  }
  toString = () => `keys ${this.a} and ${this.b} swap emails`;
}

export class SetDeleteBehavior implements Command {
  constructor(readonly behavior: DeleteBehavior) {}
  check = (m: Readonly<LedgerModel>) => m.deleteBehavior !== this.behavior;
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    m.deleteBehavior = this.behavior;
    for (const removed of m.removed.values()) removed.behaviors.add(this.behavior);
    w.setDeleteBehavior(this.behavior);
  }
  toString = () => `config: delete_behavior ${this.behavior}`;
}

export class ToggleLastName implements Command {
  check = () => true;
  async run(m: LedgerModel, w: LedgerWorld) {
    count(this.constructor.name);
    m.lastNameMapped = !m.lastNameMapped;
    if (!m.lastNameMapped) {
      m.lastNameAlwaysMapped = false;
      for (const removed of m.removed.values()) removed.lastNameMappedSince = false;
    }
    w.setLastNameMapped(m.lastNameMapped);
  }
  toString = () => `config: toggle the mapping { from: LastName, to: last_name }`;
}

/**
 * One run of the sync with trouble; after it, the summary adds up and no identity rule broke.
 * `expectStatus` (fixed examples only): the status the run must end with.
 */
export class RunSync implements Command {
  constructor(readonly trouble: Trouble, readonly fullResync = false, readonly expectStatus?: RunSummary['status']) {}
  check = () => true;
  async run(m: LedgerModel, w: LedgerWorld) {
    await runAndCheck(m, w, this.trouble, this.fullResync);
    const status = w.runs.at(-1)!.summary?.status;
    if (this.expectStatus !== undefined && status !== this.expectStatus) {
      throw new LedgerInvariantError([`run ${w.runs.length} (${describeTrouble(this.trouble)}) ended ${status ?? 'killed'}, want ${this.expectStatus}`], m, w);
    }
  }
  toString = () => `run (${describeTrouble(this.trouble)}${this.fullResync ? ', --full-resync' : ''})`;
}

/**
 * Runs the sync and checks what must hold after any run: the summary adds up (invariant 5) and
 * no participant changed hands between current keys (invariant 2).
 * @throws LedgerInvariantError naming every broken rule
 */
export async function runAndCheck(m: LedgerModel, w: LedgerWorld, trouble: Trouble, fullResync = false): Promise<void> {
  if (fullResync) for (const removed of m.removed.values()) removed.resyncedSince = true;
  for (const key of m.rows.keys()) m.seenByRun.add(key);
  const summary = await w.run(trouble, { fullResync });
  m.runs += 1;
  count(`run ${trouble.kind}${fullResync ? ' --full-resync' : ''}: ${summary?.status ?? 'killed'}`);
  const label = `run ${w.runs.length} (${describeTrouble(trouble)}${fullResync ? ', --full-resync' : ''})`;
  const problems = [
    ...(summary ? summaryProblems(summary, label) : []),
    ...rejectionProblems(w.runs.at(-1)!.rejected, label),
    ...(await afterRunProblems(m, w, label)),
  ];
  if (problems.length > 0) throw new LedgerInvariantError(problems, m, w);
}

/**
 * A primary key: mostly two of the initial keys (1, 2) and a new one (13: never initial, at most
 * 12 rows), so that the steps of a sequence meet the same keys often; sometimes any.
 */
const pk = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1, 2, 13) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_PK }) });

/** A key that is new to the model (never initial: at most 12 rows), mostly 13. */
const newPk = fc.oneof({ weight: 3, arbitrary: fc.constant(13) }, { weight: 1, arbitrary: fc.integer({ min: 14, max: MAX_PK }) });

/** A removed key: mostly the one removed last, so that the step applies (see {@link removedKey}). */
const removedRef: fc.Arbitrary<RemovedRef> = fc.oneof({ weight: 3, arbitrary: fc.constant<RemovedRef>('last') }, { weight: 1, arbitrary: pk });

/** What the sequences did, by kind: steps that ran, run statuses per trouble (printed by the test). */
export const coverage = new Map<string, number>();
function count(what: string): void {
  coverage.set(what, (coverage.get(what) ?? 0) + 1);
}

function twice<T>(arb: fc.Arbitrary<T>): Array<fc.Arbitrary<T>> {
  return [arb, arb];
}

const TROUBLE_KINDS: ReadonlyArray<Trouble['kind']> = ['none', 'apply-then-drop', 'fail-next', 'abort', 'kill'];

/** The trouble a run meets; `without` leaves kinds out ('none' stays). */
function troubleArb(without: readonly string[]): fc.Arbitrary<Trouble> {
  const kinds: Array<{ kind: Trouble['kind']; weight: number; arbitrary: fc.Arbitrary<Trouble> }> = [
    { kind: 'none', weight: 3, arbitrary: fc.constant<Trouble>({ kind: 'none' }) },
    { kind: 'apply-then-drop', weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }).map((writes): Trouble => ({ kind: 'apply-then-drop', writes })) },
    {
      kind: 'fail-next',
      weight: 3,
      arbitrary: fc.array(fc.constantFrom(...FAULTS), { minLength: 1, maxLength: 4 }).map((faults): Trouble => ({ kind: 'fail-next', faults })),
    },
    {
      kind: 'abort',
      weight: 2,
      arbitrary: fc
        .record({ latencyMs: fc.integer({ min: 15, max: 40 }), afterMs: fc.integer({ min: 2, max: 80 }) })
        .map((t): Trouble => ({ kind: 'abort', ...t })),
    },
    // Rare: the CLI costs about a second.
    { kind: 'kill', weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((afterBatches): Trouble => ({ kind: 'kill', afterBatches })) },
  ];
  return fc.oneof(...kinds.filter((k) => k.kind === 'none' || !without.includes(k.kind)));
}

function runArb(without: readonly string[]): fc.Arbitrary<Command> {
  return fc
    .tuple(troubleArb(without), fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }))
    .map(([trouble, fullResync]) => new RunSync(trouble, fullResync));
}

/**
 * Every kind of step by name. Runs are listed six times (about a third of the steps), the
 * commonest edits twice.
 * `without` leaves kinds out (to explore past a known failure: `LEDGER_FUZZ_WITHOUT=swap,kill`).
 */
export function commandArbs(without: readonly string[] = []): Array<fc.Arbitrary<Command>> {
  const kinds: Record<string, Array<fc.Arbitrary<Command>>> = {
    'set-field': twice(fc.tuple(pk, fc.constantFrom(...FIELDS), fc.integer({ min: 1, max: 3 })).map(([k, f, v]) => new SetField(k, f, v))),
    'revert-field': [fc.tuple(pk, fc.constantFrom(...FIELDS)).map(([k, f]) => new RevertField(k, f))],
    add: twice(fc.tuple(newPk, fc.option(removedRef, { freq: 3 })).map(([k, from]) => new AddRow(k, from))),
    remove: twice(pk.map((k) => new RemoveRow(k))),
    're-add': [removedRef.map((ref) => new ReAddRow(ref))],
    email: twice(fc.tuple(pk, fc.integer({ min: 1, max: 99 }), fc.boolean()).map(([k, n, refused]) => new ChangeEmail(k, n, refused))),
    'case-email': [pk.map((k) => new CaseOnlyEmail(k))],
    'take-removed-email': [fc.tuple(pk, removedRef).map(([k, from]) => new TakeRemovedEmail(k, from))],
    swap: [fc.tuple(pk, pk).map(([a, b]) => new SwapEmails(a, b))],
    handover: twice(
      fc
        .tuple(pk, fc.oneof(pk, newPk), fc.integer({ min: 1, max: 99 }), fc.boolean())
        .map(([from, to, n, refused]) => new Handover(from, to, n, refused)),
    ),
    'delete-behavior': [fc.constantFrom(...DELETE_BEHAVIORS).map((b) => new SetDeleteBehavior(b))],
    'last-name-mapping': [fc.constant(null).map(() => new ToggleLastName())],
    run: Array.from({ length: 6 }, () => runArb(without)),
  };
  const unknown = without.filter((k) => !(k in kinds) && !TROUBLE_KINDS.includes(k as Trouble['kind']));
  if (unknown.length > 0) throw new Error(`unknown step kinds ${unknown.join(', ')} (known: ${[...Object.keys(kinds), ...TROUBLE_KINDS].join(', ')})`);
  return Object.entries(kinds).flatMap(([kind, arbs]) => (without.includes(kind) ? [] : arbs));
}
