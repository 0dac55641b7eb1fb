import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createWebhook, openSql } from '../helpers/webhook-fixtures.js';

let t: TestApp;
let sql: ReturnType<typeof openSql>;
let webhookId: string;
beforeAll(async () => {
  t = await startTestApp();
  sql = openSql(t.database.url);
  webhookId = (await createWebhook(t.gql, { name: 'endpoint host' })).webhook.id;
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const ENDPOINT = `id kind state url method queryParams { key value } headers { key value } contentType bodyTemplate
  timeoutMs emailTo hasAuth consecutiveFailures webhook { id name }`;
const CREATE = `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { ${ENDPOINT} } }`;
const UPDATE = `mutation ($input: UpdateEndpointInput!) { updateEndpoint(input: $input) { ${ENDPOINT} } }`;
const SET_STATE = `mutation ($id: ID!, $state: State!) { setEndpointState(id: $id, state: $state) { id state consecutiveFailures } }`;

const create = async (input: Record<string, unknown>) => (await t.gql.ok(CREATE, { input: { webhookId, ...input } })).createEndpoint;

describe('endpoints', () => {
  it('creates an HTTP endpoint with every setting', async () => {
    const endpoint = await create({
      url: 'https://127.0.0.1:8443/hooks?fixed=1',
      method: 'PATCH',
      queryParams: [{ key: 'source', value: 'hookline' }],
      headers: [{ key: 'X-Env', value: 'test' }],
      contentType: 'application/vnd.acme+json; charset=utf-8',
      bodyTemplate: '{"id": "{{ event.id }}", "type": "{{ event.type }}"}',
      auth: { bearerToken: 's3cret-token' },
      timeoutMs: 2500,
    });
    expect(endpoint).toMatchObject({
      kind: 'HTTP',
      state: 'ACTIVE',
      url: 'https://127.0.0.1:8443/hooks?fixed=1',
      method: 'PATCH',
      queryParams: [{ key: 'source', value: 'hookline' }],
      headers: [{ key: 'X-Env', value: 'test' }],
      contentType: 'application/vnd.acme+json; charset=utf-8',
      bodyTemplate: '{"id": "{{ event.id }}", "type": "{{ event.type }}"}',
      timeoutMs: 2500,
      emailTo: null,
      hasAuth: true,
      consecutiveFailures: 0,
      webhook: { id: webhookId, name: 'endpoint host' },
    });
    const [row] = await sql`select auth from endpoints where id = ${endpoint.id}`;
    expect(row.auth).toEqual({ bearerToken: 's3cret-token' });
  });

  it('never returns credentials', async () => {
    const result = await t.gql(`{ webhooks { edges { node { endpoints { auth { bearerToken } } } } } }`);
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('applies the documented defaults', async () => {
    const endpoint = await create({ url: 'http://127.0.0.1:9/defaults' });
    expect(endpoint).toMatchObject({ kind: 'HTTP', method: 'POST', contentType: 'application/json', timeoutMs: 10000, hasAuth: false });
    const [row] = await sql`select auth from endpoints where id = ${endpoint.id}`;
    expect(row.auth).toBeNull();
  });

  it('creates an EMAIL endpoint', async () => {
    const endpoint = await create({ kind: 'EMAIL', emailTo: ['ops@example.com'] });
    expect(endpoint).toMatchObject({ kind: 'EMAIL', url: null, emailTo: ['ops@example.com'] });
  });

  it('stores an API key with its header, and basic auth', async () => {
    const apiKey = await create({ url: 'http://127.0.0.1:9/k', auth: { apiKey: 'k-123', apiKeyHeader: 'X-Token' } });
    const basic = await create({ url: 'http://127.0.0.1:9/b', auth: { basicUser: 'hook', basicPassword: 'line' } });
    const rows = await sql`select id, auth from endpoints where id in ${sql([apiKey.id, basic.id])}`;
    const byId = Object.fromEntries(rows.map((r) => [r.id, r.auth]));
    expect(byId[apiKey.id]).toEqual({ apiKey: 'k-123', apiKeyHeader: 'X-Token' });
    expect(byId[basic.id]).toEqual({ basicUser: 'hook', basicPassword: 'line' });
  });

  it('updates only the fields given', async () => {
    const endpoint = await create({
      url: 'http://127.0.0.1:9/v1',
      headers: [{ key: 'X-Keep', value: 'yes' }],
      auth: { bearerToken: 'abc' },
      timeoutMs: 3000,
    });
    const { updateEndpoint } = await t.gql.ok(UPDATE, { input: { id: endpoint.id, url: 'http://127.0.0.1:9/v2', method: 'PUT' } });
    expect(updateEndpoint).toMatchObject({
      id: endpoint.id,
      url: 'http://127.0.0.1:9/v2',
      method: 'PUT',
      headers: [{ key: 'X-Keep', value: 'yes' }],
      timeoutMs: 3000,
      hasAuth: true,
    });
    // null resets: auth cleared, timeout back to its default
    const cleared = await t.gql.ok(UPDATE, { input: { id: endpoint.id, auth: null, timeoutMs: null } });
    expect(cleared.updateEndpoint).toMatchObject({ hasAuth: false, timeoutMs: 10000, url: 'http://127.0.0.1:9/v2' });
  });

  it('switches an endpoint to EMAIL only with recipients', async () => {
    const endpoint = await create({ url: 'http://127.0.0.1:9/switch' });
    const refused = await t.gql(UPDATE, { input: { id: endpoint.id, kind: 'EMAIL' } });
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0].message).toMatch(/^input\.emailTo: /);
    const { updateEndpoint } = await t.gql.ok(UPDATE, { input: { id: endpoint.id, kind: 'EMAIL', emailTo: ['x@example.com'] } });
    expect(updateEndpoint).toMatchObject({ kind: 'EMAIL', url: null, emailTo: ['x@example.com'] });
  });

  it('re-enables an endpoint disabled for too many errors and resets its failure count', async () => {
    const endpoint = await create({ url: 'http://127.0.0.1:9/flaky' });
    await sql`update endpoints set state = 'TOO_MANY_ERRORS', consecutive_failures = 20 where id = ${endpoint.id}`;
    const { setEndpointState } = await t.gql.ok(SET_STATE, { id: endpoint.id, state: 'ACTIVE' });
    expect(setEndpointState).toEqual({ id: endpoint.id, state: 'ACTIVE', consecutiveFailures: 0 });
    const [row] = await sql`select state, consecutive_failures from endpoints where id = ${endpoint.id}`;
    expect(row).toEqual({ state: 'ACTIVE', consecutive_failures: 0 });
  });

  it('stops an endpoint, and refuses to set TOO_MANY_ERRORS by hand', async () => {
    const endpoint = await create({ url: 'http://127.0.0.1:9/stop' });
    expect((await t.gql.ok(SET_STATE, { id: endpoint.id, state: 'STOPPED' })).setEndpointState.state).toBe('STOPPED');
    const refused = await t.gql(SET_STATE, { id: endpoint.id, state: 'TOO_MANY_ERRORS' });
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const [row] = await sql`select state from endpoints where id = ${endpoint.id}`;
    expect(row.state).toBe('STOPPED');
  });

  it('deletes an endpoint', async () => {
    const endpoint = await create({ url: 'http://127.0.0.1:9/gone' });
    const DELETE = `mutation ($id: ID!) { deleteEndpoint(id: $id) { deletedId } }`;
    expect((await t.gql.ok(DELETE, { id: endpoint.id })).deleteEndpoint.deletedId).toBe(endpoint.id);
    const node = await t.gql.ok(`query ($id: ID!) { node(id: $id) { id } }`, { id: endpoint.id });
    expect(node.node).toBeNull();
    const listed = await t.gql.ok(`query ($id: ID!) { node(id: $id) { ... on Webhook { endpoints { id } } } }`, { id: webhookId });
    expect(listed.node.endpoints.map((e: any) => e.id)).not.toContain(endpoint.id);
    const again = await t.gql(DELETE, { id: endpoint.id });
    expect(again.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('lists a webhook\'s endpoints in creation order', async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'ordered' });
    const ids: string[] = [];
    for (const path of ['a', 'b', 'c']) {
      ids.push((await t.gql.ok(CREATE, { input: { webhookId: webhook.id, url: `http://127.0.0.1:9/${path}` } })).createEndpoint.id);
    }
    const listed = await t.gql.ok(`query ($id: ID!) { node(id: $id) { ... on Webhook { endpoints { id } } } }`, { id: webhook.id });
    expect(listed.node.endpoints.map((e: any) => e.id)).toEqual(ids);
  });

  it('answers NOT_FOUND for an unknown webhook or endpoint', async () => {
    const noWebhook = await t.gql(CREATE, { input: { webhookId: 'wh_00000000000000000000000000', url: 'http://127.0.0.1:9/' } });
    expect(noWebhook.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(noWebhook.errors?.[0].message).toMatch(/^input\.webhookId: /);
    const noEndpoint = await t.gql(UPDATE, { input: { id: 'ep_00000000000000000000000000', url: 'http://127.0.0.1:9/' } });
    expect(noEndpoint.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const noState = await t.gql(SET_STATE, { id: 'ep_00000000000000000000000000', state: 'ACTIVE' });
    expect(noState.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});
