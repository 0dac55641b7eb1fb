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
    'webhook-signature': keys.map((key) => new Webhook(key).sign(eventId, now, body)).join(' '),
  };
}
