import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { deliveryWhen, webhookWith } from '../helpers/delivery-fixtures.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';

/** Retries, Retry-After, timeouts, FAILED after the schedule and the attempt list. Schedule: 3 attempts in all. */

let t: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  t = await startTestApp({
    HOOKLINE_RETRY_SCHEDULE: '0ms,50ms',
    // Retries come due by the worker's own timer, not by polling.
    HOOKLINE_POLL_INTERVAL: '1h',
    HOOKLINE_DISABLE_AFTER_FAILURES: '1000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  receiver = await startReceiver((request) => {
    const [path, query] = request.url.split('?');
    const n = receiver.requests.filter((r) => r.url.split('?')[0] === path).length;
    return script[path]?.(n, query) ?? {};
  });
});
afterAll(async () => {
  await receiver?.close();
  await t?.stop();
});

/** Per path: how to answer its n-th request (from 1). */
const script: Record<string, (n: number, query?: string) => { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number }> = {};
const requestsTo = (path: string) => receiver.requests.filter((r) => r.url.split('?')[0] === path);

describe('retries', () => {
  it('retries a failed attempt and succeeds, the same event each time', async () => {
    script['/flaky'] = (n) => (n <= 2 ? { status: 500, body: `failure ${n}` } : { status: 204 });
    const hook = await webhookWith(t, [{ url: `${receiver.url}/flaky` }]);
    const { event, deliveries } = await hook.publish({ n: 1 });
    const delivery = await deliveryWhen(t, deliveries[0].id, ['SUCCEEDED']);

    expect(delivery).toMatchObject({ status: 'SUCCEEDED', attemptCount: 3, lastResponseStatus: 204, lastError: null });
    expect(delivery.attempts.map((a: any) => [a.number, a.responseStatus, a.responseBody, a.error])).toEqual([
      [1, 500, 'failure 1', 'HTTP 500'],
      [2, 500, 'failure 2', 'HTTP 500'],
      [3, 204, '', null],
    ]);
    const requests = requestsTo('/flaky');
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
  });

  it('marks the delivery FAILED once the schedule is used up, listing every attempt with its body cut at 16 KiB', async () => {
    const big = 'x'.repeat(20_000);
    script['/down'] = () => ({ status: 503, body: big });
    const hook = await webhookWith(t, [{ url: `${receiver.url}/down` }]);
    const { deliveries } = await hook.publish();
    const delivery = await deliveryWhen(t, deliveries[0].id, ['FAILED']);

    expect(delivery).toMatchObject({ attemptCount: 3, lastResponseStatus: 503, lastError: 'HTTP 503', nextAttemptAt: null });
    expect(delivery.completedAt).not.toBeNull();
    expect(delivery.attempts).toHaveLength(3);
    for (const attempt of delivery.attempts) {
      expect(attempt.responseStatus).toBe(503);
      expect(attempt.responseBody).toBe('x'.repeat(16 * 1024));
      expect(attempt.responseHeaders).toContainEqual({ key: 'content-type', value: 'text/plain' });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(requestsTo('/down')).toHaveLength(3); // nothing after FAILED
  });

  it('waits as long as Retry-After asks on 429, but not on other statuses', async () => {
    script['/slow-down'] = (n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : {});
    script['/other-status'] = (n) => (n === 1 ? { status: 500, headers: { 'retry-after': '1' } } : {});
    const slow = await webhookWith(t, [{ url: `${receiver.url}/slow-down` }]);
    const other = await webhookWith(t, [{ url: `${receiver.url}/other-status` }]);
    const [a, b] = await Promise.all([slow.publish(), other.publish()]);
    await deliveryWhen(t, a.deliveries[0].id, ['SUCCEEDED']);
    await deliveryWhen(t, b.deliveries[0].id, ['SUCCEEDED']);

    const [first, second] = requestsTo('/slow-down');
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    const [third, fourth] = requestsTo('/other-status');
    expect(fourth.at - third.at).toBeLessThan(900);

    const delivery = await deliveryWhen(t, a.deliveries[0].id, ['SUCCEEDED']);
    expect(delivery.attempts.map((x: any) => x.responseStatus)).toEqual([429, 200]);
  });

  it('fails an attempt that outlasts the endpoint timeout, then retries', async () => {
    script['/sleepy'] = (n) => (n === 1 ? { delayMs: 2_000 } : {});
    const hook = await webhookWith(t, [{ url: `${receiver.url}/sleepy`, timeoutMs: 300 }]);
    const { deliveries } = await hook.publish();
    const delivery = await deliveryWhen(t, deliveries[0].id, ['SUCCEEDED']);
    expect(delivery.attempts[0]).toMatchObject({ responseStatus: null, error: 'timed out after 300 ms' });
    expect(delivery.attempts[0].durationMs).toBeGreaterThanOrEqual(290);
    expect(delivery.attempts[0].durationMs).toBeLessThan(1_500);
    expect(delivery.attempts[1]).toMatchObject({ responseStatus: 200, error: null });
  });

  it('records a connection error', async () => {
    const closed = await startReceiver();
    const url = `${closed.url}/gone`;
    await closed.close();
    const hook = await webhookWith(t, [{ url }]);
    const { deliveries } = await hook.publish();
    const delivery = await deliveryWhen(t, deliveries[0].id, ['FAILED']);
    expect(delivery.lastError).toMatch(/ECONNREFUSED/);
    expect(delivery.lastResponseStatus).toBeNull();
  });

  it('stores a response body with NUL characters (which PostgreSQL text cannot hold) as replacement characters', async () => {
    script['/binary'] = () => ({ body: 'a\0b' });
    const hook = await webhookWith(t, [{ url: `${receiver.url}/binary` }]);
    const { deliveries } = await hook.publish();
    const delivery = await deliveryWhen(t, deliveries[0].id, ['SUCCEEDED']);
    expect(delivery.attempts[0].responseBody).toBe('a\uFFFDb');
  });

  it('lists the attempts while the delivery is still retrying', async () => {
    script['/eventually'] = (n) => (n === 1 ? { status: 500 } : { delayMs: 1_500 });
    const hook = await webhookWith(t, [{ url: `${receiver.url}/eventually`, timeoutMs: 5_000 }]);
    const { deliveries } = await hook.publish();
    const during = await eventually(async () => {
      const delivery = await deliveryWhen(t, deliveries[0].id, ['RETRYING', 'SENDING']);
      // The second attempt is under way (the receiver holds it).
      return delivery.status === 'SENDING' && delivery.attemptCount === 1 ? delivery : undefined;
    });
    expect(during.lastResponseStatus).toBe(500);
    expect(during.attempts.map((a: any) => a.responseStatus)).toEqual([500]);
    await deliveryWhen(t, deliveries[0].id, ['SUCCEEDED']);
  });
});

describe('replay, end to end', () => {
  it('sends a replayed FAILED delivery again: same webhook-id and body, a new delivery that succeeds', async () => {
    let down = true;
    script['/replayed'] = () => (down ? { status: 500, body: 'down' } : { status: 200 });
    const hook = await webhookWith(t, [{ url: `${receiver.url}/replayed` }]);
    const { event, deliveries } = await hook.publish({ replay: 'one' });
    await deliveryWhen(t, deliveries[0].id, ['FAILED']);

    down = false;
    const { replayDelivery } = await t.gql.ok(
      'mutation ($id: ID!) { replayDelivery(id: $id) { delivery { id replayOf { id } } } }',
      { id: deliveries[0].id },
    );
    expect(replayDelivery.delivery.replayOf.id).toBe(deliveries[0].id);
    const replayed = await deliveryWhen(t, replayDelivery.delivery.id, ['SUCCEEDED']);
    expect(replayed.attempts.map((a: any) => a.responseStatus)).toEqual([200]);

    const requests = requestsTo('/replayed');
    expect(requests).toHaveLength(4); // three failed attempts, then the replay
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
  });

  it('replays every FAILED delivery of a webhook in a time range, after a dry run that sends nothing', async () => {
    let down = true;
    script['/bulk'] = () => (down ? { status: 500 } : { status: 200 });
    const hook = await webhookWith(t, [{ url: `${receiver.url}/bulk` }]);
    const since = new Date(Date.now() - 1000).toISOString();
    const published = [await hook.publish({ i: 1 }), await hook.publish({ i: 2 })];
    for (const p of published) await deliveryWhen(t, p.deliveries[0].id, ['FAILED']);
    down = false;

    const REPLAY = `mutation ($input: ReplayDeliveriesInput!) { replayDeliveries(input: $input) { count } }`;
    const input = { webhookId: hook.webhook.id, status: ['FAILED'], since };
    const before = requestsTo('/bulk').length;
    expect((await t.gql.ok(REPLAY, { input: { ...input, dryRun: true } })).replayDeliveries.count).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(requestsTo('/bulk')).toHaveLength(before);

    expect((await t.gql.ok(REPLAY, { input })).replayDeliveries.count).toBe(2);
    await eventually(async () => requestsTo('/bulk').length === before + 2);
    const replayedIds = requestsTo('/bulk')
      .slice(before)
      .map((r) => r.headers['webhook-id'])
      .sort();
    expect(replayedIds).toEqual(published.map((p) => p.event.id).sort());
  });
});
