import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { DecryptError, Keyring, parseKeyring, storedKeyId } from '../../src/security/crypto.js';
import { decryptAuth, decryptJobSecrets, encryptAuth } from '../../src/webhooks/secret.js';
import { capturedLogs } from '../helpers/logs.js';

const keyText = () => randomBytes(32).toString('base64');

describe('Keyring (AES-256-GCM)', () => {
  const old = `old:${keyText()}`;
  const current = `new:${keyText()}`;

  it('encrypts with the first key into enc:v1:<keyId>:…, a fresh IV each time, and decrypts back', () => {
    const keyring = parseKeyring(`${current},${old}`);
    const a = keyring.encrypt('whsec_c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0');
    const b = keyring.encrypt('whsec_c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0');
    expect(a).toMatch(/^enc:v1:new:[A-Za-z0-9+/]+=*$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('c2VjcmV0');
    expect(keyring.decrypt(a)).toBe('whsec_c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0');
    expect(keyring.decrypt(b)).toBe(keyring.decrypt(a));
    expect(keyring.encrypt('')).toMatch(/^enc:v1:new:/);
    expect(keyring.decrypt(keyring.encrypt('ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('decrypts values of an older key by their key id (rotation), and reads plaintext as it is', () => {
    const before = parseKeyring(old);
    const stored = before.encrypt('api-key-1');
    const rotated = parseKeyring(`${current},${old}`);
    expect(storedKeyId(stored)).toBe('old');
    expect(rotated.isCurrent(stored)).toBe(false);
    expect(rotated.decrypt(stored)).toBe('api-key-1');
    expect(rotated.isCurrent(rotated.encrypt('x'))).toBe(true);
    expect(rotated.decrypt('plain-from-before-the-key')).toBe('plain-from-before-the-key');
    expect(rotated.isCurrent('plain-from-before-the-key')).toBe(false);
  });

  it('fails clearly on an unknown key id, a wrong key under a known id, and a tampered value', () => {
    const stored = parseKeyring(old).encrypt('bearer-1');
    expect(() => parseKeyring(current).decrypt(stored)).toThrow(
      new DecryptError('cannot decrypt: key id "old" not configured in HOOKLINE_ENCRYPTION_KEY'),
    );
    expect(() => parseKeyring(`old:${keyText()}`).decrypt(stored)).toThrow(/does not authenticate with key id "old"/);
    const raw = Buffer.from(stored.slice('enc:v1:old:'.length), 'base64');
    raw[15] ^= 1;
    expect(() => parseKeyring(old).decrypt(`enc:v1:old:${raw.toString('base64')}`)).toThrow(DecryptError);
    // The key id is authenticated: a value relabelled to another id that has the same key does not open.
    const [, keyMaterial] = old.split(':');
    const twins = parseKeyring(`old:${keyMaterial},twin:${keyMaterial}`);
    expect(() => twins.decrypt(stored.replace('enc:v1:old:', 'enc:v1:twin:'))).toThrow(DecryptError);
  });

  it('without a key stores values as they are', () => {
    const none = new Keyring([]);
    expect(none.currentKeyId).toBeUndefined();
    expect(none.encrypt('whsec_abc')).toBe('whsec_abc');
    expect(none.isCurrent('whsec_abc')).toBe(true);
  });

  it('never shows its keys when printed or serialised', () => {
    const material = keyText();
    const keyring = parseKeyring(`k1:${material}`);
    expect(JSON.stringify(keyring)).not.toContain(material);
    expect(inspect(keyring, { depth: 10, showHidden: true })).not.toContain(material);
    expect(keyring.keyIds).toEqual(['k1']);
  });

  it('encrypts and decrypts the secret fields of endpoint credentials in place, leaving the rest readable', () => {
    const keyring = parseKeyring(current);
    const auth = encryptAuth(keyring, { basicUser: 'bob', basicPassword: 'pw-1' })!;
    expect(auth.basicUser).toBe('bob');
    expect(auth.basicPassword).toMatch(/^enc:v1:new:/);
    expect(decryptAuth(keyring, auth)).toEqual({ basicUser: 'bob', basicPassword: 'pw-1' });
    expect(encryptAuth(keyring, { basicUser: 'bob', basicPassword: '' })).toEqual({ basicUser: 'bob', basicPassword: '' });
    expect(encryptAuth(keyring, null)).toBeNull();
    const job = {
      webhook: { id: 'wh_1', secret: keyring.encrypt('whsec_a'), previousSecret: keyring.encrypt('whsec_b') },
      endpoint: { id: 'ep_1', auth: encryptAuth(keyring, { apiKey: 'k', apiKeyHeader: 'x-key' }) },
    };
    const open = decryptJobSecrets(keyring, job);
    expect(open.webhook).toEqual({ id: 'wh_1', secret: 'whsec_a', previousSecret: 'whsec_b' });
    expect(open.endpoint).toEqual({ id: 'ep_1', auth: { apiKey: 'k', apiKeyHeader: 'x-key' } });
    expect(job.webhook.secret).toMatch(/^enc:v1:/); // the stored job itself is left as it was
  });
});

describe('HOOKLINE_ENCRYPTION_KEY', () => {
  const problem = (value: string): string => {
    try {
      parseConfig({ HOOKLINE_ENCRYPTION_KEY: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error(`accepted ${value}`);
  };

  it('gives a keyring with the first key current; unset or empty gives none', () => {
    const config = parseConfig({ HOOKLINE_ENCRYPTION_KEY: ` b:${keyText()} , a:${keyText()} ` });
    expect(config.HOOKLINE_ENCRYPTION_KEY.currentKeyId).toBe('b');
    expect(config.HOOKLINE_ENCRYPTION_KEY.keyIds).toEqual(['b', 'a']);
    expect(parseConfig({}).HOOKLINE_ENCRYPTION_KEY.currentKeyId).toBeUndefined();
    expect(parseConfig({ HOOKLINE_ENCRYPTION_KEY: '  ' }).HOOKLINE_ENCRYPTION_KEY.currentKeyId).toBeUndefined();
  });

  it('refuses bad keys with a message naming the variable, and never the key', () => {
    const short = randomBytes(16).toString('base64');
    const message = problem(`k1:${short}`);
    expect(message).toContain('HOOKLINE_ENCRYPTION_KEY');
    expect(message).toContain('exactly 32 bytes');
    expect(message).not.toContain(short);
    expect(problem(keyText())).toContain('HOOKLINE_ENCRYPTION_KEY: entry 1 is not <keyId>:<base64 of 32 bytes>');
    expect(problem(`k1:${keyText()},k1:${keyText()}`)).toContain('key id "k1" is given twice');
    expect(problem(`bad id:${keyText()}`)).toContain('entry 1: the key id must be');
    expect(problem(`k1:not base64!!`)).toContain('base64 of exactly 32 bytes');
  });
});

describe('logger', () => {
  it('scrubs secrets at any depth: error fields (a job), header pairs, auth objects and secret-looking text', () => {
    const { logger, text } = capturedLogs('debug');
    const job: Record<string, unknown> = {
      webhook: { id: 'wh_1', secret: 'whsec_AAAA1111', previousSecret: 'whsec_BBBB2222', headers: [{ key: 'X-Api-Key', value: 'hdr-3333' }] },
      endpoint: { id: 'ep_1', auth: { apiKey: 'key-4444', bearerToken: 'tok-5555', basicUser: 'bob', basicPassword: 'pw-6666' } },
    };
    job.self = job; // cycles are cut, not followed
    const err = Object.assign(new Error('send failed with Authorization: Bearer tok-7777 for whsec_CCCC3333'), { job });
    logger.error({ err, delivery: 'dlv_1' }, 'delivery attempt crashed');
    logger.debug({ headers: { authorization: 'Basic Ym9iOnB3', cookie: 'sid=8888' }, list: [job.endpoint] }, 'debug');
    const out = text();
    for (const secret of ['AAAA1111', 'BBBB2222', 'hdr-3333', 'key-4444', 'tok-5555', 'pw-6666', 'tok-7777', 'CCCC3333', 'Ym9iOnB3', '8888']) {
      expect(out).not.toContain(secret);
    }
    // What is not secret is still there to debug with.
    const [first] = out.trim().split('\n').map((line) => JSON.parse(line));
    expect(first).toMatchObject({ level: 50, delivery: 'dlv_1', msg: 'delivery attempt crashed' });
    expect(first.err.type).toBe('Error');
    expect(first.err.job.webhook).toMatchObject({ id: 'wh_1', secret: '[redacted]', headers: [{ key: 'X-Api-Key', value: '[redacted]' }] });
    expect(first.err.job.endpoint).toEqual({ id: 'ep_1', auth: '[redacted]' });
    expect(first.err.job.self).toBe('[Circular]');
    // The logged objects themselves are untouched.
    expect((job.webhook as { secret: string }).secret).toBe('whsec_AAAA1111');
  });
});
