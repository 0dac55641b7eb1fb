import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphqlClient } from '../helpers/gql.js';
import { countRows, hook, publish, teamToken, tokenOf, useApiApp, type Hook } from '../helpers/event-fixtures.js';

const app = useApiApp();
let teamA: GraphqlClient;
let teamAViewer: GraphqlClient;
let teamB: GraphqlClient;
let notices = 0;

const REPLAY = `mutation ($id: ID!) {
  replayDelivery(id: $id) { delivery { id status attemptCount replayOf { id status } event { id } endpoint { id } webhook { id } } }
}`;
const REPLAY_MANY = `mutation ($input: ReplayDeliveriesInput!) { replayDeliveries(input: $input) { count } }`;

/** A webhook of the team behind `gql` with its own event resource, and `n` events published to it. */
async function hookWithDeliveries(gql: GraphqlClient, resource: string, n: number, endpoints = 1) {
  const h = await hook(gql, [{ resource, event: '*' }], { endpoints });
  for (let i = 0; i < n; i++) await publish(app.t.gql, { type: `${resource}.done`, data: { i } });
  const rows = await app.sql<{ id: string; endpoint_id: string }[]>`
    select id, endpoint_id from deliveries where webhook_id = ${h.id} order by id`;
  return { ...h, deliveries: rows.map((r) => r.id) };
}

const replaysOf = (ids: string[]) =>
  app.sql<{ id: string; replay_of: string; status: string; event_id: string; endpoint_id: string }[]>`
    select id, replay_of, status, event_id, endpoint_id from deliveries where replay_of = any(${ids}) order by replay_of`;

/** Waits a little for NOTIFYs to arrive and returns how many came since the last call. */
async function newNotices(): Promise<number> {
  await new Promise((r) => setTimeout(r, 150));
  const n = notices;
  notices = 0;
  return n;
}

beforeAll(async () => {
  await app.sql.listen('hookline_work', () => notices++);
  const a = await teamToken(app.t.gql, 'replay-a');
  const b = await teamToken(app.t.gql, 'replay-b');
  teamA = app.t.gql.as(a.token);
  teamAViewer = app.t.gql.as(await tokenOf(app.t.gql, a.teamId, 'VIEWER'));
  teamB = app.t.gql.as(b.token);
});

describe('replayDelivery', () => {
  let h: Hook & { deliveries: string[] };
  beforeAll(async () => {
    h = await hookWithDeliveries(teamA, 'one', 1, 2);
  });

  it('creates a new PENDING delivery of the same event to the same endpoint, replayOf the old one', async () => {
    const [old] = h.deliveries;
    await app.sql`update deliveries set status = 'FAILED', attempt_count = 8, completed_at = now() where id = ${old}`;
    await newNotices();
    const { replayDelivery } = await teamA.ok(REPLAY, { id: old });
    const { delivery } = replayDelivery;
    const [oldRow] = await app.sql`select event_id, endpoint_id from deliveries where id = ${old}`;
    expect(delivery.id).not.toBe(old);
    expect(delivery).toMatchObject({
      status: 'PENDING',
      attemptCount: 0,
      replayOf: { id: old, status: 'FAILED' },
      event: { id: oldRow.event_id },
      endpoint: { id: oldRow.endpoint_id },
      webhook: { id: h.id },
    });
    const [row] = await app.sql`select status, next_attempt_at <= now() as due from deliveries where id = ${delivery.id}`;
    expect(row).toEqual({ status: 'PENDING', due: true });
    expect(await newNotices()).toBeGreaterThanOrEqual(1);
  });

  it('refuses a delivery to a non-ACTIVE endpoint or webhook (BAD_USER_INPUT) and writes nothing', async () => {
    const [, toStopped] = h.deliveries;
    const endpoint = (await app.sql`select endpoint_id from deliveries where id = ${toStopped}`)[0].endpoint_id;
    await teamA.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }', { id: endpoint });
    const before = await countRows(app.sql);
    const stopped = await teamA(REPLAY, { id: toStopped });
    expect(stopped.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(stopped.errors?.[0].message).toMatch(/^id: .*STOPPED/);
    await teamA.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { id } }', { id: endpoint });

    await teamA.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }', { id: h.id });
    const webhookStopped = await teamA(REPLAY, { id: toStopped });
    expect(webhookStopped.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    await teamA.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: ACTIVE) { id } }', { id: h.id });
    expect(await countRows(app.sql)).toEqual(before);
  });

  it("gives NOT_FOUND for another team's delivery or an unknown id, FORBIDDEN to a VIEWER", async () => {
    const before = await countRows(app.sql);
    const foreign = await teamB(REPLAY, { id: h.deliveries[0] });
    expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(foreign.errors?.[0].message).toMatch(/^id: /);
    expect((await teamA(REPLAY, { id: 'dlv_0000000000000000000000000' })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await teamAViewer(REPLAY, { id: h.deliveries[0] })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await countRows(app.sql)).toEqual(before);
  });
});

