import type postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphqlClient } from '../helpers/gql.js';
import { hook, publish, teamToken, useApiApp, type Hook } from '../helpers/event-fixtures.js';

const app = useApiApp();
let teamA: GraphqlClient;
let teamB: GraphqlClient;
let hookA: Hook;
let hookB: Hook;
const events: string[] = [];

const DELIVERIES = `query ($first: Int, $after: String, $webhookId: ID, $endpointId: ID, $status: [DeliveryStatus!],
                          $since: DateTime, $until: DateTime) {
  deliveries(first: $first, after: $after, webhookId: $webhookId, endpointId: $endpointId, status: $status,
             since: $since, until: $until) {
    edges { node { id status event { id } webhook { id } endpoint { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const list = async (gql: GraphqlClient, vars: Record<string, unknown> = {}) =>
  (await gql.ok(DELIVERIES, { first: 100, ...vars })).deliveries.edges.map((edge: any) => edge.node);
const idsOf = (rows: { id: string }[]) => rows.map((r) => r.id);

/** Every delivery in the database, newest first, as the API should list them. */
const stored = async (where: postgres.PendingQuery<postgres.Row[]> = app.sql`true`) =>
  (await app.sql`select id from deliveries where ${where} order by id desc`).map((r) => r.id as string);

beforeAll(async () => {
  const a = await teamToken(app.t.gql, 'deliveries-a');
  const b = await teamToken(app.t.gql, 'deliveries-b');
  teamA = app.t.gql.as(a.token);
  teamB = app.t.gql.as(b.token);
  hookA = await hook(teamA, [{ resource: 'shop', event: '*' }], { endpoints: 2 });
  hookB = await hook(teamB, [{ resource: 'shop', event: '*' }]);
  for (let i = 0; i < 3; i++) events.push((await publish(app.t.gql, { type: 'shop.order', data: { i } })).event.id);
});

describe('deliveries query', () => {
  it('lists every delivery newest first for ADMIN, with event, webhook and endpoint', async () => {
    const rows = await list(app.t.gql);
    expect(rows).toHaveLength(9);
    expect(idsOf(rows)).toEqual(await stored());
    const newest = rows.filter((r: any) => r.event.id === events[2]);
    expect(newest.map((r: any) => r.endpoint.id).sort()).toEqual([...hookA.endpointIds, ...hookB.endpointIds].sort());
    expect(rows.every((r: any) => r.status === 'PENDING')).toBe(true);
  });

  it('filters by webhook, endpoint and status', async () => {
    expect(idsOf(await list(app.t.gql, { webhookId: hookA.id }))).toEqual(await stored(app.sql`webhook_id = ${hookA.id}`));
    expect(idsOf(await list(app.t.gql, { endpointId: hookA.endpointIds[1] }))).toEqual(
      await stored(app.sql`endpoint_id = ${hookA.endpointIds[1]}`),
    );
    const [failed, succeeded] = await stored(app.sql`webhook_id = ${hookA.id}`);
    await app.sql`update deliveries set status = 'FAILED' where id = ${failed}`;
    await app.sql`update deliveries set status = 'SUCCEEDED' where id = ${succeeded}`;
    expect(idsOf(await list(app.t.gql, { status: ['FAILED'] }))).toEqual([failed]);
    expect(idsOf(await list(app.t.gql, { status: ['FAILED', 'SUCCEEDED'] }))).toEqual([failed, succeeded]);
    expect(await list(app.t.gql, { status: ['CANCELLED'] })).toEqual([]);
    await app.sql`update deliveries set status = 'PENDING' where id in (${failed}, ${succeeded})`;
  });

  it('filters by creation time: since inclusive, until exclusive', async () => {
    const old = await stored(app.sql`event_id = ${events[0]}`);
    await app.sql`update deliveries set created_at = '2021-06-01T00:00:00Z' where event_id = ${events[0]}`;
    try {
      expect(idsOf(await list(app.t.gql, { until: '2022-01-01T00:00:00Z' }))).toEqual(old);
      expect(idsOf(await list(app.t.gql, { since: '2021-06-01T00:00:00Z', until: '2021-06-02T00:00:00Z' }))).toEqual(old);
      expect(await list(app.t.gql, { since: '2021-05-01T00:00:00Z', until: '2021-06-01T00:00:00Z' })).toEqual([]);
      expect(await list(app.t.gql, { since: '2021-06-01T00:00:00.001Z', until: '2022-01-01T00:00:00Z' })).toEqual([]);
      expect((await list(app.t.gql, { since: '2022-01-01T00:00:00Z' })).length).toBe(6);
      const backwards = await app.t.gql(DELIVERIES, { since: '2022-01-01T00:00:00Z', until: '2021-01-01T00:00:00Z' });
      expect(backwards.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(backwards.errors?.[0].message).toMatch(/^until: /);
    } finally {
      await app.sql`update deliveries set created_at = now() where event_id = ${events[0]}`;
    }
  });

  it('pages with first/after', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const { deliveries } = await app.t.gql.ok(DELIVERIES, { first: 4, after });
      seen.push(...idsOf(deliveries.edges.map((edge: any) => edge.node)));
      pages++;
      if (!deliveries.pageInfo.hasNextPage) break;
      after = deliveries.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(await stored());
  });

  it("shows a team token only its own team's deliveries", async () => {
    expect(idsOf(await list(teamA))).toEqual(await stored(app.sql`webhook_id = ${hookA.id}`));
    expect(idsOf(await list(teamB))).toEqual(await stored(app.sql`webhook_id = ${hookB.id}`));
    expect(await list(teamB, { webhookId: hookA.id })).toEqual([]);
    const [foreign] = await stored(app.sql`webhook_id = ${hookA.id}`);
    const query = 'query ($id: ID!) { node(id: $id) { id ... on Delivery { status } } }';
    expect((await teamB.ok(query, { id: foreign })).node).toBeNull();
    expect((await teamA.ok(query, { id: foreign })).node).toEqual({ id: foreign, status: 'PENDING' });
  });
});

describe('Webhook.deliveries', () => {
  it("lists the webhook's deliveries, filtered by status", async () => {
    const query = `query ($id: ID!, $status: [DeliveryStatus!]) {
      node(id: $id) { ... on Webhook { deliveries(first: 50, status: $status) { edges { node { id webhook { id } } } } } }
    }`;
    const all = (await teamA.ok(query, { id: hookA.id })).node.deliveries.edges.map((edge: any) => edge.node);
    expect(idsOf(all)).toEqual(await stored(app.sql`webhook_id = ${hookA.id}`));
    expect(all.every((d: any) => d.webhook.id === hookA.id)).toBe(true);
    await app.sql`update deliveries set status = 'RETRYING' where id = ${all[1].id}`;
    const retrying = (await teamA.ok(query, { id: hookA.id, status: ['RETRYING'] })).node.deliveries.edges;
    expect(retrying.map((edge: any) => edge.node.id)).toEqual([all[1].id]);
    await app.sql`update deliveries set status = 'PENDING' where id = ${all[1].id}`;
  });
});

describe('Delivery fields', () => {
  it('shows the stored state and every attempt in order, attempts loaded in one query per page', async () => {
    const [id, other] = await stored(app.sql`webhook_id = ${hookA.id}`);
    const headers = [{ key: 'content-type', value: 'application/json' }];
    await app.sql`
      insert into delivery_attempts (delivery_id, number, started_at, duration_ms, request_url, request_headers,
                                     request_body, response_status, response_headers, response_body, error)
      values (${id}, 2, '2024-01-01T00:01:00Z', 30, 'http://127.0.0.1:9/receiver/0', ${app.sql.json(headers)}, '{}', 200,
              ${app.sql.json([{ key: 'x-r', value: '1' }])}, 'ok', null),
             (${id}, 1, '2024-01-01T00:00:00Z', 12, 'http://127.0.0.1:9/receiver/0', ${app.sql.json(headers)}, '{}', null,
              null, null, 'connection refused'),
             (${other}, 1, '2024-01-01T00:00:00Z', 5, 'http://127.0.0.1:9/receiver/1', ${app.sql.json(headers)}, '{}', 500,
              null, 'boom', null)`;
    await app.sql`
      update deliveries set status = 'SUCCEEDED', attempt_count = 2, last_response_status = 200, last_error = null,
             next_attempt_at = null, completed_at = '2024-01-01T00:01:00.030Z'
      where id = ${id}`;

    app.t.queries.length = 0;
    const { deliveries } = await app.t.gql.ok(`{
      deliveries(first: 50) { edges { node {
        id status attemptCount nextAttemptAt lastResponseStatus lastError createdAt completedAt replayOf { id }
        attempts { number startedAt durationMs requestUrl requestHeaders { key value } requestBody responseStatus
                   responseHeaders { key value } responseBody error }
      } } }
    }`);
    expect(app.t.queries.filter((q) => q.includes('delivery_attempts'))).toHaveLength(1);

    const node = deliveries.edges.find((edge: any) => edge.node.id === id).node;
    expect(node).toMatchObject({
      status: 'SUCCEEDED',
      attemptCount: 2,
      nextAttemptAt: null,
      lastResponseStatus: 200,
      lastError: null,
      completedAt: '2024-01-01T00:01:00.030Z',
      replayOf: null,
    });
    expect(node.attempts).toEqual([
      {
        number: 1,
        startedAt: '2024-01-01T00:00:00.000Z',
        durationMs: 12,
        requestUrl: 'http://127.0.0.1:9/receiver/0',
        requestHeaders: headers,
        requestBody: '{}',
        responseStatus: null,
        responseHeaders: null,
        responseBody: null,
        error: 'connection refused',
      },
      {
        number: 2,
        startedAt: '2024-01-01T00:01:00.000Z',
        durationMs: 30,
        requestUrl: 'http://127.0.0.1:9/receiver/0',
        requestHeaders: headers,
        requestBody: '{}',
        responseStatus: 200,
        responseHeaders: [{ key: 'x-r', value: '1' }],
        responseBody: 'ok',
        error: null,
      },
    ]);
    expect(deliveries.edges.find((edge: any) => edge.node.id === other).node.attempts.map((a: any) => a.responseStatus)).toEqual([500]);
    expect(deliveries.edges.filter((edge: any) => ![id, other].includes(edge.node.id)).every((edge: any) => edge.node.attempts.length === 0)).toBe(true);
  });
});
