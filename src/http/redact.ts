/**
 * The one redaction of secrets, used wherever text may leave the process or be recorded: API calls
 * kept by the live debugger, row outcomes and run errors in the state database, alert deliveries,
 * logs, the server's JSON responses, configuration and connection errors.
 *
 * Every encoded form a secret may take in that text is replaced:
 * - as written, percent-encoded (`encodeURIComponent`), form-encoded (`+` for spaces) and
 *   JSON-escaped (how it appears in a URL, a query or a JSON body);
 * - base64 and base64url, with or without padding, of the secret alone and, for a secret of at
 *   least {@link MIN_SUBSTRING_SECRET_LENGTH} characters, the part of its base64 that does not
 *   depend on what comes before it, at each of the three byte alignments (so it is found inside
 *   the base64 of a longer text, such as HTTP Basic's `user:secret`). Pairs the project itself
 *   encodes whole (Twilio's `account_sid:auth_token`) are listed as secrets of their own by
 *   `projectSecrets` (src/config/validate-project.ts), so their base64 is replaced whole.
 *
 * Short secrets. A form shorter than {@link MIN_SUBSTRING_SECRET_LENGTH} characters is replaced
 * only where it stands as a whole token: not preceded nor followed by a letter or a digit. A
 * secret `e` is replaced in `password=e` or `user:e@host`, but the `e`s of `database "x" does not
 * exist` are left alone: replacing every occurrence of a short string garbles messages
 * (`databas[REDACTED] ...`) and hides nothing, since such a substring of a word says nothing
 * about the secret. Where a short secret stands alone it is replaced, so it never shows.
 */

/** What replaces a secret by default. */
export const REDACTED = '[REDACTED]';

/**
 * Secrets (and their encoded forms) shorter than this many characters are replaced only as whole
 * tokens (see the module comment): a shorter string occurs by chance inside ordinary words.
 */
export const MIN_SUBSTRING_SECRET_LENGTH = 8;

/** One form of a secret to replace: `pattern` for a short form matched as a whole token. */
interface SecretForm {
  text: string;
  pattern: RegExp | null;
}

/** Forms computed once per secrets array (projects pass the same array for their whole life). */
const formsCache = new WeakMap<readonly string[], SecretForm[]>();

/**
 * `text` with every form of every non-empty secret (see the module comment) replaced by `marker`.
 * Longest forms first, so that a secret containing another is replaced whole.
 *
 * @param secrets the project's secrets (`Project.secrets`); empty strings are ignored
 * @param marker the replacement, `[REDACTED]` unless given
 */
export function redact(text: string, secrets: readonly string[], marker: string = REDACTED): string {
  if (secrets.length === 0 || text === '') return text;
  let out = text;
  for (const form of secretFormsOf(secrets)) {
    if (form.pattern === null) {
      if (out.includes(form.text)) out = out.split(form.text).join(marker);
    } else if (out.includes(form.text)) {
      out = out.replace(form.pattern, marker);
    }
  }
  return out;
}

/** Every form of every secret, longest first (see the module comment); cached per array. */
function secretFormsOf(secrets: readonly string[]): SecretForm[] {
  const cached = formsCache.get(secrets);
  if (cached) return cached;
  const texts = new Set<string>();
  for (const secret of secrets) for (const form of encodedForms(secret)) if (form !== '') texts.add(form);
  const forms = [...texts]
    .sort((a, b) => b.length - a.length)
    .map((form) => ({
      text: form,
      pattern: form.length >= MIN_SUBSTRING_SECRET_LENGTH ? null : new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(form)}(?![\\p{L}\\p{N}])`, 'gu'),
    }));
  formsCache.set(secrets, forms);
  return forms;
}

/** The forms of one secret: as written, URL-, form- and JSON-encoded, base64 and base64url. */
function encodedForms(secret: string): string[] {
  if (secret === '') return [];
  const bytes = Buffer.from(secret, 'utf8');
  const forms = [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ];
  const base64 = bytes.toString('base64');
  forms.push(base64, base64.replace(/=+$/, ''), bytes.toString('base64url'));
  if (secret.length >= MIN_SUBSTRING_SECRET_LENGTH) {
    // Inside a longer base64 text the secret starts at byte 0, 1 or 2 of a 3-byte group. Keep the
    // characters that depend on the secret's bytes only: less the first ones a preceding byte
    // shares, and less the last one a following byte shares; or, when the secret ends the text,
    // up to its padding.
    for (const shift of [0, 1, 2]) {
      const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
      const first = [0, 2, 3][shift]!;
      const determined = Math.floor(((shift + bytes.length) * 4) / 3);
      for (const form of [encoded.slice(first), encoded.slice(first).replace(/=+$/, ''), encoded.slice(first, determined)]) {
        if (form.length >= MIN_SUBSTRING_SECRET_LENGTH) forms.push(form, toBase64Url(form));
      }
    }
  }
  return forms;
}

function toBase64Url(base64: string): string {
  return base64.replaceAll('+', '-').replaceAll('/', '_');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
