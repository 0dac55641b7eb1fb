import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createWebhook, openSql, tablesFingerprint } from '../helpers/webhook-fixtures.js';

let t: TestApp;
let sql: ReturnType<typeof openSql>;
let webhookId: string;
let endpointId: string;
beforeAll(async () => {
  t = await startTestApp();
  sql = openSql(t.database.url);
  const { webhook } = await createWebhook(t.gql, {
    name: 'target of updates',
    endpoints: [{ url: 'http://127.0.0.1:9/hook' }],
    triggers: [{ resource: 'order', event: 'created' }],
  });
  webhookId = webhook.id;
  endpointId = webhook.endpoints[0].id;
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const fingerprint = () => tablesFingerprint(sql);

const MUTATIONS = {
  createWebhook: `mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }`,
  updateWebhook: `mutation ($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { id } } }`,
  createEndpoint: `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { id } }`,
  updateEndpoint: `mutation ($input: UpdateEndpointInput!) { updateEndpoint(input: $input) { id } }`,
  createTrigger: `mutation ($input: CreateTriggerInput!) { createTrigger(input: $input) { id } }`,
};
type Mutation = keyof typeof MUTATIONS;

const b64 = (bytes: number) => Buffer.alloc(bytes, 1).toString('base64');
const endpoint = (fields: Record<string, unknown>) => ({ name: 'n', endpoints: [{ url: 'http://127.0.0.1:9/', ...fields }] });
const trigger = (fields: Record<string, unknown>) => ({ name: 'n', triggers: [{ resource: 'a', event: 'b', ...fields }] });
const twentyOne = Array.from({ length: 21 }, (_, i) => `user${i}@example.com`);

/** [what, mutation, input (ids added per mutation), the field the error must name] */
const BAD: [string, Mutation, Record<string, unknown>, string][] = [
  ['empty name', 'createWebhook', { name: '' }, 'input.name'],
  ['blank name', 'createWebhook', { name: '   ' }, 'input.name'],
  ['name of 201 characters', 'createWebhook', { name: 'x'.repeat(201) }, 'input.name'],
  ['name with NUL', 'createWebhook', { name: 'a\u0000b' }, 'input.name'],
  ['description of 2001 characters', 'createWebhook', { name: 'n', description: 'x'.repeat(2001) }, 'input.description'],
  ['secret without prefix', 'createWebhook', { name: 'n', secret: b64(32) }, 'input.secret'],
  ['secret of 16 bytes', 'createWebhook', { name: 'n', secret: `whsec_${b64(16)}` }, 'input.secret'],
  ['secret of 65 bytes', 'createWebhook', { name: 'n', secret: `whsec_${b64(65)}` }, 'input.secret'],
  ['secret not base64', 'createWebhook', { name: 'n', secret: 'whsec_not base64!' }, 'input.secret'],
  ['reserved webhook header', 'createWebhook', { name: 'n', headers: [{ key: 'Webhook-Signature', value: 'v1,x' }] }, 'input.headers[0].key'],
  ['invalid header name', 'createWebhook', { name: 'n', headers: [{ key: 'bad header', value: 'x' }] }, 'input.headers[0].key'],
  ['header value with a line break', 'createWebhook', { name: 'n', headers: [{ key: 'X-A', value: 'a\r\nX-B: b' }] }, 'input.headers[0].value'],
  ['properties that are an array', 'createWebhook', { name: 'n', properties: [1, 2] }, 'input.properties'],
  ['properties that are a string', 'createWebhook', { name: 'n', properties: 'text' }, 'input.properties'],
  ['properties over 64 KiB', 'createWebhook', { name: 'n', properties: { big: 'x'.repeat(64 * 1024) } }, 'input.properties'],
  ['properties with NUL', 'createWebhook', { name: 'n', properties: { a: 'x\u0000' } }, 'input.properties'],
  ['bad notifyEmail', 'createWebhook', { name: 'n', notifyEmail: 'not-an-address' }, 'input.notifyEmail'],
  ['unknown team', 'createWebhook', { name: 'n', teamId: 'team_00000000000000000000000000' }, 'input.teamId'],
  ['state TOO_MANY_ERRORS', 'createWebhook', { name: 'n', state: 'TOO_MANY_ERRORS' }, 'input.state'],
  ['empty forLogin', 'createWebhook', { name: 'n', forLogin: '' }, 'input.forLogin'],
  ['21 endpoints', 'createWebhook', { name: 'n', endpoints: Array(21).fill({ url: 'http://127.0.0.1:9/' }) }, 'input.endpoints'],
  ['ftp url', 'createWebhook', endpoint({ url: 'ftp://127.0.0.1/file' }), 'input.endpoints[0].url'],
  ['url with a password', 'createWebhook', endpoint({ url: 'http://user:pw@127.0.0.1:9/' }), 'input.endpoints[0].url'],
  ['not a url', 'createWebhook', endpoint({ url: 'not a url' }), 'input.endpoints[0].url'],
  ['url over 2048 characters', 'createWebhook', endpoint({ url: `http://127.0.0.1:9/${'a'.repeat(2048)}` }), 'input.endpoints[0].url'],
  ['HTTP endpoint without url', 'createWebhook', endpoint({ url: null }), 'input.endpoints[0].url'],
  ['EMAIL endpoint without recipients', 'createWebhook', endpoint({ kind: 'EMAIL', url: null }), 'input.endpoints[0].emailTo'],
  ['EMAIL endpoint with no recipients', 'createWebhook', endpoint({ kind: 'EMAIL', emailTo: [] }), 'input.endpoints[0].emailTo'],
  ['EMAIL endpoint with 21 recipients', 'createWebhook', endpoint({ kind: 'EMAIL', emailTo: twentyOne }), 'input.endpoints[0].emailTo'],
  ['bad recipient', 'createWebhook', endpoint({ kind: 'EMAIL', emailTo: ['a@example.com', 'nope'] }), 'input.endpoints[0].emailTo[1]'],
  ['timeout of 99 ms', 'createWebhook', endpoint({ timeoutMs: 99 }), 'input.endpoints[0].timeoutMs'],
  ['timeout of 30001 ms', 'createWebhook', endpoint({ timeoutMs: 30001 }), 'input.endpoints[0].timeoutMs'],
  ['content type without subtype', 'createWebhook', endpoint({ contentType: 'json' }), 'input.endpoints[0].contentType'],
  ['content type with a bare parameter', 'createWebhook', endpoint({ contentType: 'text/plain; charset' }), 'input.endpoints[0].contentType'],
  ['template that does not parse', 'createWebhook', endpoint({ bodyTemplate: '{% if %}x{% endif %}' }), 'input.endpoints[0].bodyTemplate'],
  ['unclosed template output', 'createWebhook', endpoint({ bodyTemplate: '{"id": "{{ event.id "}' }), 'input.endpoints[0].bodyTemplate'],
  ['endpoint header Host', 'createWebhook', endpoint({ headers: [{ key: 'Host', value: 'evil' }] }), 'input.endpoints[0].headers[0].key'],
  [
    'endpoint header content-length',
    'createWebhook',
    endpoint({ headers: [{ key: 'x', value: '1' }, { key: 'content-length', value: '1' }] }),
    'input.endpoints[0].headers[1].key',
  ],
  ['empty query parameter name', 'createWebhook', endpoint({ queryParams: [{ key: '', value: '1' }] }), 'input.endpoints[0].queryParams[0].key'],
  ['two kinds of auth', 'createWebhook', endpoint({ auth: { apiKey: 'k', bearerToken: 't' } }), 'input.endpoints[0].auth'],
  ['reserved api key header', 'createWebhook', endpoint({ auth: { apiKey: 'k', apiKeyHeader: 'webhook-id' } }), 'input.endpoints[0].auth.apiKeyHeader'],
  ['basic user with a colon', 'createWebhook', endpoint({ auth: { basicUser: 'a:b', basicPassword: 'c' } }), 'input.endpoints[0].auth.basicUser'],
  ['dotted trigger resource', 'createWebhook', trigger({ resource: 'a.b' }), 'input.triggers[0].resource'],
  ['empty trigger resource', 'createWebhook', trigger({ resource: '' }), 'input.triggers[0].resource'],
  ['trigger event with a space', 'createWebhook', trigger({ event: 'x y' }), 'input.triggers[0].event'],
  ['filter that is an array', 'createWebhook', trigger({ filter: ['a'] }), 'input.triggers[0].filter'],
  ['filter with an empty key', 'createWebhook', trigger({ filter: { '': 1 } }), 'input.triggers[0].filter'],
  ['filter with an empty path segment', 'createWebhook', trigger({ filter: { 'a..b': 1 } }), 'input.triggers[0].filter'],
  ['filter key with a leading dot', 'createWebhook', trigger({ filter: { '.a': 1 } }), 'input.triggers[0].filter'],
  ['private endpoint target', 'createWebhook', endpoint({ url: 'http://10.1.2.3/' }), 'input.endpoints[0].url'],

  ['update: empty name', 'updateWebhook', { name: '' }, 'input.name'],
  ['update: unknown team', 'updateWebhook', { teamId: 'team_00000000000000000000000000' }, 'input.teamId'],
  ['update: reserved header', 'updateWebhook', { headers: [{ key: 'transfer-encoding', value: 'chunked' }] }, 'input.headers[0].key'],
  ['update: null name', 'updateWebhook', { name: null }, 'input.name'],
  ['endpoint: ftp url', 'createEndpoint', { url: 'ftp://127.0.0.1/' }, 'input.url'],
  ['endpoint: timeout 0', 'createEndpoint', { url: 'http://127.0.0.1:9/', timeoutMs: 0 }, 'input.timeoutMs'],
  ['endpoint: private target', 'createEndpoint', { url: 'http://192.168.1.1/' }, 'input.url'],
  ['endpoint update: bad template', 'updateEndpoint', { bodyTemplate: '{% for %}' }, 'input.bodyTemplate'],
  ['endpoint update: private target', 'updateEndpoint', { url: 'http://169.254.169.254/latest/meta-data' }, 'input.url'],
  ['endpoint update: connection header', 'updateEndpoint', { headers: [{ key: 'Connection', value: 'close' }] }, 'input.headers[0].key'],
  ['trigger: empty event segment', 'createTrigger', { resource: 'a', event: 'b..c' }, 'input.event'],
  ['trigger: bad filter key', 'createTrigger', { resource: 'a', event: 'b', filter: { 'x.': 1 } }, 'input.filter'],
];

function withIds(mutation: Mutation, input: Record<string, unknown>) {
  if (mutation === 'updateWebhook') return { id: webhookId, ...input };
  if (mutation === 'updateEndpoint') return { id: endpointId, ...input };
  if (mutation === 'createEndpoint' || mutation === 'createTrigger') return { webhookId, ...input };
  return input;
}

describe('bad input', () => {
  it.each(BAD)('%s → BAD_USER_INPUT on %s, nothing written', async (_what, mutation, input, field) => {
    const before = await fingerprint();
    const result = await t.gql(MUTATIONS[mutation], { input: withIds(mutation, input) });
    expect(result.errors, JSON.stringify(result)).toHaveLength(1);
    const [error] = result.errors!;
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message.startsWith(`${field}: `), error.message).toBe(true);
    expect(error.extensions?.field).toBe(field);
    expect(await fingerprint()).toBe(before);
  });

  it('refuses an overlong search', async () => {
    const result = await t.gql(`query ($s: String) { webhooks(search: $s) { edges { cursor } } }`, { s: 'x'.repeat(201) });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^search: /);
  });
});

