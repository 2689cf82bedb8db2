/**
 * Local stand-ins for the notification services, on 127.0.0.1 (port 0): real HTTP servers that
 * check the request formats the way the services document them (paths, auth, content types,
 * required fields) and answer like them, and a real SMTP server (smtp-server) that checks the
 * login. A request in a wrong format is answered with the service's error and listed in
 * `invalid`, so a test asserts `invalid` stays empty.
 *
 * Formats: Slack incoming webhooks (https://api.slack.com/messaging/webhooks), PagerDuty Events
 * API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/), Twilio Messages
 * (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One accepted request. */
export interface Received<T> {
  body: T;
  headers: IncomingMessage['headers'];
  path: string;
  at: number;
}

/** A fake HTTP service. */
export interface FakeService<T> {
  /** The base URL (`http://127.0.0.1:PORT`). */
  origin: string;
  /** Requests accepted, in order. */
  received: Array<Received<T>>;
  /** Why each refused request was refused (must stay empty in a test of good requests). */
  invalid: string[];
  /** Every request that arrived, accepted, refused or failed on purpose. */
  arrivals: number;
  /** `Date.now()` when each of them arrived. */
  arrivalTimes: number[];
  /** The next `count` requests get `status` (with an error body) before any check. */
  failNext(count: number, status: number): void;
  /** The next `count` requests get no answer at all. */
  hangNext(count: number): void;
  /** Stops listening and drops open connections: connections are refused until {@link comeUp}. */
  goDown(): Promise<void>;
  /** Listens again, on the same port. */
  comeUp(): Promise<void>;
  close(): Promise<void>;
}

type Check<T> = (req: IncomingMessage, path: string, raw: string) => { ok: true; body: T; status: number; answer: string; type: string } | { ok: false; status: number; answer: string; type: string; reason: string };

async function startFake<T>(check: Check<T>): Promise<FakeService<T>> {
  const received: Array<Received<T>> = [];
  const invalid: string[] = [];
  const faults: Array<number | 'hang'> = [];
  const arrivalTimes: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrivalTimes.push(at);
      const fault = faults.shift();
      if (fault === 'hang') return;
      if (fault !== undefined) {
        res.writeHead(fault, { 'content-type': 'text/plain' });
        res.end(`injected failure ${fault}`);
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const result = check(req, url.pathname + url.search, Buffer.concat(chunks).toString('utf8'));
      if (result.ok) received.push({ body: result.body, headers: req.headers, path: url.pathname + url.search, at });
      else invalid.push(result.reason);
      res.writeHead(result.status, { 'content-type': result.type });
      res.end(result.answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    invalid,
    get arrivals() {
      return arrivalTimes.length;
    },
    arrivalTimes,
    failNext(count, status) {
      for (let i = 0; i < count; i++) faults.push(status);
    },
    hangNext(count) {
      for (let i = 0; i < count; i++) faults.push('hang');
    },
    goDown: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
    comeUp: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const parseJson = (raw: string): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
};

/** The secret path of the fake Slack webhook (as hooks.slack.com/services/T…/B…/…). */
export const SLACK_WEBHOOK_PATH = '/services/T0PANEL/B0SYNC/s3cretSlackPathXyz';

/** A Slack incoming webhook at {@link SLACK_WEBHOOK_PATH}: JSON with a non-empty `text`; answers `200 ok`. */
export function startFakeSlack(): Promise<FakeService<{ text: string; blocks?: Array<Record<string, unknown>> }>> {
  return startFake((req, path, raw) => {
    const refuse = (status: number, answer: string, reason: string) => ({ ok: false as const, status, answer, type: 'text/plain', reason });
    if (path !== SLACK_WEBHOOK_PATH) return refuse(404, 'no_service', `unknown path ${path}`);
    if (req.method !== 'POST') return refuse(405, 'invalid_method', `method ${req.method}`);
    if (!req.headers['content-type']?.startsWith('application/json')) return refuse(400, 'invalid_payload', `content-type ${req.headers['content-type']}`);
    const body = parseJson(raw);
    if (!isRecord(body) || typeof body.text !== 'string' || body.text === '') return refuse(400, 'invalid_payload', 'no text');
    if (body.blocks !== undefined) {
      const blocks = body.blocks;
      if (!Array.isArray(blocks) || blocks.some((b) => !isRecord(b) || typeof b.type !== 'string')) return refuse(400, 'invalid_blocks', 'bad blocks');
      for (const b of blocks as Array<Record<string, unknown>>) {
        const text = isRecord(b.text) ? b.text.text : undefined;
        if (b.type === 'section' && (typeof text !== 'string' || text.length > 3000)) return refuse(400, 'invalid_blocks', 'section text missing or over 3000');
      }
    }
    return { ok: true, body: body as { text: string; blocks?: Array<Record<string, unknown>> }, status: 200, answer: 'ok', type: 'text/plain' };
  });
}

/** An Events API v2 event as received. */
export interface PagerDutyEventBody {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: { summary: string; source: string; severity: string; custom_details?: Record<string, unknown> };
  links?: Array<{ href: string; text?: string }>;
}

/** PagerDuty Events API v2 at `/v2/enqueue` for `routingKey`; answers `202` like the real one. */
export function startFakePagerDuty(routingKey: string): Promise<FakeService<PagerDutyEventBody>> {
  return startFake((req, path, raw) => {
    const refuse = (status: number, reason: string) => ({
      ok: false as const,
      status,
      answer: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: [reason] }),
      type: 'application/json',
      reason,
    });
    if (path !== '/v2/enqueue' || req.method !== 'POST') return refuse(404, `${req.method} ${path}`);
    if (!req.headers['content-type']?.startsWith('application/json')) return refuse(400, 'content-type must be application/json');
    const body = parseJson(raw);
    if (!isRecord(body)) return refuse(400, 'not a JSON object');
    if (body.routing_key !== routingKey) return refuse(400, 'Invalid routing key');
    if (!['trigger', 'acknowledge', 'resolve'].includes(body.event_action as string)) return refuse(400, "'event_action' is invalid");
    if (typeof body.dedup_key !== 'string' || body.dedup_key === '' || body.dedup_key.length > 255) return refuse(400, "'dedup_key' is missing or longer than 255");
    if (body.event_action === 'trigger') {
      const p = body.payload;
      if (!isRecord(p)) return refuse(400, "'payload' is missing");
      if (typeof p.summary !== 'string' || p.summary === '' || p.summary.length > 1024) return refuse(400, "'payload.summary' is missing or longer than 1024");
      if (typeof p.source !== 'string' || p.source === '') return refuse(400, "'payload.source' is missing");
      if (!['critical', 'error', 'warning', 'info'].includes(p.severity as string)) return refuse(400, "'payload.severity' is invalid");
    }
    if (raw.length > 512 * 1024) return refuse(400, 'over 512 KB');
    return {
      ok: true,
      body: body as unknown as PagerDutyEventBody,
      status: 202,
      answer: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: body.dedup_key }),
      type: 'application/json',
    };
  });
}

