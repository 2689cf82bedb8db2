/**
 * The fast path of `emailProblem` never accepts an address the full rules refuse: generated
 * addresses close to the everyday shape (with dots, hyphens, long labels and local parts at the
 * limits) are checked against `emailProblemByFullRules`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emailProblem, emailProblemByFullRules, isEverydayEmail } from '../../../src/destinations/user-interviews/wire.ts';

const atom = fc.stringMatching(/^[A-Za-z0-9_+.-]{1,70}$/);
const label = fc.stringMatching(/^[A-Za-z0-9-]{1,66}$/);
const tld = fc.stringMatching(/^[A-Za-z0-9]{1,66}$/);
const address = fc
  .tuple(atom, fc.array(label, { minLength: 0, maxLength: 4 }), tld)
  .map(([local, labels, last]) => `${local}@${[...labels, last].join('.')}`);

describe('emailProblem fast path', () => {
  it('accepts only addresses the full rules accept', () => {
    fc.assert(
      fc.property(address, (email) => {
        if (isEverydayEmail(email)) expect(emailProblemByFullRules(email)).toBeNull();
        expect(emailProblem(email)).toBe(emailProblemByFullRules(email));
      }),
      { numRuns: 20_000, seed: 20261207 },
    );
  });

  it('takes the everyday address and leaves the unusual ones to the full rules', () => {
    expect(isEverydayEmail('person1@example.com')).toBe(true);
    expect(isEverydayEmail('first.last+tag@mail.example.co.uk')).toBe(true);
    for (const unusual of ['a..b@example.com', 'a@-example.com', 'a@example.c', 'a@example.123', `${'a'.repeat(65)}@example.com`, 'josé@example.com']) {
      expect(isEverydayEmail(unusual)).toBe(false);
    }
  });
});