describe('limits are inclusive', () => {
  it('accepts every value at the edge of its range', async () => {
    const { secret, webhook } = await createWebhook(t.gql, {
      name: 'x'.repeat(200),
      description: 'd'.repeat(2000),
      secret: `whsec_${b64(24)}`,
      properties: { big: 'x'.repeat(64 * 1024 - 20) },
      headers: [{ key: 'X-Custom', value: 'ok' }],
      endpoints: [
        { url: 'http://127.0.0.1:9/min', timeoutMs: 100, contentType: 'text/plain; charset="utf-8"', bodyTemplate: '{{ event.data | json }}' },
        { url: 'https://127.0.0.1/max', timeoutMs: 30000, auth: { basicUser: 'u', basicPassword: '' } },
        { kind: 'EMAIL', emailTo: twentyOne.slice(1) },
      ],
      triggers: [
        { resource: '*', event: '*' },
        { resource: 'A_b-9', event: 'x', filter: { 'a.b.c': [1, 2], top: null } },
      ],
    });
    expect(secret).toBe(`whsec_${b64(24)}`);
    expect(webhook.name).toHaveLength(200);
    expect(webhook.endpoints.map((e: any) => e.timeoutMs)).toEqual([100, 30000, 10000]);
    expect(webhook.endpoints[2].emailTo).toHaveLength(20);
    expect(webhook.triggers[1].filter).toEqual({ 'a.b.c': [1, 2], top: null });
    const long = await createWebhook(t.gql, { name: 'long secret', secret: `whsec_${b64(64)}` });
    expect(long.secret).toBe(`whsec_${b64(64)}`);
  });
});
