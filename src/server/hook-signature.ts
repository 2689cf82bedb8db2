/**
 * Signatures of inbound webhooks (`POST /api/v1/hooks/{name}`, ./hook-routes.ts), checked in
 * constant time against the hook's secret. Two schemes:
 *
 * - **panelsync**: header `X-Panelsync-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is the
 *   HMAC-SHA256, keyed by the secret, of `UNIX_SECONDS + "." + raw body` (lower- or upper-case hex);
 *   a `t` more than {@link SIGNATURE_TOLERANCE_SECONDS} away from the server's clock is refused.
 *   Several `v1=` entries may be sent (a secret being rotated): one match is enough.
 * - **dbt-cloud**: dbt Cloud's outbound job webhooks carry in `Authorization` the hex HMAC-SHA256
 *   of the raw request body keyed by the webhook's secret token. Source:
 *   https://docs.getdbt.com/docs/deploy/webhooks ("Validate a webhook"), which also gives the
 *   payloads ("Examples of JSON payloads"): `eventType` ("job.run.completed"), `timestamp` (ISO
 *   8601) and `data.jobId`, `data.runId`, `data.runStatus` ("Success", "Errored", "Cancelled").
 *   dbt Cloud signs no separate time, so the signed payload's `timestamp` is held to the same
 *   tolerance (see ./hook-routes.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header of the panelsync scheme. */
export const SIGNATURE_HEADER = 'X-Panelsync-Signature';

/** How far a signed time may be from the server's clock, seconds (5 minutes), either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** A signature's verdict; `reason` says what to fix, and never holds the secret or the expected digest. */
export type SignatureCheck = { ok: true } | { ok: false; reason: string };

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Whether `hex` is the HMAC-SHA256 of `parts` keyed by `secret`, compared in constant time. */
function hmacMatches(secret: string, parts: ReadonlyArray<string | Uint8Array>, hex: string): boolean {
  if (!HEX_SHA256.test(hex)) return false;
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  return timingSafeEqual(hmac.digest(), Buffer.from(hex, 'hex'));
}

/**
 * Checks the panelsync scheme.
 * @param header the `X-Panelsync-Signature` value, `undefined` when absent
 * @param body the raw request body, as received
 * @param nowSeconds the server's clock, Unix seconds
 */
export function verifyPanelsyncSignature(header: string | undefined, body: Uint8Array, secret: string, nowSeconds: number): SignatureCheck {
  const how = `sign it as ${SIGNATURE_HEADER}: t=UNIX_SECONDS,v1=HEX, HEX the HMAC-SHA256 (keyed by the hook's secret) of UNIX_SECONDS + "." + the body`;
  if (header === undefined || header.trim() === '') return { ok: false, reason: `the request has no ${SIGNATURE_HEADER} header; ${how}` };
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    const key = item.slice(0, at).trim();
    const value = item.slice(at + 1).trim();
    if (at === -1) continue;
    if (key === 't') timestamp = value;
    else if (key === 'v1') signatures.push(value);
  }
  if (timestamp === undefined || !/^[0-9]{1,12}$/.test(timestamp) || signatures.length === 0) {
    return { ok: false, reason: `${SIGNATURE_HEADER} must hold t=UNIX_SECONDS and v1=HEX; ${how}` };
  }
  // Every v1 is compared (no early exit), so that the time taken does not tell which one failed.
  const matches = signatures.map((hex) => hmacMatches(secret, [timestamp, '.', body], hex));
  if (!matches.includes(true)) return { ok: false, reason: `the signature does not match the body and t; ${how}` };
  return withinTolerance(Number(timestamp), nowSeconds, `t=${timestamp}`);
}

/**
 * Checks dbt Cloud's scheme: `Authorization` holds the hex HMAC-SHA256 of the raw body.
 * @param header the `Authorization` value, `undefined` when absent
 */
export function verifyDbtCloudSignature(header: string | undefined, body: Uint8Array, secret: string): SignatureCheck {
  const how = "set the hook's secret to the secret token dbt Cloud shows for this webhook";
  if (header === undefined || header.trim() === '') {
    return { ok: false, reason: `the request has no Authorization header: dbt Cloud signs its webhooks there; ${how}` };
  }
  if (!hmacMatches(secret, [body], header.trim())) return { ok: false, reason: `the Authorization signature does not match the body; ${how}` };
  return { ok: true };
}

/** Whether the signed time `signedSeconds` (Unix seconds) is within the tolerance of `nowSeconds`; `what` names it in the reason. */
export function withinTolerance(signedSeconds: number, nowSeconds: number, what: string): SignatureCheck {
  const skew = Math.round(nowSeconds - signedSeconds);
  if (Math.abs(skew) <= SIGNATURE_TOLERANCE_SECONDS) return { ok: true };
  return {
    ok: false,
    reason:
      `the signed time ${what} is ${Math.abs(skew)} s ${skew > 0 ? 'behind' : 'ahead of'} the server's clock (at most ${SIGNATURE_TOLERANCE_SECONDS} s): ` +
      "sign each request when it is sent, and check the caller's clock",
  };
}
