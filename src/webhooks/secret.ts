import { randomBytes } from 'node:crypto';
import type { EndpointAuth } from '../../schema/db/webhooks.js';
import type { Keyring } from '../security/crypto.js';

/** A new signing secret in the Standard Webhooks form: `whsec_` + base64 of 24 random bytes. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Why a supplied secret is unusable, or undefined when it is `whsec_` + canonical base64 of 24..64 bytes. */
export function secretProblem(secret: string): string | undefined {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!match) return 'must be "whsec_" followed by base64';
  const bytes = Buffer.from(match[1], 'base64');
  // Buffer.from ignores bad padding and stray bits; re-encoding shows whether the text was exact base64.
  if (bytes.toString('base64') !== match[1]) return 'is not valid (padded) base64 after "whsec_"';
  if (bytes.length < 24 || bytes.length > 64) return `must encode 24 to 64 bytes, not ${bytes.length}`;
  return undefined;
}

/** The stored columns that hold a webhook's signing secrets (encrypted when HOOKLINE_ENCRYPTION_KEY is set). */
interface StoredSigningSecrets {
  secret: string;
  previousSecret: string | null;
}

/** The receiver credentials that are secret; the rest of EndpointAuth (apiKeyHeader, basicUser) is not. */
export const AUTH_SECRET_FIELDS = ['apiKey', 'bearerToken', 'basicPassword'] as const;

/** Endpoint credentials as stored: the secret fields encrypted in place. An empty password stays empty. */
export function encryptAuth(keyring: Keyring, auth: EndpointAuth | null): EndpointAuth | null {
  return mapAuthSecrets(auth, (value) => keyring.encrypt(value));
}

/** Endpoint credentials as sent. Throws DecryptError when a value's key is not configured. */
export function decryptAuth(keyring: Keyring, auth: EndpointAuth | null): EndpointAuth | null {
  return mapAuthSecrets(auth, (value) => keyring.decrypt(value));
}

function mapAuthSecrets(auth: EndpointAuth | null, map: (value: string) => string): EndpointAuth | null {
  if (!auth) return auth;
  const mapped = { ...auth };
  for (const field of AUTH_SECRET_FIELDS) {
    const value = mapped[field];
    if (value) mapped[field] = map(value);
  }
  return mapped;
}

/** A webhook (row or job part) with its signing secrets decrypted. Throws DecryptError. */
function decryptWebhookSecrets<T extends StoredSigningSecrets>(keyring: Keyring, webhook: T): T {
  return {
    ...webhook,
    secret: keyring.decrypt(webhook.secret),
    previousSecret: webhook.previousSecret === null ? null : keyring.decrypt(webhook.previousSecret),
  };
}

/**
 * A delivery job (or anything shaped like one: testEndpoint, previewRequest) with the webhook's secrets and the
 * endpoint's credentials decrypted, for building the request. Throws DecryptError.
 */
export function decryptJobSecrets<J extends { webhook: StoredSigningSecrets; endpoint: { auth: EndpointAuth | null } }>(
  keyring: Keyring,
  job: J,
): J {
  return {
    ...job,
    webhook: decryptWebhookSecrets(keyring, job.webhook),
    endpoint: { ...job.endpoint, auth: decryptAuth(keyring, job.endpoint.auth) },
  };
}
