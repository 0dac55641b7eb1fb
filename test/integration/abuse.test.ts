import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deliveryFeed } from '../../src/live/feed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { eventually } from '../helpers/receiver.js';
import { openSql } from '../helpers/webhook-fixtures.js';
import { wsClient, type WsClient } from '../helpers/ws-client.js';

/**
 * API abuse: per-token rate limits (mutations, published events), payload limits, and the graphql-ws caps. Two apps:
 * one with tight rate limits, one with tight graphql-ws caps (and default rates, so its setup is not throttled).
 */

const MAX_BODY = 32 * 1024;
let limited: TestApp;
let capped: TestApp;
let sql: ReturnType<typeof openSql>;
/** Fresh ADMIN tokens of the rate-limited app, each with buckets of its own. */
let tokens: string[];
const clients: WsClient[] = [];

beforeAll(async () => {
  [limited, capped] = await Promise.all([
    startTestApp({ HOOKLINE_RATE_LIMIT_MUTATIONS: '5/m', HOOKLINE_RATE_LIMIT_PUBLISH: '20/m', HOOKLINE_ROLE: 'api' }),
    startTestApp({
      HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3',
      HOOKLINE_MAX_CONNECTIONS_PER_TOKEN: '2',
      HOOKLINE_MAX_BODY_BYTES: String(MAX_BODY),
      HOOKLINE_MAX_EVENT_BYTES: '1024',
      HOOKLINE_ROLE: 'api',
    }),
  ]);
  sql = openSql(limited.database.url);
  // All five of the admin's mutations for the minute, in one operation: a token for each test below.
  const made = await limited.gql.ok(
    `mutation { ${[0, 1, 2, 3, 4].map((i) => `t${i}: createApiToken(input: { name: "t${i}", role: ADMIN }) { token }`).join(' ')} }`,
  );
  tokens = [0, 1, 2, 3, 4].map((i) => made[`t${i}`].token);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await sql?.end();
  await Promise.all([limited?.stop(), capped?.stop()]);
});

