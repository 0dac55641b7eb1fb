/**
 * `npm run bench:subscriptions`: 200 graphql-ws subscribers (one connection each) on one api process receive a burst
 * of 1,000 delivery status changes. Prints what each subscriber received against what it should have, and the lag
 * from each change's commit to its arrival at the client (p50/p99/max). It measures; it asserts nothing.
 *
 * The api runs as its own process (`node bin/hookline.js serve`, HOOKLINE_ROLE=api), so the clients here do not
 * share its CPU. The changes are written here as a worker writes them: an UPDATE and notifyDeliveryUpdated in one
 * transaction, 10 deliveries per transaction, 4 transactions at a time. The database: DATABASE_URL (a fresh
 * database is created on that server and dropped afterwards), else an embedded PostgreSQL in a temporary folder.
 *
 * Settings (environment): BENCH_SUBSCRIBERS (200), BENCH_UPDATES (1000); PROF=<dir> writes a CPU profile of the api.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { notifyDeliveryUpdated } from '../src/delivery/notify.sql.js';
import { graphqlClient } from '../test/helpers/gql.js';
import { wsClient, type LiveSubscription, type WsClient } from '../test/helpers/ws-client.js';
import { startHookline } from './hookline.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 200);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 1000);
const PER_TRANSACTION = 10;
const CONCURRENT_TRANSACTIONS = 4;
const RECEIVE_WITHIN_MS = 120_000;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
const say = (line = '') => process.stdout.write(line + '\n');

async function main() {
  const { url: databaseUrl, label } = await database();
  const hookline = await startHookline(databaseUrl, { HOOKLINE_ROLE: 'api', HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32' }, process.env.PROF);
  cleanups.push(() => hookline.stop());
  const { url: api, token: adminToken } = hookline;
  const gql = graphqlClient(`${api}/graphql`, adminToken);
  const sql = postgres(databaseUrl, { max: CONCURRENT_TRANSACTIONS, onnotice: () => {} });
  cleanups.push(() => sql.end());

  // One webhook, one endpoint that is never called (no worker runs), UPDATES + 1 deliveries: the last is the probe.
  const { createWebhook } = await gql.ok(
    `mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }`,
    {
      input: {
        name: 'bench',
        endpoints: [{ url: 'http://127.0.0.1:9/never' }],
        triggers: [{ resource: 'bench', event: 'update' }],
      },
    },
  );
  const webhookId: string = createWebhook.webhook.id;
  const ids: string[] = [];
  for (let left = UPDATES + 1; left > 0; left -= 1000) {
    const inputs = Array.from({ length: Math.min(left, 1000) }, (_, i) => ({ type: 'bench.update', data: { i } }));
    const { publishEvents } = await gql.ok(
      `mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { deliveries { id } } } }`,
      { inputs },
    );
    for (const result of publishEvents.results) ids.push(result.deliveries[0].id);
  }
  const probe = ids.pop()!;

  say(`Hookline subscriptions benchmark (${label}; api process HOOKLINE_ROLE=api at ${api})`);
  say(`  ${SUBSCRIBERS} graphql-ws clients, one connection each, subscribed to deliveryUpdated(webhookId)`);

  const clients: WsClient[] = [];
  const subscriptions: LiveSubscription<{ id: string; status: string }>[] = [];
  cleanups.push(() => Promise.all(clients.map((c) => c.close())));
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const client = wsClient(api, adminToken);
    clients.push(client);
    subscriptions.push(
      client.subscribe(
        'subscription ($webhookId: ID) { deliveryUpdated(webhookId: $webhookId) { id status attemptCount updatedAt } }',
        { webhookId },
        (data) => data.deliveryUpdated,
      ),
    );
  }

  // A client gets no acknowledgement of its subscription: change the probe until every subscriber has seen it.
  const connectStarted = Date.now();
  const sawProbe = (s: LiveSubscription<{ id: string }>) => s.values.some((v) => v.id === probe);
  for (let round = 0; subscriptions.some((s) => !sawProbe(s)); round++) {
    if (Date.now() - connectStarted > 60_000) throw new Error('not every subscriber was live within 60 s');
    await change(sql, [probe], round % 2 ? 'PENDING' : 'RETRYING');
    await new Promise((r) => setTimeout(r, 200));
  }
  say(`  all subscribed and receiving after ${((Date.now() - connectStarted) / 1000).toFixed(1)} s`);
  const before = subscriptions.map((s) => s.values.length);

  // The burst.
  const committedAt = new Map<string, number>();
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += PER_TRANSACTION) batches.push(ids.slice(i, i + PER_TRANSACTION));
  const burstStarted = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENT_TRANSACTIONS }, async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        await change(sql, batch, 'SENDING');
        const now = Date.now();
        for (const id of batch) committedAt.set(id, now);
      }
    }),
  );
  const burstMs = Date.now() - burstStarted;
  say(
    `  burst: ${UPDATES} status changes in ${Math.ceil(UPDATES / PER_TRANSACTION)} transactions of ` +
      `${PER_TRANSACTION}, ${CONCURRENT_TRANSACTIONS} at a time, all committed in ${burstMs} ms`,
  );

  const received = () => subscriptions.map((s, i) => s.values.slice(before[i]).filter((v) => committedAt.has(v.id)));
  const deadline = Date.now() + RECEIVE_WITHIN_MS;
  while (received().some((r) => r.length < UPDATES) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500)); // anything more (duplicates) would arrive by now

  const lags: number[] = [];
  let lastArrival = 0;
  const perSubscriber = subscriptions.map((s, i) => {
    const got = s.values.slice(before[i]);
    const times = s.receivedAt.slice(before[i]);
    const distinct = new Set<string>();
    got.forEach((v, j) => {
      if (!committedAt.has(v.id) || v.status !== 'SENDING') return;
      distinct.add(v.id);
      lags.push(times[j] - committedAt.get(v.id)!);
      lastArrival = Math.max(lastArrival, times[j]);
    });
    return { distinct: distinct.size, total: got.filter((v) => committedAt.has(v.id)).length, errors: s.errors.length };
  });

  say();
  say('received/expected per subscriber:');
  for (let i = 0; i < perSubscriber.length; i += 8) {
    say(
      '  ' +
        perSubscriber
          .slice(i, i + 8)
          .map((p, j) => `#${String(i + j + 1).padStart(3, '0')} ${p.distinct}/${UPDATES}`.padEnd(16))
          .join(''),
    );
  }
  const complete = perSubscriber.filter((p) => p.distinct === UPDATES).length;
  const missing = perSubscriber.reduce((n, p) => n + UPDATES - p.distinct, 0);
  const duplicates = perSubscriber.reduce((n, p) => n + p.total - p.distinct, 0);
  const errors = perSubscriber.reduce((n, p) => n + p.errors, 0);
  say();
  say(
    `${complete}/${SUBSCRIBERS} subscribers received all ${UPDATES} updates; missing ${missing}, duplicates ` +
      `${duplicates}, errors ${errors}`,
  );
  lags.sort((a, b) => a - b);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))];
  say(
    `lag from commit to client over ${lags.length} updates: p50 ${pct(50)} ms, p99 ${pct(99)} ms, ` +
      `max ${lags.at(-1)} ms`,
  );
  const spanMs = lastArrival - burstStarted;
  say(
    `last update arrived ${spanMs} ms after the burst began: ${Math.round(lags.length / (spanMs / 1000))} ` +
      'updates/s delivered to clients',
  );
}

/** UPDATE and NOTIFY in one transaction, as the delivery worker does. */
function change(sql: postgres.Sql, ids: string[], status: 'PENDING' | 'RETRYING' | 'SENDING') {
  return sql.begin(async (tx) => {
    await tx`update deliveries set status = ${status}::delivery_status, updated_at = now() where id = any(${ids}::text[])`;
    await notifyDeliveryUpdated(
      tx,
      ids.map((id) => ({ id, status })),
    );
  });
}

async function database(): Promise<{ url: string; label: string }> {
  const name = `hookline_bench_${randomBytes(4).toString('hex')}`;
  let adminUrl = process.env.DATABASE_URL;
  let label = 'PostgreSQL at DATABASE_URL';
  if (!adminUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'hookline-bench-'));
    const embedded: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir, database: 'postgres' });
    cleanups.push(async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    adminUrl = embedded.adminUrl;
    label = 'embedded PostgreSQL';
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  cleanups.push(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), label };
}

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`bench:subscriptions failed: ${(err as Error).stack ?? String(err)}\n`);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
}
