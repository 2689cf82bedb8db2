/**
 * The one redaction of secrets (src/http/redact.ts), issue 11 items 12-13: every encoded form of
 * every secret is replaced (raw, URL- and form-encoded, JSON-escaped, base64 and base64url, inside
 * a longer base64 text such as HTTP Basic's `user:secret`), and a short secret never garbles a
 * message: it is replaced only where it stands as a whole token.
 */
import { describe, expect, it } from 'vitest';
import { validateProject } from '../../src/config/validate-project.ts';
import { MIN_SUBSTRING_SECRET_LENGTH, redact } from '../../src/http/redact.ts';
import { scrubPassword } from '../../src/sources/redact-url.ts';

const SECRET = 'tok+en/Sécret=42';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('every encoded form of a secret', () => {
  it('replaces the secret as written, URL-encoded, form-encoded, JSON-escaped, base64 and base64url', () => {
    const forms = [
      SECRET,
      encodeURIComponent(SECRET),
      new URLSearchParams({ k: SECRET }).toString().slice(2),
      JSON.stringify(SECRET).slice(1, -1),
      b64(SECRET),
      b64(SECRET).replace(/=+$/, ''),
      Buffer.from(SECRET).toString('base64url'),
    ];
    for (const form of forms) {
      const out = redact(`before ${form} after`, [SECRET]);
      expect(out, form).toBe('before [REDACTED] after');
    }
  });

  it('finds the secret inside the base64 of a longer text, whatever its byte alignment', () => {
    for (const prefix of ['AC1:', 'AC12:', 'AC123:']) {
      const basic = b64(`${prefix}${SECRET}`);
      const out = redact(`Authorization: Basic ${basic}`, [SECRET]);
      // Only the characters that encode the prefix (one of them shared with the secret) are left.
      const left = out.replace('Authorization: Basic ', '').replace('[REDACTED]', '');
      expect(out, prefix).toMatch(/\[REDACTED\]$/);
      expect(left.length, prefix).toBeLessThanOrEqual(Math.ceil((prefix.length * 4) / 3));
      // Followed by more text, at most one more character (shared with what follows) is left.
      const inside = redact(b64(`${prefix}${SECRET}!more text`), [SECRET]);
      expect(inside, prefix).toContain('[REDACTED]');
      expect(inside.replace('[REDACTED]', '').length, prefix).toBeLessThanOrEqual(Math.ceil((prefix.length * 4) / 3) + b64('!more text').length + 1);
    }
  });

  it("Twilio's Basic credentials (base64 of account_sid:auth_token) are replaced whole: the pair is one of the project's secrets", () => {
    const { project, issues } = validateProject(
      {
        version: 1,
        sources: { db: { type: 'sqlite', path: 'x.sqlite' } },
        destinations: { panel: { type: 'user-interviews', api_key: '${UI_API_KEY}', environment: 'production' } },
        models: { m: { source: 'db', primary_key: 'id', sql: 'SELECT 1 AS id' } },
        syncs: { s: { model: 'm', destination: 'panel', match: 'email', mappings: [] } },
        alerts: {
          channels: { sms: { type: 'sms', provider: 'twilio', account_sid: 'AC0123456789abcdef', auth_token: '${TWILIO_TOKEN}', from: '+15550100', to: ['+15550199'] } },
        },
      },
      { UI_API_KEY: 'ui-key-0123456789', TWILIO_TOKEN: 'twilio-token-9f8e7d' },
    );
    expect(issues).toEqual([]);
    const basic = b64('AC0123456789abcdef:twilio-token-9f8e7d');
    const text = `POST https://api.twilio.com failed; sent "Authorization: Basic ${basic}"`;
    expect(redact(text, project!.secrets)).toBe('POST https://api.twilio.com failed; sent "Authorization: Basic [REDACTED]"');
  });
});

describe('short secrets', () => {
  it(`a secret shorter than ${MIN_SUBSTRING_SECRET_LENGTH} characters never garbles a message...`, () => {
    const message = 'database "analytics" does not exist';
    expect(redact(message, ['e'])).toBe(message);
    expect(redact(message, ['es'])).toBe(message);
    expect(scrubPassword(message, 'postgres://reader:e@db.internal/analytics')).toBe(message);
  });

  it('...and never shows where it stands as a whole token', () => {
    expect(redact('connect as reader:e@db failed', ['e'])).toBe('connect as reader:[REDACTED]@db failed');
    expect(redact('password=e', ['e'])).toBe('password=[REDACTED]');
    expect(redact('"e"', ['e'])).toBe('"[REDACTED]"');
    expect(redact('key abc1 rejected', ['abc1'])).toBe('key [REDACTED] rejected');
    expect(redact('Basic ZQ==', ['e'])).toBe('Basic [REDACTED]');
    expect(scrubPassword('password authentication failed for e', 'postgres://reader:e@db.internal/analytics')).toBe(
      'password authentication failed for ***',
    );
    // A secret of 8 characters or more is replaced wherever it appears, even inside a word.
    expect(redact('xxsecret-1234yy', ['secret-1234'])).toBe('xx[REDACTED]yy');
  });
});