const count = async (table: 'teams' | 'events') =>
  (await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`))[0].n;

async function newAdminToken(t: TestApp, name: string): Promise<string> {
  const data = await t.gql.ok(`mutation ($name: String!) { createApiToken(input: { name: $name, role: ADMIN }) { token } }`, {
    name,
  });
  return data.createApiToken.token;
}

const CREATE_TEAM = 'mutation ($name: String!) { createTeam(name: $name) { id } }';
const PUBLISH_ONE = 'mutation ($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }';
const PUBLISH_MANY = 'mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { event { id } } } }';
const events = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'order.created', data: { i } }));

/** A raw POST, to see the HTTP status and headers as a client does. */
async function post(t: TestApp, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

function client(t: TestApp, token: string | null): WsClient {
  const c = wsClient(t.url, token);
  clients.push(c);
  return c;
}

describe('rate limit on mutations (HOOKLINE_RATE_LIMIT_MUTATIONS=5/m)', () => {
  it('refuses the 6th mutation of a token with RATE_LIMITED, 429 and Retry-After, writing nothing', async () => {
    const gql = limited.gql.as(tokens[0]);
    for (let i = 0; i < 5; i++) await gql.ok(CREATE_TEAM, { name: `team ${i}` });
    const teams = await count('teams');

    const refused = await post(limited, tokens[0], CREATE_TEAM, { name: 'one too many' });
    expect(refused.status).toBe(429);
    const error = refused.body.errors[0];
    expect(error.extensions.code).toBe('RATE_LIMITED');
    expect(error.message).toMatch(/at most 5\/m mutations \(HOOKLINE_RATE_LIMIT_MUTATIONS\); try again in \d+ s/);
    // One mutation comes back every 12 s.
    expect(error.extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.extensions.retryAfterSeconds).toBeLessThanOrEqual(12);
    expect(refused.retryAfter).toBe(String(error.extensions.retryAfterSeconds));
    expect(refused.body.data ?? null).toBeNull();
    expect(await count('teams')).toBe(teams);
    // The admin spent its five on the tokens: refused too.
    expect((await limited.gql(CREATE_TEAM, { name: 'admin' })).errors?.[0].extensions?.code).toBe('RATE_LIMITED');

    // Reads are not limited; another token has a bucket of its own.
    expect((await gql('{ teams { id } }')).errors).toBeUndefined();
    await limited.gql.as(tokens[1]).ok(CREATE_TEAM, { name: 'from another token' });
    expect(await count('teams')).toBe(teams + 1);
  });

  it('refuses a whole operation whose fields together are over the limit: none of them runs', async () => {
    const gql = limited.gql.as(tokens[2]);
    const teamsMutation = (n: number, name: string) =>
      `mutation { ${Array.from({ length: n }, (_, i) => `t${i}: createTeam(name: "${name} ${i}") { id }`).join(' ')} }`;
    await gql.ok(teamsMutation(3, 'first'));
    const teams = await count('teams');
    // Two left: three fields are refused together.
    const result = await gql(teamsMutation(3, 'three'));
    expect(result.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(await count('teams')).toBe(teams);
    expect((await gql(teamsMutation(2, 'two'))).errors).toBeUndefined();
    expect(await count('teams')).toBe(teams + 2);
  });

  it('counts previewRequest (a template render and a signature) like a mutation; other reads stay free', async () => {
    const PREVIEW = `{ previewRequest(endpoint: { url: "http://127.0.0.1:9/hook" }, event: { type: "order.created" }) { method } }`;
    // tokens[1] has allowance left; tokens[2] spent all of it just above.
    expect(await limited.gql.as(tokens[1]).ok(PREVIEW)).toEqual({ previewRequest: { method: 'POST' } });
    const refused = await limited.gql.as(tokens[2])(PREVIEW);
    expect(refused.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect((await limited.gql.as(tokens[2])('{ teams { id } }')).errors).toBeUndefined();
  });

  it('limits mutations over graphql-ws as well', async () => {
    const ws = client(limited, tokens[3]);
    const codes: unknown[][] = [];
    for (let i = 0; i < 6; i++) {
      const op = ws.subscribe(CREATE_TEAM, { name: `ws ${i}` });
      await op.done;
      codes.push(op.errors.map((e) => e.extensions?.code));
    }
    expect(codes).toEqual([[], [], [], [], [], ['RATE_LIMITED']]);
  });
});

describe('rate limit on published events (HOOKLINE_RATE_LIMIT_PUBLISH=20/m)', () => {
  it('counts each event of a batch, and refuses the event over the limit', async () => {
    // tokens[1] has made one mutation (above): publishing has an allowance of its own.
    const gql = limited.gql.as(tokens[1]);
    await gql.ok(PUBLISH_MANY, { inputs: events(15) });
    for (let i = 0; i < 5; i++) await gql.ok(PUBLISH_ONE, { input: events(1)[0] });
    const before = await count('events');

    const refused = await gql(PUBLISH_ONE, { input: events(1)[0] });
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.errors?.[0].message).toMatch(/at most 20\/m published events \(HOOKLINE_RATE_LIMIT_PUBLISH\)/);
    // One event comes back every 3 s.
    expect(refused.errors?.[0].extensions?.retryAfterSeconds).toBeLessThanOrEqual(3);
    expect(await count('events')).toBe(before);
    // Publishing does not spend the mutations allowance, nor the other way round.
    expect((await gql(CREATE_TEAM, { name: 'publisher team' })).errors).toBeUndefined();
  });

  it('lets a batch larger than the whole allowance through once, then makes the token wait for it', async () => {
    const gql = limited.gql.as(tokens[4]);
    const before = await count('events');
    // Refused outright, a batch of 30 could never pass; accepted, it leaves the bucket 10 events in debt.
    await gql.ok(PUBLISH_MANY, { inputs: events(30) });
    expect(await count('events')).toBe(before + 30);
    const refused = await gql(PUBLISH_ONE, { input: events(1)[0] });
    expect(refused.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    // 11 events' worth of refill at 20 a minute.
    expect(refused.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThan(30);
    expect(refused.errors?.[0].extensions?.retryAfterSeconds).toBeLessThanOrEqual(33);
  });
});

describe('payload limits', () => {
  it('answers 413 naming HOOKLINE_MAX_BODY_BYTES for a request body over it', async () => {
    const big = await post(capped, capped.adminToken, '{ __typename }', { pad: 'x'.repeat(MAX_BODY) });
    expect(big.status).toBe(413);
    expect(big.body.errors[0].message).toBe(`request body is larger than ${MAX_BODY} bytes (HOOKLINE_MAX_BODY_BYTES)`);
  });

  it('refuses event data over HOOKLINE_MAX_EVENT_BYTES as BAD_USER_INPUT naming input.data', async () => {
    const result = await capped.gql(PUBLISH_ONE, { input: { type: 'order.created', data: { pad: 'x'.repeat(2000) } } });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.data' });
    expect(result.errors?.[0].message).toMatch(/^input\.data: .*more than the limit of 1024/);
    expect((await capped.gql.ok('{ events(first: 5) { edges { cursor } } }')).events.edges).toEqual([]);
  });

  it('closes a graphql-ws connection whose message is over HOOKLINE_MAX_BODY_BYTES (1009)', async () => {
    const ws = client(capped, capped.adminToken);
    const op = ws.subscribe('query ($pad: String) { __typename }', { pad: 'x'.repeat(MAX_BODY) });
    await op.done;
    // 1009: the standard close code for a message too big.
    expect(op.errors.map((e) => e.message)).toEqual(['connection closed (1009)']);
  });
});

describe('graphql-ws caps', () => {
  const DELIVERY_UPDATED = 'subscription { deliveryUpdated { id status } }';

  it('refuses a 4th subscription on a connection (HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION=3); the others go on', async () => {
    const ws = client(capped, capped.adminToken);
    const three = [0, 1, 2].map(() => ws.subscribe(DELIVERY_UPDATED));
    await eventually(async () => deliveryFeed(capped.app.services).size === 3);
    const fourth = ws.subscribe(DELIVERY_UPDATED);
    await fourth.done;
    expect(fourth.errors).toHaveLength(1);
    expect(fourth.errors[0].extensions?.code).toBe('RATE_LIMITED');
    expect(fourth.errors[0].message).toMatch(/at most 3 at once \(HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION\)/);
    expect(deliveryFeed(capped.app.services).size).toBe(3);
    for (const s of three) expect(s.errors).toEqual([]);

    // Completing one makes room for another on the same connection.
    three[0].unsubscribe();
    await eventually(async () => deliveryFeed(capped.app.services).size === 2);
    const again = ws.subscribe(DELIVERY_UPDATED);
    await eventually(async () => deliveryFeed(capped.app.services).size === 3);
    expect(again.errors).toEqual([]);
  });

  it("closes a token's 3rd connection with 4429 (HOOKLINE_MAX_CONNECTIONS_PER_TOKEN=2); other tokens still connect", async () => {
    const first = client(capped, capped.adminToken).subscribe(DELIVERY_UPDATED);
    const second = client(capped, capped.adminToken).subscribe(DELIVERY_UPDATED);
    await eventually(async () => deliveryFeed(capped.app.services).size === 2);

    const third = client(capped, capped.adminToken).subscribe(DELIVERY_UPDATED);
    await third.done;
    expect(third.errors.map((e) => e.message)).toEqual([
      'connection closed (4429) too many connections for this token: at most 2 (HOOKLINE_MAX_CONNECTIONS_PER_TOKEN)',
    ]);
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);

    // Another token has connections of its own.
    const other = await newAdminToken(capped, 'ws other');
    client(capped, other).subscribe(DELIVERY_UPDATED);
    await eventually(async () => deliveryFeed(capped.app.services).size === 3);

    // A closed connection gives its place back.
    await clients[0].close();
    await eventually(async () => deliveryFeed(capped.app.services).size === 2);
    const fourth = client(capped, capped.adminToken).subscribe(DELIVERY_UPDATED);
    await eventually(async () => deliveryFeed(capped.app.services).size === 3);
    expect(fourth.errors).toEqual([]);
  });

  it('caps connections without a valid token per client address the same way', async () => {
    const sockets: WebSocket[] = [];
    /** A raw graphql-ws connection that only says hello (no token) and stays open: how it ends, if it does. */
    const idle = () =>
      new Promise<{ acked: boolean; closed?: { code: number; reason: string } }>((resolve) => {
        const ws = new WebSocket(capped.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
        sockets.push(ws);
        ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer nope' } })));
        ws.on('message', (data) => {
          if (JSON.parse(String(data)).type === 'connection_ack') resolve({ acked: true });
        });
        ws.on('close', (code, reason) => resolve({ acked: false, closed: { code, reason: String(reason) } }));
      });
    try {
      expect(await idle()).toEqual({ acked: true });
      expect(await idle()).toEqual({ acked: true });
      expect(await idle()).toEqual({
        acked: false,
        closed: {
          code: 4429,
          reason: 'too many connections without a valid token from this address: at most 2 (HOOKLINE_MAX_CONNECTIONS_PER_TOKEN)',
        },
      });
      // A valid token is not held back by them.
      const ok = client(capped, capped.adminToken).subscribe(DELIVERY_UPDATED);
      await eventually(async () => deliveryFeed(capped.app.services).size >= 1);
      expect(ok.errors).toEqual([]);
    } finally {
      for (const ws of sockets) ws.close();
    }
  });
});
