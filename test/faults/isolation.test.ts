import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize } from '../../bench/lib.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { webhookWith, type Published } from '../helpers/delivery-fixtures.js';
import { eventually, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.js';
import { openSql } from '../helpers/webhook-fixtures.js';

/**
 * Isolation between endpoints, with a real worker (product defaults: 64 slots, claims of at least 32, maxConcurrency
 * 8) and real receivers on 127.0.0.1. Four healthy endpoints get a steady trickle of events; their latency (publish
 * to arrival) is measured first alone, then while five other endpoints hang on every request with a backlog bigger
 * than all the worker's slots. Without the per-endpoint cap the backlog (oldest due first) would take every slot
 * for the whole timeout; with it, the hanging endpoints hold 40 slots, fewer than a claim's batch is left, and the
 * worker must still claim for the others. Then the hanging receiver recovers, and every accepted event must have
 * reached every endpoint.
 */

const HEALTHY = 4;
const EVENTS_PER_PHASE = 30;
const PACE_MS = 100;
const HANGING = 5;
const HANG_BACKLOG = 100;
/** Far longer than a measuring phase: a held slot stays held while the healthy endpoints are measured. */
const HANG_TIMEOUT_MS = 10_000;

let t: TestApp;
let healthy: Receiver[];
let hanging: Receiver;
let hangingNow = true;

beforeAll(async () => {
  t = await startTestApp({ HOOKLINE_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms', HOOKLINE_DISABLE_AFTER_FAILURES: '100000' });
  healthy = await Promise.all(Array.from({ length: HEALTHY }, () => startReceiver({ status: 204, body: '' })));
  // Holds every request past the endpoint's timeout while hanging; answers at once after.
  hanging = await startReceiver(() => (hangingNow ? { delayMs: HANG_TIMEOUT_MS * 3 } : { status: 204, body: '' }));
});
afterAll(async () => {
  await Promise.all([...(healthy ?? []), hanging].filter(Boolean).map((r) => r.close()));
  await t?.stop();
});

/** Publishes `count` events one every PACE_MS; returns them with the time each publish was sent. */
async function trickle(publish: (data: unknown) => Promise<Published>, count: number) {
  const sent: { at: number; published: Published }[] = [];
  for (let i = 0; i < count; i++) {
    const at = Date.now();
    sent.push({ at, published: await publish({ i }) });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at + PACE_MS - Date.now())));
  }
  return sent;
}

/** Latency (ms) of each healthy endpoint's first arrival of each event, once all have arrived. */
async function latencies(sent: { at: number; published: Published }[], before: number[]): Promise<number[]> {
  const sentAt = new Map(sent.map((s) => [s.published.event.id, s.at]));
  const out: number[] = [];
  for (const [i, receiver] of healthy.entries()) {
    const requests = await receiver.waitFor(before[i] + sent.length, 60_000);
    const first = firstArrivals(requests.slice(before[i]));
    for (const [id, at] of first) out.push(at - sentAt.get(id)!);
  }
  return out;
}

function firstArrivals(requests: ReceivedRequest[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const r of requests) {
    const id = r.headers['webhook-id'] as string;
    if (!first.has(id)) first.set(id, r.at);
  }
  return first;
}

const duplicatesIn = (requests: ReceivedRequest[]) => requests.length - firstArrivals(requests).size;

describe('isolation between endpoints', () => {
  it('keeps the other endpoints’ latency while one hangs, and loses no accepted event', async () => {
    const fast = await webhookWith(
      t,
      healthy.map((r) => ({ url: r.url })),
    );
    const slow = await webhookWith(
      t,
      Array.from({ length: HANGING }, (_, i) => ({ url: `${hanging.url}/${i}`, timeoutMs: HANG_TIMEOUT_MS })),
    );

    const withoutSent = await trickle(fast.publish, EVENTS_PER_PHASE);
    const without = summarize(await latencies(withoutSent, healthy.map(() => 0)));

    const backlog = await Promise.all(Array.from({ length: HANG_BACKLOG }, (_, i) => slow.publish({ i })));
    await hanging.waitFor(HANGING * 8); // each hanging endpoint holds its cap of slots
    const before = healthy.map((r) => r.requests.length);
    const withSent = await trickle(fast.publish, EVENTS_PER_PHASE);
    const withHang = summarize(await latencies(withSent, before));
    // Still within the first timeout: the hanging endpoints held their 8 slots each all along, and no more.
    expect(hanging.requests.length).toBe(HANGING * 8);

    console.log(
      `isolation: healthy endpoints' latency p50/p99 without hanging endpoints ${without.p50}/${without.p99} ms, ` +
        `with ${HANGING} ${withHang.p50}/${withHang.p99} ms (${withHang.n} deliveries each)`,
    );
    expect(withHang.p99!).toBeLessThan(Math.max(5 * without.p99!, 500));

    // The receiver recovers: its held attempts time out, are retried, and the whole backlog gets through.
    hangingNow = false;
    const recoveredAt = Date.now();
    const sql = openSql(t.database.url);
    try {
      await eventually(async () => {
        const [row] = await sql`select count(*)::int as n from deliveries
                                 where webhook_id = ${slow.webhook.id} and status = 'SUCCEEDED'`;
        return row.n === HANGING * HANG_BACKLOG;
      }, 90_000);
    } finally {
      await sql.end();
    }

    // No accepted event lost: each reached each endpoint at least once (answered 2xx), whatever it took.
    const answered = hanging.requests.filter((r) => r.at >= recoveredAt);
    const backlogIds = backlog.map((p) => p.event.id).sort();
    for (let i = 0; i < HANGING; i++) {
      const atEndpoint = answered.filter((r) => r.url === `/${i}`);
      expect([...firstArrivals(atEndpoint).keys()].sort()).toEqual(backlogIds);
    }
    const all = [...withoutSent, ...withSent].map((s) => s.published.event.id).sort();
    for (const receiver of healthy) expect([...firstArrivals(receiver.requests).keys()].sort()).toEqual(all);

    const duplicates =
      healthy.reduce((n, r) => n + duplicatesIn(r.requests), 0) +
      Array.from({ length: HANGING }, (_, i) => duplicatesIn(answered.filter((r) => r.url === `/${i}`))).reduce((a, b) => a + b);
    const total = all.length * HEALTHY + HANG_BACKLOG * HANGING;
    console.log(`isolation: ${total} deliveries, none lost, ${duplicates} duplicates`);
  });
});