/** A Twilio message as received (the form fields). */
export interface TwilioMessageBody {
  To: string;
  From: string;
  Body: string;
}

/** Twilio's Messages resource for one account, with basic auth `sid:token`; answers `201`. */
export function startFakeTwilio(accountSid: string, authToken: string): Promise<FakeService<TwilioMessageBody>> {
  return startFake((req, path, raw) => {
    const refuse = (status: number, code: number, message: string) => ({
      ok: false as const,
      status,
      answer: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
      type: 'application/json',
      reason: message,
    });
    if (path !== `/2010-04-01/Accounts/${accountSid}/Messages.json` || req.method !== 'POST') return refuse(404, 20404, `${req.method} ${path} not found`);
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return refuse(401, 20003, 'Authenticate');
    if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return refuse(400, 21606, 'form-encoded body expected');
    const form = new URLSearchParams(raw);
    const to = form.get('To');
    const from = form.get('From');
    const text = form.get('Body');
    if (to === null || !/^\+[1-9]\d{1,14}$/.test(to)) return refuse(400, 21211, "The 'To' number is not a valid phone number.");
    if (from === null || from === '') return refuse(400, 21603, "A 'From' phone number is required.");
    if (text === null || text === '') return refuse(400, 21602, 'Message body is required.');
    if (text.length > 1600) return refuse(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    const body = { To: to, From: from, Body: text };
    return {
      ok: true,
      body,
      status: 201,
      answer: JSON.stringify({ sid: `SM${Math.random().toString(16).slice(2).padEnd(32, '0')}`, status: 'queued', to, from, body: text }),
      type: 'application/json',
    };
  });
}

/** A generic webhook receiver that wants `X-Token: token` and a JSON body; answers `204`. */
export function startFakeWebhook(token: string): Promise<FakeService<Record<string, unknown>>> {
  return startFake((req, _path, raw) => {
    if (req.method !== 'POST') return { ok: false, status: 405, answer: '', type: 'text/plain', reason: `method ${req.method}` };
    if (req.headers['x-token'] !== token) return { ok: false, status: 401, answer: 'bad token', type: 'text/plain', reason: 'bad X-Token' };
    const body = parseJson(raw);
    if (!req.headers['content-type']?.startsWith('application/json') || !isRecord(body)) {
      return { ok: false, status: 400, answer: 'JSON expected', type: 'text/plain', reason: 'not JSON' };
    }
    return { ok: true, body, status: 204, answer: '', type: 'text/plain' };
  });
}

/** One email as the SMTP server got it. */
export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  /** The text body, decoded from quoted-printable. */
  text: string;
  raw: string;
}

/** A real SMTP server (smtp-server) that wants AUTH `user`/`pass`, without TLS. */
export interface FakeSmtp {
  url: string;
  port: number;
  received: ReceivedEmail[];
  /** Logins refused. */
  refusedLogins: number;
  close(): Promise<void>;
}

export async function startFakeSmtp(user: string, pass: string): Promise<FakeSmtp> {
  const received: ReceivedEmail[] = [];
  let refusedLogins = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === pass) return callback(null, { user });
      refusedLogins++;
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
        const headers = head.replace(/\r?\n[ \t]+/g, ' ');
        const subject = decodeHeader(/^Subject: (.*)$/im.exec(headers)?.[1] ?? '');
        const qp = /^Content-Transfer-Encoding: quoted-printable$/im.test(headers);
        const body = rest.join('\n\n');
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject,
          text: qp ? decodeQuotedPrintable(body) : body,
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}`,
    port,
    received,
    get refusedLogins() {
      return refusedLogins;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text
    .replace(/%/g, '%25')
    .replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`);
  try {
    return decodeURIComponent(bytes);
  } catch {
    return bytes;
  }
}

/** `=?UTF-8?Q?…?=` / `=?UTF-8?B?…?=` encoded words, joined. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}