describe('replayDeliveries', () => {
  it('replays every matching delivery once, PENDING, replayOf the original; dryRun only counts', async () => {
    const h = await hookWithDeliveries(teamA, 'many', 3, 2);
    expect(h.deliveries).toHaveLength(6);
    const before = await countRows(app.sql);
    await newNotices();
    const dry = await teamA.ok(REPLAY_MANY, { input: { webhookId: h.id, dryRun: true } });
    expect(dry.replayDeliveries.count).toBe(6);
    expect(await countRows(app.sql)).toEqual(before);
    expect(await newNotices()).toBe(0);

    const done = await teamA.ok(REPLAY_MANY, { input: { webhookId: h.id } });
    expect(done.replayDeliveries.count).toBe(6);
    const replays = await replaysOf(h.deliveries);
    expect(replays.map((r) => r.replay_of)).toEqual([...h.deliveries].sort());
    expect(replays.every((r) => r.status === 'PENDING' && r.id.startsWith('dlv_') && !h.deliveries.includes(r.id))).toBe(true);
    const originals = await app.sql`select id, event_id, endpoint_id from deliveries where id = any(${h.deliveries})`;
    for (const r of replays) {
      const original = originals.find((o) => o.id === r.replay_of)!;
      expect([r.event_id, r.endpoint_id]).toEqual([original.event_id, original.endpoint_id]);
    }
    expect(await newNotices()).toBeGreaterThanOrEqual(1);
    // The new ones sort as the newest deliveries (ids are time-ordered).
    const { deliveries } = await teamA.ok('query ($id: ID!) { deliveries(first: 6, webhookId: $id) { edges { node { replayOf { id } } } } }', {
      id: h.id,
    });
    expect(deliveries.edges.every((edge: any) => edge.node.replayOf !== null)).toBe(true);
  });

  it('filters by endpoint and status', async () => {
    const h = await hookWithDeliveries(teamA, 'status', 3, 2);
    const failed = h.deliveries.slice(0, 3);
    await app.sql`update deliveries set status = 'FAILED' where id = any(${failed})`;
    expect((await teamA.ok(REPLAY_MANY, { input: { webhookId: h.id, status: ['FAILED'], dryRun: true } })).replayDeliveries.count).toBe(3);
    const [{ endpoint_id: endpoint, n }] = await app.sql`
      select endpoint_id, count(*)::int as n from deliveries where id = any(${failed}) group by endpoint_id order by n desc limit 1`;
    const byEndpoint = await teamA.ok(REPLAY_MANY, { input: { endpointId: endpoint, status: ['FAILED'] } });
    expect(byEndpoint.replayDeliveries.count).toBe(n);
    const replays = await replaysOf(failed);
    expect(replays).toHaveLength(n);
    expect(replays.every((r) => r.endpoint_id === endpoint)).toBe(true);
  });

  it('filters by creation time: since inclusive, until exclusive', async () => {
    const h = await hookWithDeliveries(teamA, 'timed', 3);
    await app.sql`update deliveries set created_at = '2021-01-01T00:00:00Z' where id = ${h.deliveries[0]}`;
    await app.sql`update deliveries set created_at = '2021-01-02T00:00:00Z' where id = ${h.deliveries[1]}`;
    const count = async (since: string | null, until: string | null) =>
      (await teamA.ok(REPLAY_MANY, { input: { webhookId: h.id, since, until, dryRun: true } })).replayDeliveries.count;
    expect(await count('2021-01-01T00:00:00Z', '2021-01-02T00:00:00Z')).toBe(1);
    expect(await count('2021-01-01T00:00:00Z', '2021-01-02T00:00:00.001Z')).toBe(2);
    expect(await count(null, '2022-01-01T00:00:00Z')).toBe(2);
    expect(await count('2022-01-01T00:00:00Z', null)).toBe(1);
    const backwards = await teamA(REPLAY_MANY, { input: { since: '2022-01-01T00:00:00Z', until: '2021-01-01T00:00:00Z' } });
    expect(backwards.errors?.[0].message).toMatch(/^input\.until: /);
    await teamA.ok(REPLAY_MANY, { input: { webhookId: h.id, until: '2022-01-01T00:00:00Z' } });
    expect((await replaysOf(h.deliveries)).map((r) => r.replay_of)).toEqual([h.deliveries[0], h.deliveries[1]].sort());
  });

  it('replays only to ACTIVE endpoints of ACTIVE webhooks', async () => {
    const h = await hookWithDeliveries(teamA, 'partly', 2, 2);
    await teamA.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }', { id: h.endpointIds[1] });
    expect((await teamA.ok(REPLAY_MANY, { input: { webhookId: h.id } })).replayDeliveries.count).toBe(2);
    expect((await replaysOf(h.deliveries)).every((r) => r.endpoint_id === h.endpointIds[0])).toBe(true);
    await teamA.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }', { id: h.id });
    expect((await teamA.ok(REPLAY_MANY, { input: { webhookId: h.id, dryRun: true } })).replayDeliveries.count).toBe(0);
  });

  it("stays inside the token's team; another team's webhook or endpoint is NOT_FOUND", async () => {
    const a = await hookWithDeliveries(teamA, 'scopea', 2);
    const b = await hookWithDeliveries(teamB, 'scopeb', 2);
    const before = await countRows(app.sql);
    for (const input of [{ webhookId: a.id }, { endpointId: a.endpointIds[0] }]) {
      const result = await teamB(REPLAY_MANY, { input });
      expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(result.errors?.[0].message).toMatch(/^input\.(webhookId|endpointId): /);
    }
    expect(await countRows(app.sql)).toEqual(before);

    // Without a webhook: everything of team B (its only webhook here), nothing of team A.
    const result = await teamB.ok(REPLAY_MANY, { input: {} });
    expect(result.replayDeliveries.count).toBe(2);
    expect(await replaysOf(a.deliveries)).toEqual([]);
    expect((await replaysOf(b.deliveries)).map((r) => r.replay_of)).toEqual(b.deliveries);
    expect((await teamAViewer(REPLAY_MANY, { input: { dryRun: true } })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
