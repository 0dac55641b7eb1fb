/**
 * Signing secrets are shown once, on the page opened right after creating or rotating: they are handed over in
 * memory, never in the URL or storage, and taken (removed) when shown.
 */
const pending = new Map<string, string>();

export function revealSecret(webhookId: string, secret: string) {
  pending.set(webhookId, secret);
}

export function takeSecret(webhookId: string): string | undefined {
  const secret = pending.get(webhookId);
  pending.delete(webhookId);
  return secret;
}
