import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphqlClient } from '../helpers/gql.js';
import { hook, publish, teamToken, tokenOf, useApiApp, type Hook } from '../helpers/event-fixtures.js';

const app = useApiApp();
let teamA: GraphqlClient;
let teamAViewer: GraphqlClient;
let teamB: GraphqlClient;
let hookA: Hook;
let hookB: Hook;
/** Published in this order: e[0] oldest. */
const e: string[] = [];

const EVENTS = `query ($first: Int, $after: String, $type: String) {
  events(first: $first, after: $after, type: $type) {
    edges { cursor node { id type data deliveries { id webhook { id } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const ids = async (gql: GraphqlClient, vars: Record<string, unknown> = {}) =>
  (await gql.ok(EVENTS, vars)).events.edges.map((edge: any) => edge.node.id);

beforeAll(async () => {
  const a = await teamToken(app.t.gql, 'events-a');
  const b = await teamToken(app.t.gql, 'events-b');
  teamA = app.t.gql.as(a.token);
  teamAViewer = app.t.gql.as(await tokenOf(app.t.gql, a.teamId, 'VIEWER'));
  teamB = app.t.gql.as(b.token);
  hookA = await hook(teamA, [{ resource: 'shop', event: '*' }]);
  hookB = await hook(teamB, [{ resource: 'shop', event: 'order' }]);
  await hook(app.t.gql, [{ resource: '*', event: '*' }], { name: 'admin-only' });
  for (const type of ['shop.order', 'shop.refund', 'misc.thing', 'shop.order']) {
    e.push((await publish(app.t.gql, { type, data: { n: e.length } })).event.id);
  }
  // Published by a team token: events are not owned by a team, they reach every matching webhook.
  e.push((await publish(teamB, { type: 'shop.order', data: { n: 4 } })).event.id);
});

describe('events query', () => {
  it('lists every event newest first for ADMIN, with data and deliveries', async () => {
    expect(await ids(app.t.gql)).toEqual([...e].reverse());
    const { events } = await app.t.gql.ok(EVENTS, { first: 1 });
    expect(events.edges[0].node.data).toEqual({ n: 4 });
    expect(events.edges[0].node.deliveries).toHaveLength(3);
  });

  it('pages with first/after and reports hasNextPage', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { events } = await app.t.gql.ok(EVENTS, { first: 2, after });
      seen.push(...events.edges.map((edge: any) => edge.node.id));
      if (!events.pageInfo.hasNextPage) break;
      after = events.pageInfo.endCursor;
    }
    expect(seen).toEqual([...e].reverse());
    const tooMany = await app.t.gql(EVENTS, { first: 10_000 });
    expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('filters by type', async () => {
    expect(await ids(app.t.gql, { type: 'shop.order' })).toEqual([e[4], e[3], e[0]]);
    expect(await ids(app.t.gql, { type: 'nothing.here' })).toEqual([]);
  });

  it('shows a team token only events with a delivery to its team, and only its own deliveries', async () => {
    expect(await ids(teamA)).toEqual([e[4], e[3], e[1], e[0]]);
    expect(await ids(teamAViewer)).toEqual([e[4], e[3], e[1], e[0]]);
    expect(await ids(teamB)).toEqual([e[4], e[3], e[0]]);
    expect(await ids(teamB, { type: 'shop.refund' })).toEqual([]);

    const { events } = await teamB.ok(EVENTS, { type: 'shop.order' });
    for (const edge of events.edges) {
      expect(edge.node.deliveries.map((d: any) => d.webhook.id)).toEqual([hookB.id]);
    }
    const adminView = await app.t.gql.ok('query ($id: ID!) { node(id: $id) { ... on Event { deliveries { id } } } }', { id: e[0] });
    expect(adminView.node.deliveries).toHaveLength(3);
  });

  it('node(id) is null for an event the token may not see', async () => {
    const query = 'query ($id: ID!) { node(id: $id) { id ... on Event { type } } }';
    expect((await teamB.ok(query, { id: e[1] })).node).toBeNull();
    expect((await teamA.ok(query, { id: e[2] })).node).toBeNull();
    expect((await teamA.ok(query, { id: e[1] })).node).toEqual({ id: e[1], type: 'shop.refund' });
    expect((await app.t.gql.ok(query, { id: e[2] })).node).toEqual({ id: e[2], type: 'misc.thing' });
  });

  it('the delivery leads back to its event and the event to its deliveries', async () => {
    const { node } = await teamA.ok(
      'query ($id: ID!) { node(id: $id) { ... on Event { deliveries { id event { id } endpoint { id } } } } }',
      { id: e[1] },
    );
    expect(node.deliveries).toEqual([{ id: expect.stringMatching(/^dlv_/), event: { id: e[1] }, endpoint: { id: hookA.endpointIds[0] } }]);
  });
});

describe('eventTypes query', () => {
  it('lists the catalogue to every token', async () => {
    const { eventTypes } = await teamAViewer.ok('{ eventTypes { name resource event count } }');
    expect(eventTypes).toEqual([
      { name: 'misc.thing', resource: 'misc', event: 'thing', count: 1 },
      { name: 'shop.order', resource: 'shop', event: 'order', count: 3 },
      { name: 'shop.refund', resource: 'shop', event: 'refund', count: 1 },
    ]);
  });
});
