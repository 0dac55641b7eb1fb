import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deliveryFeed } from '../../src/live/feed.js';
import { healthWatch } from '../../src/live/health.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { publish, teamToken } from '../helpers/event-fixtures.js';
import { spawnHookline, type HooklineProcess } from '../helpers/processes.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { createWebhook, openSql } from '../helpers/webhook-fixtures.js';
import { wsClient, type WsClient } from '../helpers/ws-client.js';

/**
 * Live delivery status over graphql-ws. The api runs in this process (HOOKLINE_ROLE=api: it never sends), the
 * deliveries are sent by a separate worker process (`node bin/hookline.js serve`, HOOKLINE_ROLE=worker) on the
 * same database, to a receiver on 127.0.0.1. What a client sees can only have come through Postgres NOTIFY.
 */

let t: TestApp;
let sql: postgres.Sql;
let receiver: Receiver;
let worker: HooklineProcess;
let workerDataDir: string;
const clients: WsClient[] = [];

/** Per path: the receiver answers 500 to the first request of /flaky, 500 always to /down, else 200. */
const seen = new Map<string, number>();

beforeAll(async () => {
  t = await startTestApp({ HOOKLINE_ROLE: 'api', LOG_LEVEL: 'error' });
  sql = openSql(t.database.url);
  receiver = await startReceiver((request) => {
    const path = request.url.split('?')[0];
    const n = seen.get(path) ?? 0;
    seen.set(path, n + 1);
    if (path.startsWith('/down') || (path.startsWith('/flaky') && n === 0)) return { status: 500, body: 'nope' };
    return { status: 200 };
  });
  workerDataDir = await mkdtemp(join(tmpdir(), 'hookline-live-worker-'));
  worker = spawnHookline({
    DATABASE_URL: t.database.url,
    HOOKLINE_ROLE: 'worker',
    HOOKLINE_ADMIN_TOKEN: t.adminToken,
    HOOKLINE_DATA_DIR: workerDataDir,
    HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32',
    // Two attempts, 100 ms apart: a failing endpoint goes PENDING, SENDING, RETRYING, SENDING, FAILED quickly.
    HOOKLINE_RETRY_SCHEDULE: '100ms',
    HOOKLINE_POLL_INTERVAL: '100ms',
    HOOKLINE_SHUTDOWN_GRACE: '5s',
  });
  await worker.url;
});

afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await receiver?.close();
  await sql?.end();
  await t?.stop();
  if (workerDataDir) await rm(workerDataDir, { recursive: true, force: true });
});

// Every test closes its clients; the server must then drop every subscriber it held for them.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await eventually(async () => deliveryFeed(t.app.services).size === 0 && healthWatch(t.app.services).size === 0);
});

function client(token: string | null = t.adminToken): WsClient {
  const c = wsClient(t.url, token);
  clients.push(c);
  return c;
}

/** Resolves once the api process holds `count` deliveryUpdated subscribers (a client gets no acknowledgement). */
const subscribers = (count: number) => eventually(async () => deliveryFeed(t.app.services).size === count);

const DELIVERY_UPDATED = `subscription ($webhookId: ID, $endpointId: ID) {
  deliveryUpdated(webhookId: $webhookId, endpointId: $endpointId) {
    id status attemptCount replayOf { id } event { id } webhook { id } endpoint { id }
  }
}`;

type Update = {
  id: string;
  status: string;
  attemptCount: number;
  replayOf: { id: string } | null;
  event: { id: string };
  webhook: { id: string };
  endpoint: { id: string };
};

function watchDeliveries(c: WsClient, variables: { webhookId?: string; endpointId?: string } = {}) {
  return c.subscribe<Update>(DELIVERY_UPDATED, variables, (data) => data.deliveryUpdated);
}

/** A webhook (admin-created unless `gql` says otherwise) with endpoints on the receiver at these paths. */
async function webhookTo(paths: string[], event: string, extra: Record<string, unknown> = {}, gql = t.gql) {
  const { webhook } = await createWebhook(gql, {
    name: `live ${event}`,
    triggers: [{ resource: 'live', event }],
    endpoints: paths.map((path) => ({ url: `${receiver.url}${path}` })),
    ...extra,
  });
  return { id: webhook.id as string, endpointIds: webhook.endpoints.map((e: { id: string }) => e.id) as string[] };
}

