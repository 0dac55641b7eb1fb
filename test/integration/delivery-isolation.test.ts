import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { webhookWith } from '../helpers/delivery-fixtures.js';
import { spawnHookline, type HooklineProcess } from '../helpers/processes.js';
import { startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.js';
import { openSql, tablesFingerprint } from '../helpers/webhook-fixtures.js';

/**
 * Per-endpoint maxConcurrency and rateLimitPerSecond: set and validated through GraphQL, and held by two real
 * workers sharing one database (the app's own and a `hookline serve` worker process), as a receiver sees it.
 */

let t: TestApp;
let worker: HooklineProcess;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await startTestApp({ HOOKLINE_WORKER_CONCURRENCY: '16', HOOKLINE_POLL_INTERVAL: '200ms' });
  worker = spawnHookline({
    HOOKLINE_ROLE: 'worker',
    DATABASE_URL: t.database.url,
    HOOKLINE_DATA_DIR: await mkdtemp(join(tmpdir(), 'hookline-iso-')),
    HOOKLINE_ADMIN_TOKEN: t.adminToken,
    HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32',
    HOOKLINE_WORKER_CONCURRENCY: '16',
    HOOKLINE_POLL_INTERVAL: '200ms',
    HOOKLINE_SHUTDOWN_GRACE: '3s',
  });
  await worker.url;
});
afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await Promise.all(receivers.map((r) => r.close()));
  await t?.stop();
});

