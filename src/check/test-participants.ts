/**
 * The participants `panelsync check --write-test` creates, written down before each request that
 * may create one (a write-ahead record, as every side effect of panelsync), so that a check killed
 * half-way leaves a list the next check removes. The file lives next to the state database
 * (`check-test-participants.json`), one list per destination and base URL; every email is marked
 * (`panelsync-check-…`) unless the user gave `--test-email`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** The marker every generated test email starts with. */
export const TEST_EMAIL_MARKER = 'panelsync-check-';

/** One participant the check may have created: its email, and its id once the API gave it. */
export interface TestParticipant {
  email: string;
  id?: string;
}

/** A fresh marked test email (`panelsync-check-1a2b3c4d@example.com`). */
export function markedTestEmail(): string {
  return `${TEST_EMAIL_MARKER}${randomBytes(4).toString('hex')}@example.com`;
}

/** The address the test participant is renamed to: `+renamed` added to the local part of `email`. */
export function renamedEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, at)}+renamed${email.slice(at)}`;
}

/** The test participants of one destination, kept in a JSON file (written whole, by rename, at each change). */
export class TestParticipantLedger {
  /**
   * @param file the JSON file (`{ "<key>": [TestParticipant…] }`); absent means empty
   * @param key the destination's name and base URL
   */
  constructor(
    private readonly file: string,
    private readonly key: string,
  ) {}

  /** The ledger of `destination` at `baseUrl`, next to the state database `statePath`. */
  static beside(statePath: string, destination: string, baseUrl: string): TestParticipantLedger {
    return new TestParticipantLedger(path.join(path.dirname(statePath), 'check-test-participants.json'), `${destination} ${baseUrl}`);
  }

  /** The participants listed for this destination. */
  list(): TestParticipant[] {
    return this.readAll()[this.key] ?? [];
  }

  /** Writes down `email` (before the request that may create it), with its `id` once known. */
  add(participant: TestParticipant): void {
    this.update((list) => [...list.filter((p) => !(p.email === participant.email && p.id === undefined)), participant]);
  }

  /** Forgets every entry of participant `id`, and entries of `email` without an id. */
  remove(match: { id?: string; email?: string }): void {
    this.update((list) => list.filter((p) => !((match.id !== undefined && p.id === match.id) || (match.email !== undefined && p.email === match.email && p.id === undefined))));
  }

  private update(change: (list: TestParticipant[]) => TestParticipant[]): void {
    const all = this.readAll();
    const next = change(all[this.key] ?? []);
    if (next.length === 0) delete all[this.key];
    else all[this.key] = next;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(all, null, 2)}\n`);
    renameSync(temporary, this.file);
  }

  private readAll(): Record<string, TestParticipant[]> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, TestParticipant[]>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`${this.file} cannot be read (${(error as Error).message}): fix or delete it; it lists test participants of panelsync check`, { cause: error });
    }
  }
}
