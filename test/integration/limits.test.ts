import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const MAX_BODY = 32 * 1024;
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ HOOKLINE_MAX_BODY_BYTES: String(MAX_BODY) });
});
afterAll(() => t?.stop());

/** A raw POST to /graphql as the admin: the body is sent exactly as given. */
async function post(body: string) {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` },
    body,
  });
  return { status: response.status, body: await response.json() };
}

/** SQL statements that touched the teams table since `since` (the test app records every statement). */
const teamQueriesSince = (since: number) => t.queries.slice(since).filter((q) => /\bteams\b/.test(q));

describe('query limits', () => {
  it('refuses a 40-deep query before executing anything', async () => {
    // __Type.ofType nests without end; `teams` would run SQL if the operation were executed.
    const executed = t.queries.length;
    await t.gql.ok('{ teams { id } }');
    expect(teamQueriesSince(executed)).not.toEqual([]); // so an empty list below does mean "not executed"

    const deep = `{ teams { id } __type(name: "Query") { ${'ofType { '.repeat(38)}name${' }'.repeat(38)} } }`;
    const since = t.queries.length;
    const result = await t.gql(deep);
    expect(result.data ?? null).toBeNull();
    const depth = result.errors?.find((e) => /depth limit of 15 exceeded, found 40/.test(e.message));
    expect(depth?.message).toMatch(/HOOKLINE_MAX_DEPTH/);
    expect(depth?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(teamQueriesSince(since)).toEqual([]);
  });

  it('accepts a query at the depth limit', async () => {
    const atLimit = `{ __type(name: "Query") { ${'ofType { '.repeat(13)}name${' }'.repeat(13)} } }`;
    const result = await t.gql(atLimit);
    expect(result.errors).toBeUndefined();
    expect(result.data?.__type).toMatchObject({ ofType: null });
  });

  it('refuses a query with 500 aliases before executing anything', async () => {
    const aliases = `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: teams { id }`).join(' ')} }`;
    const since = t.queries.length;
    const result = await t.gql(aliases);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0].message).toMatch(/Aliases limit of 30 exceeded, found 500.*HOOKLINE_MAX_ALIASES/);
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(teamQueriesSince(since)).toEqual([]);
  });

  it('runs 30 aliases', async () => {
    const result = await t.gql(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: viewer { name }`).join(' ')} }`);
    expect(result.errors).toBeUndefined();
    expect(Object.keys(result.data)).toHaveLength(30);
  });

  it('does not refuse the console webhooks page (webhooks with endpoints, triggers and team)', async () => {
    const page = `
      query WebhooksPage($after: String, $search: String) {
        webhooks(first: 100, after: $after, search: $search) {
          edges {
            cursor
            node {
              id name description state ownerLogin forLogin notifyEmail createdAt createdBy updatedAt updatedBy
              properties headers { key value }
              team { id name }
              endpoints { id kind state url method timeoutMs contentType emailTo headers { key value } }
              triggers { id resource event eventType filter }
            }
          }
          pageInfo { hasNextPage endCursor }
        }
      }`;
    await t.gql.ok(
      `mutation { createWebhook(input: { name: "console", endpoints: [{ url: "http://127.0.0.1:9/hook" }],
         triggers: [{ resource: "order", event: "*" }] }) { webhook { id } } }`,
    );
    const result = await t.gql(page);
    expect(result.errors).toBeUndefined();
    expect(result.data?.webhooks.edges).toHaveLength(1);
    expect(result.data?.webhooks.edges[0].node).toMatchObject({
      name: 'console',
      endpoints: [{ url: 'http://127.0.0.1:9/hook' }],
      triggers: [{ eventType: 'order.*' }],
    });
  });

  it('refuses an operation over the cost limit, naming HOOKLINE_MAX_COST', async () => {
    // 20 pages of 100 tokens with their teams: each page costs ~3,800, together over the 50,000 default.
    const page = 'apiTokens(first: 100) { edges { node { id name team { id name createdAt } } } }';
    const since = t.queries.length;
    const result = await t.gql(`{ teams { id } ${Array.from({ length: 20 }, (_, i) => `a${i}: ${page}`).join(' ')} }`);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0].message).toMatch(/Cost limit of 50000 exceeded.*HOOKLINE_MAX_COST/);
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(teamQueriesSince(since)).toEqual([]);
  });
});

describe('page size', () => {
  it('answers BAD_USER_INPUT for `first` above the page cap', async () => {
    const result = await t.gql('{ apiTokens(first: 101) { edges { cursor } } }');
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toBe('first: must be between 0 and 100');
    expect((await t.gql('{ apiTokens(first: 100) { edges { cursor } } }')).errors).toBeUndefined();
  });

  it('answers BAD_USER_INPUT for a variable of the wrong type', async () => {
    const result = await t.gql('query ($n: Int) { apiTokens(first: $n) { edges { cursor } } }', { n: 'many' });
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/\$n/);
  });
});

describe('HTTP bodies', () => {
  it('answers 413 for a body over HOOKLINE_MAX_BODY_BYTES, and runs one just under it', async () => {
    const padding = (n: number) => JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(n) } });
    const overhead = padding(0).length;
    const over = await post(padding(MAX_BODY - overhead + 1));
    expect(over.status).toBe(413);
    expect(over.body.errors[0].message).toMatch(/HOOKLINE_MAX_BODY_BYTES/);
    const under = await post(padding(MAX_BODY - overhead));
    expect(under.status).toBe(200);
    expect(under.body.data).toEqual({ __typename: 'Query' });
  });

  it('answers 413 for an oversized body sent without a content-length (chunked)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = 'x'.repeat(8 * 1024);
      req.write(`{"query":"{ __typename }","variables":{"pad":"`);
      for (let i = 0; i < 6; i++) req.write(chunk);
      req.end('"}}');
    });
    expect(status).toBe(413);
  });

  it.each([
    ['truncated JSON', '{"query": "{ __typename }"'],
    ['not JSON at all', 'query { __typename }'],
    ['an empty body', ''],
  ])('answers 400 for a malformed body: %s', async (_what, body) => {
    const result = await post(body);
    expect(result.status).toBe(400);
    expect(result.body.errors[0].message).toBeTruthy();
  });
});
