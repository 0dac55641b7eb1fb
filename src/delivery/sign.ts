import { Webhook } from 'standardwebhooks';

export interface SigningSecrets {
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

/**
 * Standard Webhooks headers for one request. `webhook-id` is the event's id, so a receiver can de-duplicate
 * retries and replays. While a rotated-out secret is still within its overlap, the body is signed with both the
 * new and the old secret (space-separated), so receivers can switch secrets at their own pace.
 */
export function signatureHeaders(
  secrets: SigningSecrets,
  eventId: string,
  body: string,
  now: Date,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  const keys = [secrets.secret];
  if (secrets.previousSecret && secrets.previousSecretExpiresAt && secrets.previousSecretExpiresAt > now) {
    keys.push(secrets.previousSecret);
  }
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': keys.map((key) => signer(key).sign(eventId, now, body)).join(' '),
  };
}

/** A Webhook decodes its secret when made: one per secret is kept rather than one made per signature. */
const signers = new Map<string, Webhook>();

function signer(secret: string): Webhook {
  let webhook = signers.get(secret);
  if (!webhook) {
    if (signers.size >= 1000) signers.clear(); // secrets rotate: old ones must not pile up
    signers.set(secret, (webhook = new Webhook(secret)));
  }
  return webhook;
}