const statusesOf = (updates: Update[], deliveryId: string) =>
  updates.filter((u) => u.id === deliveryId).map((u) => u.status);
const isFinal = (status: string) => status === 'SUCCEEDED' || status === 'FAILED';
const finished = (updates: Update[], deliveryId: string) => statusesOf(updates, deliveryId).some(isFinal);

describe('deliveryUpdated', () => {
  it('shows a client every status change of deliveries sent by a separate worker process, per webhook or endpoint', async () => {
    const hook = await webhookTo(['/flaky/1', '/down/1'], 'every-change');
    const [flaky, down] = hook.endpointIds;
    const c = client();
    const all = watchDeliveries(c, { webhookId: hook.id });
    const onlyDown = watchDeliveries(c, { endpointId: down });
    await subscribers(2);

    const published = await publish(t.gql, { type: 'live.every-change', data: { n: 1 } });
    const toFlaky = published.deliveries.find((d) => d.endpoint.id === flaky)!;
    const toDown = published.deliveries.find((d) => d.endpoint.id === down)!;

    const updates = await all.until((u) => finished(u, toFlaky.id) && finished(u, toDown.id));
    // First attempt 500, second 200 / both 500 with one retry in the schedule.
    expect(statusesOf(updates, toFlaky.id)).toEqual(['PENDING', 'SENDING', 'RETRYING', 'SENDING', 'SUCCEEDED']);
    expect(statusesOf(updates, toDown.id)).toEqual(['PENDING', 'SENDING', 'RETRYING', 'SENDING', 'FAILED']);
    const last = updates.filter((u) => u.id === toFlaky.id).at(-1)!;
    expect(last).toMatchObject({ attemptCount: 2, event: { id: published.event.id }, webhook: { id: hook.id } });

    const downOnly = await onlyDown.until((u) => finished(u, toDown.id));
    expect(new Set(downOnly.map((u) => u.endpoint.id))).toEqual(new Set([down]));
    expect(downOnly.map((u) => u.status)).toEqual(['PENDING', 'SENDING', 'RETRYING', 'SENDING', 'FAILED']);
  });

  it('announces replays (one or in bulk) as new PENDING deliveries, then their sending', async () => {
    const hook = await webhookTo(['/replayed'], 'replayed');
    const { deliveries } = await publish(t.gql, { type: 'live.replayed', data: {} });
    await eventually(async () => (await t.gql.ok(`{ node(id: "${deliveries[0].id}") { ... on Delivery { status } } }`)).node.status === 'SUCCEEDED');

    const updates = watchDeliveries(client(), { webhookId: hook.id });
    await subscribers(1);
    const { replayDelivery } = await t.gql.ok('mutation ($id: ID!) { replayDelivery(id: $id) { delivery { id } } }', {
      id: deliveries[0].id,
    });
    const seenUpdates = await updates.until((u) => finished(u, replayDelivery.delivery.id));
    expect(seenUpdates.map((u) => [u.id, u.status, u.replayOf?.id])).toEqual([
      [replayDelivery.delivery.id, 'PENDING', deliveries[0].id],
      [replayDelivery.delivery.id, 'SENDING', deliveries[0].id],
      [replayDelivery.delivery.id, 'SUCCEEDED', deliveries[0].id],
    ]);

    const { replayDeliveries } = await t.gql.ok(
      'mutation ($input: ReplayDeliveriesInput!) { replayDeliveries(input: $input) { count } }',
      { input: { webhookId: hook.id } },
    );
    expect(replayDeliveries.count).toBe(2);
    const bulk = (u: Update[]) => u.slice(seenUpdates.length);
    const replays = await updates.until((u) => bulk(u).filter((x) => x.status === 'SUCCEEDED').length === 2);
    const replayIds = [...new Set(bulk(replays).map((u) => u.id))];
    expect(replayIds).toHaveLength(2);
    for (const id of replayIds) expect(statusesOf(replays, id)).toEqual(['PENDING', 'SENDING', 'SUCCEEDED']);
  });

  it("never shows a team's subscriber another team's deliveries", async () => {
    const a = await teamToken(t.gql, 'live-team-a');
    const b = await teamToken(t.gql, 'live-team-b', 'VIEWER');
    const hookA = await webhookTo(['/team-a'], 'team-a', { teamId: a.teamId });
    const hookB = await webhookTo(['/team-b'], 'team-b', { teamId: b.teamId });
    const ofA = watchDeliveries(client(a.token));
    const ofB = watchDeliveries(client(b.token));
    const admin = watchDeliveries(client());
    await subscribers(3);

    // A filter on another team's webhook or endpoint is NOT_FOUND, as everywhere else.
    const onAsWebhook = watchDeliveries(client(b.token), { webhookId: hookA.id });
    const onAsEndpoint = watchDeliveries(client(b.token), { endpointId: hookA.endpointIds[0] });
    await Promise.all([onAsWebhook.done, onAsEndpoint.done]);
    expect(onAsWebhook.errors).toMatchObject([{ extensions: { code: 'NOT_FOUND' }, message: expect.stringContaining('webhookId') }]);
    expect(onAsEndpoint.errors).toMatchObject([{ extensions: { code: 'NOT_FOUND' }, message: expect.stringContaining('endpointId') }]);

    // A's delivery runs to the end, then B's: B's subscriber has handled A's changes by the time it sees its own.
    const first = await publish(t.gql, { type: 'live.team-a', data: {} });
    await ofA.until((u) => finished(u, first.deliveries[0].id));
    const second = await publish(t.gql, { type: 'live.team-b', data: {} });
    await ofB.until((u) => finished(u, second.deliveries[0].id));
    await admin.until((u) => finished(u, first.deliveries[0].id) && finished(u, second.deliveries[0].id));

    expect(new Set(ofB.values.map((u) => u.webhook.id))).toEqual(new Set([hookB.id]));
    expect(new Set(ofA.values.map((u) => u.webhook.id))).toEqual(new Set([hookA.id]));
    expect(new Set(admin.values.map((u) => u.webhook.id))).toEqual(new Set([hookA.id, hookB.id]));
  });

  it('ends a subscription whose token is revoked, at its next update', async () => {
    const { teamId } = await teamToken(t.gql, 'live-revoked');
    const created = await t.gql.ok(
      'mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }',
      { input: { name: 'soon revoked', role: 'VIEWER', teamId } },
    );
    await webhookTo(['/revoked'], 'revoked', { teamId });
    const watcher = watchDeliveries(client(created.createApiToken.token));
    await subscribers(1);
    const before = await publish(t.gql, { type: 'live.revoked', data: {} });
    await watcher.until((u) => u.some((x) => x.id === before.deliveries[0].id));

    await t.gql.ok('mutation ($id: ID!) { revokeApiToken(id: $id) { apiToken { id } } }', { id: created.createApiToken.apiToken.id });
    await new Promise((r) => setTimeout(r, 5_500)); // token lookups are cached for 5 s
    const seen = watcher.values.length;
    const after = await publish(t.gql, { type: 'live.revoked', data: {} });
    await watcher.done;
    expect(watcher.errors).toMatchObject([{ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringContaining('revoked') }]);
    expect(watcher.values.slice(seen).some((x) => x.id === after.deliveries[0].id)).toBe(false);
  });

  it('refuses a subscription without a valid token', async () => {
    for (const token of [null, 'hl_not-a-real-token']) {
      const refused = watchDeliveries(client(token));
      await refused.done;
      expect(refused.values).toEqual([]);
      expect(refused.errors).toMatchObject([
        { extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringContaining('connectionParams') },
      ]);
    }
    expect(deliveryFeed(t.app.services).size).toBe(0);
  });

  it('keeps delivering after its LISTEN connection is lost, and catches up on what it missed meanwhile', async () => {
    const hook = await webhookTo(['/relisten'], 'relisten', { state: 'STOPPED' });
    const { deliveries } = await publish(t.gql, { type: 'live.relisten', data: {} });
    expect(deliveries).toEqual([]);
    // A STOPPED webhook gets no deliveries and no worker touches this one: its statuses are written here.
    const [{ id: eventId }] = await sql`select id from events where type = 'live.relisten'`;
    const id = 'dlv_relisten0000000000000000';
    await sql`insert into deliveries (id, event_id, webhook_id, endpoint_id) values (${id}, ${eventId}, ${hook.id}, ${hook.endpointIds[0]})`;

    const updates = watchDeliveries(client(), { webhookId: hook.id });
    await subscribers(1);
    // The api's LISTEN connection (the worker process LISTENs on another channel).
    const listener = async () =>
      (await sql`select pid from pg_stat_activity where datname = current_database() and query = 'listen "hookline_delivery_updated"'`)[0]
        ?.pid as number | undefined;
    const before = await listener();
    expect(before).toBeDefined();

    // A change whose notification is lost (none is sent), then the LISTEN connection dies.
    await sql`update deliveries set status = 'SENDING', updated_at = now() where id = ${id}`;
    await sql`select pg_terminate_backend(${before!})`;
    await updates.until((u) => u.some((x) => x.status === 'SENDING'));

    // Listening again, on a new connection: the next change arrives as usual.
    await eventually(async () => {
      const pid = await listener();
      return pid !== undefined && pid !== before;
    });
    await sql.begin((tx) => [
      tx`update deliveries set status = 'FAILED', updated_at = now() where id = ${id}`,
      tx`select pg_notify('hookline_delivery_updated', ${JSON.stringify({ deliveries: [{ id, status: 'FAILED' }] })})`,
    ]);
    const seenUpdates = await updates.until((u) => u.some((x) => x.status === 'FAILED'));
    expect(seenUpdates.map((u) => u.status)).toEqual(['SENDING', 'FAILED']);
  });
});

