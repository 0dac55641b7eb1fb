/**
 * Isolation between endpoints: four healthy endpoints (sink paths /iso/<i>, one webhook) get a steady stream of
 * publishEvent singles; their latency (sink arrival − enqueue call) is measured alone, then again while a fifth
 * endpoint hangs on every request (a server here that never answers; its timeout 30 s) with a backlog far bigger
 * than the worker's 64 slots. Product defaults otherwise (maxConcurrency 8): the hanging endpoint may hold 8 slots.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { gqlClient, startHookline } from './hookline.js';
import { eventData, freshDatabase, nowMs, quick, resetSink, round, settings, sleep, waitForUnique } from './lib.js';

const HEALTHY = 4;
const RATE = 100; // events/s, each to the 4 healthy endpoints
const SECONDS = quick ? 3 : 10;
const HANG_BACKLOG = 500;
const HANG_TIMEOUT_MS = 30_000;
const MAX_IN_FLIGHT = 64;

const Q_CREATE = 'mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }';
const Q_ONE = 'mutation ($input: PublishEventInput!) { publishEvent(input: $input) { duplicate } }';
const Q_MANY = 'mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { duplicate } } }';

/** A receiver that reads each request and never answers; counts the requests it holds. */
async function hangingServer() {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((req) => {
    requests++;
    req.resume();
  });
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hang`,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

export async function measureIsolation(sinkUrl: string) {
  const db = await freshDatabase('isolation');
  const hanging = await hangingServer();
  const proc = await startHookline(db.url, { HOOKLINE_SHUTDOWN_GRACE: '2s' });
  const client = gqlClient(proc.url, proc.token);
  try {
    await client.gql(Q_CREATE, {
      input: {
        name: 'healthy',
        secret: settings.secret,
        endpoints: Array.from({ length: HEALTHY }, (_, i) => ({ url: `${sinkUrl}/iso/${i}` })),
        triggers: [{ resource: 'iso', event: '*' }],
      },
    });
    await client.gql(Q_CREATE, {
      input: {
        name: 'hanging',
        endpoints: [{ url: hanging.url, timeoutMs: HANG_TIMEOUT_MS }],
        triggers: [{ resource: 'hang', event: '*' }],
      },
    });

    /** Singles at RATE/s for SECONDS; the healthy endpoints' latency once all copies arrived. */
    const phase = async (prefix: string) => {
      const n = RATE * SECONDS;
      await resetSink(0, prefix);
      const t0 = nowMs();
      let inFlight = 0;
      let errors = 0;
      for (let i = 0; i < n; i++) {
        while (nowMs() < t0 + (i * 1000) / RATE || inFlight >= MAX_IN_FLIGHT) await sleep(1);
        const data = { ...eventData(`${prefix}${i}`, i), enqueued_at: nowMs() };
        inFlight++;
        client
          .gql(Q_ONE, { input: { type: 'iso.tick', data } })
          .catch(() => errors++)
          .finally(() => inFlight--);
      }
      while (inFlight > 0) await sleep(5);
      const st = await waitForUnique(n * HEALTHY, t0, 120);
      return { deliveries: n * HEALTHY, delivered: st.uniqueOk, publishErrors: errors, latencyMs: st.latencyMs };
    };

    const tag = Date.now().toString(36);
    const without = await phase(`isoa_${tag}_`);
    const backlog = Array.from({ length: HANG_BACKLOG }, (_, i) => ({ type: 'hang.tick', data: { i } }));
    await client.gql(Q_MANY, { inputs: backlog });
    const deadline = nowMs() + 30_000;
    while (hanging.requests() < 8 && nowMs() < deadline) await sleep(20);
    const withHang = await phase(`isob_${tag}_`);
    return {
      healthyEndpoints: HEALTHY,
      eventsPerS: RATE,
      seconds: SECONDS,
      hangingBacklog: HANG_BACKLOG,
      hangingHeld: hanging.requests(),
      without,
      withHanging: withHang,
      p99Ratio: round((withHang.latencyMs.p99 ?? NaN) / (without.latencyMs.p99 ?? NaN), 2),
    };
  } finally {
    await client.close();
    await proc.stop();
    await hanging.close();
    await db.drop();
  }
}

