/**
 * Keeps participant personal data out of notifications. Row errors come from our own validation
 * (`email "ann@example" is not a valid email address`, `characteristics.plan: "gold" is not a
 * number`) and from the API (whose `detail` texts may quote the email they refused), so a message
 * built from them must drop the values and keep the reason. Only primary keys may identify a row
 * in a notification; they are added by the caller, never taken from error text.
 */
import { redact } from '../http/http-client.ts';

/** What replaces each kind of value. */
export const SCRUBBED = { email: '[email]', quoted: '"[value]"', phone: '[phone]' } as const;

/** Anything shaped like an email address (local part @ domain), even an invalid one. */
const EMAIL = /[^\s"'<>()[\]{},;:@]+@[^\s"'<>()[\]{},;:@]+/g;
/** A double-quoted (JSON-escaped) value, as our validation quotes the values it refuses. */
const QUOTED = /"(?:[^"\\]|\\.)*"/g;
/** A run of 7 or more digits, possibly with +, spaces, dots, dashes and parentheses between: a phone number. */
const PHONE = /\+?\(?\d(?:[\d ().-]{5,}\d)/g;

/**
 * `text` with email addresses, double-quoted values and phone-number-like digit runs replaced
 * (see {@link SCRUBBED}), then every secret replaced by `[REDACTED]` (also percent-encoded and
 * JSON-escaped and base64 forms, see src/http/redact.ts).
 *
 * Digit runs shorter than 7 digits (counts, lengths, HTTP statuses) are kept, so
 * `characteristics.ltv: longer than 255 characters (300)` stays readable.
 */
export function scrubPersonalData(text: string, secrets: readonly string[]): string {
  const scrubbed = text
    .replace(QUOTED, SCRUBBED.quoted)
    .replace(EMAIL, SCRUBBED.email)
    .replace(PHONE, (match) => (match.replace(/\D/g, '').length >= 7 ? SCRUBBED.phone : match));
  return redact(scrubbed, secrets);
}
