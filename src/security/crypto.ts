import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets at rest: AES-256-GCM with the keys of HOOKLINE_ENCRYPTION_KEY. A stored value is either plaintext (written
 * before a key was set) or `enc:v1:<keyId>:<base64 of iv | ciphertext | tag>`; the key id says which key decrypts
 * it, so keys can be rotated: the first key encrypts, every key decrypts.
 */

const PREFIX = 'enc:v1:';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A stored secret that cannot be read with the configured keys. The message never holds the value. */
export class DecryptError extends Error {}

/** The configured keys. The key material is kept in private fields, so it never shows up when logged or printed. */
export class Keyring {
  readonly #keys: ReadonlyMap<string, Buffer>;
  /** The key new values are encrypted with; undefined when no key is configured (values are stored as given). */
  readonly currentKeyId: string | undefined;

  constructor(keys: { id: string; key: Buffer }[]) {
    this.#keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.currentKeyId = keys[0]?.id;
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  has(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  /** The stored form of `plaintext`: encrypted with the current key, or as it is when there is no key. */
  encrypt(plaintext: string): string {
    const keyId = this.currentKeyId;
    if (keyId === undefined) return plaintext;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(keyId)!, iv);
    // The header is authenticated too, so a value cannot be relabelled with another key id unnoticed.
    cipher.setAAD(Buffer.from(`${PREFIX}${keyId}`));
    const sealed = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${keyId}:${sealed.toString('base64')}`;
  }

  /** The plaintext of a stored value; plaintext (no prefix) is returned as it is. Throws DecryptError. */
  decrypt(stored: string): string {
    const keyId = storedKeyId(stored);
    if (keyId === undefined) return stored;
    const key = this.#keys.get(keyId);
    if (!key) throw new DecryptError(`cannot decrypt: key id "${keyId}" not configured in HOOKLINE_ENCRYPTION_KEY`);
    const sealed = Buffer.from(stored.slice(PREFIX.length + keyId.length + 1), 'base64');
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptError(`cannot decrypt: malformed value (key id "${keyId}")`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`${PREFIX}${keyId}`));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new DecryptError(`cannot decrypt: the value does not authenticate with key id "${keyId}" (wrong key?)`);
    }
  }

  /** Whether a stored value is as it should be: under the current key (or, with no key, anything). */
  isCurrent(stored: string): boolean {
    return this.currentKeyId === undefined || storedKeyId(stored) === this.currentKeyId;
  }

  /** The prefix every value encrypted with the current key starts with (for finding the others in SQL). */
  get currentPrefix(): string | undefined {
    return this.currentKeyId === undefined ? undefined : `${PREFIX}${this.currentKeyId}:`;
  }
}

/** The key id of a stored value, or undefined when it is plaintext. */
export function storedKeyId(stored: string): string | undefined {
  if (!stored.startsWith(PREFIX)) return undefined;
  const end = stored.indexOf(':', PREFIX.length);
  return end < 0 ? undefined : stored.slice(PREFIX.length, end);
}

/**
 * Parses HOOKLINE_ENCRYPTION_KEY: `<keyId>:<base64 of 32 bytes>`, comma-separated, the current key first. Throws an
 * Error whose message names the bad entry by position and key id, never its key.
 */
export function parseKeyring(value: string): Keyring {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const keys = entries.map((entry, i) => {
    const where = `entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`${where} is not <keyId>:<base64 of 32 bytes>`);
    const id = entry.slice(0, colon);
    const base64 = entry.slice(colon + 1);
    if (!KEY_ID.test(id)) throw new Error(`${where}: the key id must be 1 to 32 letters, digits, "_" or "-"`);
    const key = Buffer.from(base64, 'base64');
    // Buffer.from ignores stray characters; re-encoding tells whether the text was exact base64.
    if (key.toString('base64') !== base64 || key.length !== 32) {
      throw new Error(`key id "${id}": the key must be base64 of exactly 32 bytes (openssl rand -base64 32)`);
    }
    return { id, key };
  });
  const ids = keys.map((k) => k.id);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new Error(`key id "${duplicate}" is given twice`);
  return new Keyring(keys);
}
