/**
 * Keeping passwords out of error messages: connection URLs are shown with the password
 * replaced, and engine messages are scrubbed of it.
 */
import { redact } from '../http/redact.ts';

/**
 * `postgres://user:secret@host:5432/db` -> `postgres://user:***@host:5432/db`. Query-string
 * `password=` parameters are redacted too. A string that is not a URL is returned as
 * `"(unparseable url)"` so that nothing of it leaks.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(unparseable url)';
  }
  if (parsed.password) parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass/i.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString();
}

/** The password of `url` (decoded), or `undefined` when it has none or is not a URL. */
export function passwordOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    const fromQuery = [...parsed.searchParams.entries()].find(([key]) => /pass/i.test(key))?.[1];
    const password = parsed.password ? decodeURIComponent(parsed.password) : fromQuery;
    return password || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `message` with the password of `url` replaced by `***`, in every form and by the rule for short
 * secrets of the one redaction (src/http/redact.ts): a password shorter than 8 characters is
 * replaced only where it stands as a whole token, so that `PG_PASSWORD=e` does not garble
 * `database "x" does not exist`.
 */
export function scrubPassword(message: string, url: string): string {
  const password = passwordOf(url);
  return password ? redact(message, [password], '***') : message;
}