async function receiver(...args: Parameters<typeof startReceiver>) {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

/** The most requests open at once, each open from its arrival until `holdMs` later (when the receiver answers). */
function maxOpen(requests: ReceivedRequest[], holdMs: number): number {
  const edges = requests.flatMap((r) => [
    { at: r.at, d: 1 },
    { at: r.at + holdMs, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d); // an answer and an arrival at the same ms: the answer first
  let open = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (open += e.d));
  return max;
}

/** The most arrivals within any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

const eventIds = (requests: ReceivedRequest[]) => requests.map((r) => r.headers['webhook-id'] as string).sort();

describe('maxConcurrency and rateLimitPerSecond', () => {
  it('are set, read back, reset by null and validated with the field named, writing nothing on bad input', async () => {
    const { webhook } = await webhookWith(t, [{ url: 'http://127.0.0.1:9/a' }]);
    const FIELDS = 'id maxConcurrency rateLimitPerSecond';
    const created = (
      await t.gql.ok(`mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { ${FIELDS} } }`, {
        input: { webhookId: webhook.id, url: 'http://127.0.0.1:9/b', maxConcurrency: 2, rateLimitPerSecond: 50 },
      })
    ).createEndpoint;
    expect(created).toMatchObject({ maxConcurrency: 2, rateLimitPerSecond: 50 });
    const { node } = await t.gql.ok(`query ($id: ID!) { node(id: $id) { ... on Endpoint { ${FIELDS} } } }`, {
      id: webhook.endpoints[0].id,
    });
    expect(node).toMatchObject({ maxConcurrency: 8, rateLimitPerSecond: null });

    const UPDATE = `mutation ($input: UpdateEndpointInput!) { updateEndpoint(input: $input) { ${FIELDS} } }`;
    expect((await t.gql.ok(UPDATE, { input: { id: created.id, maxConcurrency: 1000 } })).updateEndpoint).toMatchObject({
      maxConcurrency: 1000,
      rateLimitPerSecond: 50,
    });
    expect(
      (await t.gql.ok(UPDATE, { input: { id: created.id, maxConcurrency: null, rateLimitPerSecond: null } })).updateEndpoint,
    ).toMatchObject({ maxConcurrency: 8, rateLimitPerSecond: null });

    const sql = openSql(t.database.url);
    try {
      const before = await tablesFingerprint(sql);
      const bad: [Record<string, unknown>, string][] = [
        [{ maxConcurrency: 0 }, 'input.maxConcurrency'],
        [{ maxConcurrency: 1001 }, 'input.maxConcurrency'],
        [{ rateLimitPerSecond: 0 }, 'input.rateLimitPerSecond'],
        [{ rateLimitPerSecond: -5 }, 'input.rateLimitPerSecond'],
      ];
      for (const [fields, field] of bad) {
        const update = await t.gql(UPDATE, { input: { id: created.id, ...fields } });
        const create = await t.gql(
          `mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }`,
          { input: { name: 'bad caps', endpoints: [{ url: 'http://127.0.0.1:9/c', ...fields }] } },
        );
        for (const result of [update, create]) {
          expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
        }
        expect(update.errors?.[0].extensions?.field).toBe(field);
        expect(create.errors?.[0].extensions?.field).toBe(field.replace('input.', 'input.endpoints[0].'));
      }
      expect(await tablesFingerprint(sql)).toBe(before);
    } finally {
      await sql.end();
    }
  });

  it('never has more than maxConcurrency requests open at a receiver, across two workers, and loses nothing', async () => {
    const HOLD_MS = 800;
    const slow = await receiver({ delayMs: HOLD_MS });
    const { publish } = await webhookWith(t, [{ url: slow.url, maxConcurrency: 3 }]);
    const published = await Promise.all(Array.from({ length: 12 }, (_, i) => publish({ i })));
    const requests = await slow.waitFor(12, 30_000);
    // Two workers with 16 free slots each and 12 due deliveries: only the cap keeps them to 3.
    expect(maxOpen(requests, HOLD_MS)).toBe(3);
    expect(eventIds(requests)).toEqual(published.map((p) => p.event.id).sort());
  });

  it('starts at most rateLimitPerSecond attempts a second, across two workers, and loses nothing', async () => {
    const LIMIT = 4;
    const COUNT = 24;
    const fast = await receiver({ status: 204, body: '' });
    const { publish } = await webhookWith(t, [{ url: fast.url, rateLimitPerSecond: LIMIT }]);
    const published = await Promise.all(Array.from({ length: COUNT }, (_, i) => publish({ i })));
    const requests = await fast.waitFor(COUNT, 30_000);
    expect(eventIds(requests)).toEqual(published.map((p) => p.event.id).sort());
    const times = requests.map((r) => r.at);
    // One-second windows: any second overlaps at most two of them.
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(2 * LIMIT);
    // Over the whole run: COUNT attempts need COUNT / LIMIT windows, so at most (COUNT - 1) / (COUNT / LIMIT - 1)
    // a second on average (4.4 here); the margin covers arrival jitter only, since a loaded machine is only slower.
    const perSecond = (COUNT - 1) / ((Math.max(...times) - Math.min(...times)) / 1000);
    expect(perSecond).toBeLessThanOrEqual(LIMIT * 1.5);
  });
});

describe('a worker held back by a cap claims again without waiting for its poll', () => {
  let lone: TestApp;
  beforeAll(async () => {
    // A poll interval no test waits out: only the worker's own wake-ups can deliver what the caps held back.
    lone = await startTestApp({ HOOKLINE_POLL_INTERVAL: '1h' });
  });
  afterAll(() => lone?.stop());

  it('sends an event that arrived while the endpoint was at its maxConcurrency once the slot is free', async () => {
    const r = await receiver([{ delayMs: 3000 }, {}]);
    const { publish } = await webhookWith(lone, [{ url: `${r.url}/full`, maxConcurrency: 1 }]);
    const first = await publish({ n: 1 });
    await r.waitFor(1); // held for 3 s: the endpoint's one slot is taken
    const second = await publish({ n: 2 }); // its claim finds the endpoint full
    await r.waitFor(2, 20_000);
    expect(eventIds(r.requests)).toEqual([first.event.id, second.event.id].sort());
  });

  it('sends an event held back by rateLimitPerSecond when the window reopens', async () => {
    const r = await receiver();
    const { publish } = await webhookWith(lone, [{ url: `${r.url}/rate`, rateLimitPerSecond: 1 }]);
    const first = await publish({ n: 1 });
    await r.waitFor(1);
    const second = await publish({ n: 2 }); // the window holds one attempt: closed until a second after the first
    await r.waitFor(2, 20_000);
    expect(eventIds(r.requests)).toEqual([first.event.id, second.event.id].sort());
    expect(r.requests[1].at - r.requests[0].at).toBeGreaterThanOrEqual(900);
  });
});
