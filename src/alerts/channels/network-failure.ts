/**
 * Saying why a channel could not be reached without showing a secret: where the delivery went is
 * given as `host:port` only (a channel URL's user info, path and query can be credentials, and a
 * Slack webhook URL is one whole), and why as the system's error code with a few words on it
 * (`ECONNREFUSED`, `ENOTFOUND`), or the time limit it ran into.
 */
import { isRetryableNetworkError, networkErrorCode } from '../../http/errors.ts';
import { ChannelError, type DeliveryAttempt } from './alert-channel.ts';

/** Ports used when a URL names none: HTTP's, and nodemailer's for `smtp://` (587) and `smtps://` (465). */
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'smtp:': 587, 'smtps:': 465 };

/** A few words on the error codes a channel meets most, after the code itself. */
const CODE_MEANINGS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing accepts connections on that port',
  ENOTFOUND: 'host not found: check the host name, and DNS on this machine',
  EAI_AGAIN: 'the host name could not be looked up for now (DNS)',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed while sending',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed before the answer',
  EHOSTUNREACH: 'the host is unreachable from here',
  ENETUNREACH: 'the network is unreachable from here',
};

/**
 * Where a channel URL leads, as `host:port` (the port the scheme implies when the URL names none;
 * an IPv6 host in brackets): `https://hooks.slack.com/services/T0/B0/XYZ` -> `hooks.slack.com:443`,
 * `smtp://user:pw@mail.example.com` -> `mail.example.com:587`. Never the user info, path, query or
 * fragment. A string that is not a URL gives `(unparseable URL)`, so that nothing of it shows.
 */
export function channelEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(unparseable URL)';
  }
  const port = parsed.port !== '' ? parsed.port : String(DEFAULT_PORTS[parsed.protocol] ?? '');
  return port === '' ? parsed.hostname : `${parsed.hostname}:${port}`;
}

/**
 * Why a connection failed, for a message: the first error code of the error's cause chain (an
 * `AggregateError`'s errors included) with its meaning, e.g. `ECONNREFUSED (connection refused:
 * nothing accepts connections on that port)`; without a code, the innermost message (Node's fetch
 * says `bad port` for the ports it refuses), with `url` replaced by its {@link channelEndpoint}
 * ({@link withoutUrl}).
 * The caller still redacts the project's secrets (the delivery does).
 */
export function networkCause(error: unknown, url: string): string {
  const code = networkErrorCode(error);
  if (code !== null) {
    const meaning = CODE_MEANINGS[code] ?? (/CERT|SSL|TLS/.test(code) ? 'TLS failed: check that the certificate of the host is trusted here' : undefined);
    return meaning === undefined ? code : `${code} (${meaning})`;
  }
  const message = innermostMessage(error);
  if (message === 'bad port') return 'bad port (fetch refuses to connect to this port, one of the Fetch standard\'s "bad ports"; use another port)';
  return message === '' ? 'no reason given' : withoutUrl(message, url);
}

/** `text` with `url` (as written, and as the URL parser writes it) replaced by its {@link channelEndpoint}. */
export function withoutUrl(text: string, url: string): string {
  const endpoint = channelEndpoint(url);
  let out = text.split(url).join(endpoint);
  try {
    out = out.split(new URL(url).href).join(endpoint);
  } catch {
    // not a URL: only the text as written can appear
  }
  return out;
}

/**
 * A failure below HTTP (or SMTP) as a {@link ChannelError}: a timeout (`CHANNEL_TIMEOUT`,
 * retryable: `… did not answer: timeout after N ms`), an abandonment (`CHANNEL_ABANDONED`, not
 * retryable) or a failure to connect (`CHANNEL_NETWORK`: `… could not be reached: ECONNREFUSED
 * (…)`), retryable as src/http/errors.ts decides (`isRetryableNetworkError`: a refused or reset
 * connection is; a host not found, a TLS failure or a URL fetch refuses needs a configuration fix).
 * @param service names the service, e.g. `the webhook`
 * @param url where the delivery went: messages show its {@link channelEndpoint} only
 * @param retryable overrides that decision (for a client whose codes src/http does not know)
 */
export function networkError(
  service: string,
  url: string,
  attempt: DeliveryAttempt,
  error: unknown,
  retryable: boolean = isRetryableNetworkError(error),
): ChannelError {
  if (error instanceof ChannelError) return error;
  const where = `${service} at ${channelEndpoint(url)}`;
  if (attempt.signal.aborted) {
    const reason: unknown = attempt.signal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return timeoutError(where, attempt, error);
    return new ChannelError('CHANNEL_ABANDONED', `delivery to ${where} was abandoned: the process was stopping`, { retryable: false, cause: error });
  }
  return new ChannelError('CHANNEL_NETWORK', `${where} could not be reached: ${networkCause(error, url)}`, { retryable, cause: error });
}

/** The attempt's time limit ran out (`CHANNEL_TIMEOUT`, retryable); `where` is `service at host:port`. */
export function timeoutError(where: string, attempt: DeliveryAttempt, cause?: unknown): ChannelError {
  return new ChannelError('CHANNEL_TIMEOUT', `${where} did not answer: timeout after ${attempt.timeoutMs} ms`, { retryable: true, cause });
}

/** The message of the last error in the `cause` chain that has one; `''` when none has. */
function innermostMessage(error: unknown): string {
  if (typeof error !== 'object' || error === null) return error === undefined || error === null ? '' : String(error);
  let message = '';
  let e: unknown = error;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    const text = (e as { message?: unknown }).message;
    if (typeof text === 'string' && text !== '') message = text;
    e = (e as { cause?: unknown }).cause;
  }
  return message;
}
