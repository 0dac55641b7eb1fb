/** What counts as a credential wherever values are shown or logged: attempt records, request previews, logs. */

export const REDACTED = '[redacted]';

/**
 * Names (header names, object keys) whose values are credentials: Authorization, X-Api-Key, Cookie, X-Auth-Token,
 * Ocp-Apim-Subscription-Key, secret, basicPassword, an `auth` object, … Matched loosely (case, `-` and `_`
 * ignored; any part of the name) because a custom header can be named anything: hiding a harmless value is cheap,
 * showing a credential is not.
 */
const CREDENTIAL_NAME =
  /auth|apikey|accesskey|privatekey|signingkey|subscriptionkey|encryptionkey|token|secret|passw|cookie|credential/;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name.toLowerCase().replace(/[^a-z0-9]/g, ''));
}
