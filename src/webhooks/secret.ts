import { randomBytes } from 'node:crypto';

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
