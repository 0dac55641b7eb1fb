import { readFileSync } from 'node:fs';
import type { KeyValue } from '../../schema/db/enums.js';
import type { Keyring } from '../security/crypto.js';
import { isCredentialName, REDACTED } from '../security/redact.js';
import { decryptJobSecrets } from '../webhooks/secret.js';
import type { DeliveryJob } from './job.js';
import { renderBody } from './render.js';
import { signatureHeaders } from './sign.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const USER_AGENT = `Hookline/${VERSION}`;

/** One HTTP request exactly as an attempt sends it. */
export interface BuiltRequest {
  method: DeliveryJob['endpoint']['method'];
  url: URL;
  headers: KeyValue[];
  /** null for GET. */
  body: string | null;
}

/**
 * The request an HTTP attempt sends for this job at `now`: the one place it is built, shared by the Sender and
 * previewRequest, so a preview is the real request by construction. The job's secrets are as stored; they are
 * decrypted here, so that plaintext secrets live only as long as the request. Throws RenderError when the body
 * template fails, DecryptError when a secret's key is not configured, and an Error when the endpoint has no URL.
 */
export async function buildRequest(job: DeliveryJob, now: Date, keyring: Keyring): Promise<BuiltRequest> {
  const url = endpointUrl(job.endpoint);
  const body = await renderBody(job);
  return { method: job.endpoint.method, url, headers: requestHeaders(decryptJobSecrets(keyring, job), body, now), body };
}

function endpointUrl(endpoint: DeliveryJob['endpoint']): URL {
  if (!endpoint.url) throw new Error('the endpoint has no URL');
  const url = new URL(endpoint.url);
  for (const { key, value } of endpoint.queryParams) url.searchParams.append(key, value);
  return url;
}

/**
 * The headers as sent, in order: the webhook's, then the endpoint's custom headers (a later one with the same
 * name replaces an earlier one), then what Hookline itself sets and a custom header cannot replace: content-type
 * (not on GET, which has no body), user-agent, the endpoint's receiver auth and the Standard Webhooks signature.
 */
function requestHeaders(job: DeliveryJob, body: string | null, now: Date): KeyValue[] {
  const { webhook, endpoint } = job;
  const headers = new Map<string, KeyValue>();
  const set = (key: string, value: string) => headers.set(key.toLowerCase(), { key, value });
  for (const { key, value } of [...webhook.headers, ...endpoint.headers]) set(key, value);
  if (body !== null) set('content-type', endpoint.contentType);
  else headers.delete('content-type');
  set('user-agent', USER_AGENT);
  const auth = endpoint.auth;
  if (auth?.apiKey) set(apiKeyHeaderOf(endpoint), auth.apiKey);
  if (auth?.bearerToken) set('authorization', `Bearer ${auth.bearerToken}`);
  else if (auth?.basicUser) {
    set('authorization', `Basic ${Buffer.from(`${auth.basicUser}:${auth.basicPassword ?? ''}`).toString('base64')}`);
  }
  for (const [key, value] of Object.entries(signatureHeaders(webhook, job.event.id, body ?? '', now))) set(key, value);
  return [...headers.values()];
}

function apiKeyHeaderOf(endpoint: DeliveryJob['endpoint']): string {
  return endpoint.auth?.apiKeyHeader || 'x-api-key';
}

/**
 * The headers with every credential replaced: the endpoint's auth (Authorization, its API-key header, whatever it
 * is named) and custom headers whose names mark a credential (X-Api-Key, Cookie, X-Auth-Token, …). This is what
 * stored attempts and request previews show, since credentials are write-only.
 */
export function redactCredentials(headers: KeyValue[], endpoint: DeliveryJob['endpoint']): KeyValue[] {
  const apiKeyHeader = endpoint.auth?.apiKey ? apiKeyHeaderOf(endpoint).toLowerCase() : undefined;
  return headers.map((h) =>
    isCredentialName(h.key) || h.key.toLowerCase() === apiKeyHeader ? { key: h.key, value: REDACTED } : h,
  );
}