const HEALTH = `subscription ($webhookId: ID!) {
  webhookHealthUpdated(webhookId: $webhookId) {
    webhookId attemptCount1h successRate1h p50LatencyMs1h p95LatencyMs1h attemptCount24h successRate24h
    pendingCount endpoints { id state } updatedAt
  }
}`;

describe('webhookHealthUpdated', () => {
  it('pushes new numbers after deliveries, at most once a second, matching Webhook.health', async () => {
    const hook = await webhookTo(['/health-ok', '/down/health'], 'health');
    const health = client().subscribe(HEALTH, { webhookId: hook.id }, (data) => data.webhookHealthUpdated);
    const [initial] = await health.until((h) => h.length >= 1);
    expect(initial).toMatchObject({
      webhookId: hook.id,
      attemptCount1h: 0,
      successRate1h: null,
      p50LatencyMs1h: null,
      pendingCount: 0,
      endpoints: hook.endpointIds.map((id) => ({ id, state: 'ACTIVE' })),
    });

    // Two events: per event one success (/health-ok) and two failed attempts (/down/health), 6 attempts in all.
    for (let i = 0; i < 2; i++) await publish(t.gql, { type: 'live.health', data: { i } });
    const pushes = await health.until((h) => h.at(-1).attemptCount1h === 6 && h.at(-1).pendingCount === 0);
    const latest = pushes.at(-1);
    expect(latest.successRate1h).toBeCloseTo(2 / 6);
    expect(latest.attemptCount24h).toBe(6);
    expect(latest.p50LatencyMs1h).toBeGreaterThanOrEqual(0);
    expect(latest.p95LatencyMs1h).toBeGreaterThanOrEqual(latest.p50LatencyMs1h);
    // Some push showed deliveries still to do.
    expect(pushes.some((h) => h.pendingCount > 0)).toBe(true);

    // Throttled: the pushes after the first numbers came at least a second apart (some slack for the network).
    const times = health.receivedAt.slice(1);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(900);

    const { node } = await t.gql.ok(
      `query ($id: ID!) { node(id: $id) { ... on Webhook { health {
        webhookId attemptCount1h successRate1h p50LatencyMs1h p95LatencyMs1h attemptCount24h successRate24h pendingCount endpoints { id state }
      } } } }`,
      { id: hook.id },
    );
    const { updatedAt: _, ...pushed } = latest;
    expect(node.health).toEqual(pushed);
  });

  it("is NOT_FOUND for another team's webhook", async () => {
    const other = await teamToken(t.gql, 'live-health-other');
    const hook = await webhookTo(['/health-hidden'], 'health-hidden');
    const health = client(other.token).subscribe(HEALTH, { webhookId: hook.id });
    await health.done;
    expect(health.errors).toMatchObject([{ extensions: { code: 'NOT_FOUND' } }]);
  });
});
