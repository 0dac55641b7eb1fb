import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  startGarbageReceiver,
  startHangingReceiver,
  startHugeBodyReceiver,
  startResettingReceiver,
  startSelfSignedReceiver,
  startTricklingReceiver,
  type BadReceiver,
  type HugeBodyReceiver,
} from '../helpers/bad-receivers.js';
import { deliveryWhen, webhookWith } from '../helpers/delivery-fixtures.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';

/**
 * Misbehaving receivers, each a real server on 127.0.0.1, against a real worker. Each gives a failed attempt whose
 * `error` says what happened, the worker lets go of the connection, and deliveries to a healthy receiver go on.
 * No retries (an empty schedule): one attempt per delivery, so each assertion is about exactly one attempt.
 */

const TIMEOUT_MS = 1000;
/** Generous: the point is "about the endpoint's timeout", not "minutes of trickling", on a loaded machine. */
const TIMEOUT_SLACK_MS = 4000;
const MB = 1024 * 1024;

let t: TestApp;
let healthy: Receiver;
let hanging: BadReceiver;
let resetting: BadReceiver;
let garbage: BadReceiver;
let trickling: BadReceiver;
let huge200: HugeBodyReceiver;
let huge500: HugeBodyReceiver;
let selfSigned: BadReceiver;

beforeAll(async () => {
  t = await startTestApp({
    HOOKLINE_RETRY_SCHEDULE: '',
    HOOKLINE_DISABLE_AFTER_FAILURES: '100000',
    // Few slots: receivers that held on to them would visibly starve the healthy endpoint.
    HOOKLINE_WORKER_CONCURRENCY: '6',
    HOOKLINE_POLL_INTERVAL: '100ms',
  });
  [healthy, hanging, resetting, garbage, trickling, huge200, huge500, selfSigned] = await Promise.all([
    startReceiver({ status: 204, body: '' }),
    startHangingReceiver(),
    startResettingReceiver(),
    startGarbageReceiver(),
    startTricklingReceiver(),
    startHugeBodyReceiver(200, 50 * MB),
    startHugeBodyReceiver(500, 50 * MB),
    startSelfSignedReceiver(),
  ]);
});
afterAll(async () => {
  await Promise.all([healthy, hanging, resetting, garbage, trickling, huge200, huge500, selfSigned].map((r) => r?.close()));
  await t?.stop();
});

/** Publishes one event to a webhook with one endpoint at `url`; resolves with the finished delivery. */
async function deliverOnce(url: string) {
  const hook = await webhookWith(t, [{ url: `${url}/hook`, timeoutMs: TIMEOUT_MS }]);
  const { deliveries } = await hook.publish();
  return deliveryWhen(t, deliveries[0].id, ['SUCCEEDED', 'FAILED'], 30_000);
}

describe('a misbehaving receiver gives a failed attempt with a clear error', () => {
  it('hangs: timed out after the endpoint timeout, and the connection is closed', async () => {
    const delivery = await deliverOnce(hanging.url);
    expect(delivery.status).toBe('FAILED');
    expect(delivery.attempts[0]).toMatchObject({ responseStatus: null, error: `timed out after ${TIMEOUT_MS} ms` });
    expect(delivery.attempts[0].durationMs).toBeLessThan(TIMEOUT_MS + TIMEOUT_SLACK_MS);
    await eventually(async () => hanging.closed === hanging.connections);
  });

  it('resets the connection', async () => {
    const delivery = await deliverOnce(resetting.url);
    expect(delivery.status).toBe('FAILED');
    expect(delivery.attempts[0]).toMatchObject({ responseStatus: null });
    expect(delivery.attempts[0].error).toMatch(/^connection reset by the receiver/);
    expect(resetting.requests).toBe(1);
  });

  it('answers with something that is not HTTP', async () => {
    const delivery = await deliverOnce(garbage.url);
    expect(delivery.status).toBe('FAILED');
    expect(delivery.attempts[0]).toMatchObject({ responseStatus: null });
    expect(delivery.attempts[0].error).toMatch(/^invalid HTTP response from the receiver/);
  });

  it('trickles its body a byte a second: cut at the endpoint timeout (a total deadline, not an idle one)', async () => {
    const delivery = await deliverOnce(trickling.url);
    expect(delivery.status).toBe('FAILED');
    // The status line came at once; the body would have taken 10,000 seconds.
    expect(delivery.attempts[0].error).toBe(`timed out after ${TIMEOUT_MS} ms`);
    expect(delivery.attempts[0].durationMs).toBeLessThan(TIMEOUT_MS + TIMEOUT_SLACK_MS);
    await eventually(async () => trickling.connections > 0 && trickling.closed === trickling.connections);
  });

  it('answers 200 with a 50 MB body: a success, storing the first 16 KiB, without reading the rest', async () => {
    const delivery = await deliverOnce(huge200.url);
    // The receiver said 2xx in time: that is what success means; the size of its answer is its own business.
    expect(delivery.status).toBe('SUCCEEDED');
    expect(delivery.attempts[0]).toMatchObject({ responseStatus: 200, error: null });
    expect(delivery.attempts[0].responseBody).toBe('x'.repeat(16 * 1024));
    // The worker closed the connection instead of draining it: the receiver could not push more than a few
    // socket buffers' worth before the close.
    await eventually(async () => huge200.bytesWrittenAtClose.length === 1);
    expect(huge200.bytesWrittenAtClose[0]).toBeLessThan(10 * MB);
  });

  it('answers 500 with a 50 MB body: a failure, storing the first 16 KiB', async () => {
    const delivery = await deliverOnce(huge500.url);
    expect(delivery.status).toBe('FAILED');
    expect(delivery.attempts[0]).toMatchObject({ responseStatus: 500, error: 'HTTP 500' });
    expect(delivery.attempts[0].responseBody).toHaveLength(16 * 1024);
    await eventually(async () => huge500.bytesWrittenAtClose.length === 1);
    expect(huge500.bytesWrittenAtClose[0]).toBeLessThan(10 * MB);
  });

  it('presents a self-signed TLS certificate: refused before anything is sent', async () => {
    const delivery = await deliverOnce(selfSigned.url);
    expect(delivery.status).toBe('FAILED');
    expect(delivery.attempts[0]).toMatchObject({ responseStatus: null });
    expect(delivery.attempts[0].error).toMatch(/^TLS: the receiver's certificate is not trusted: self-signed certificate/);
    expect(selfSigned.connections).toBeGreaterThan(0);
    expect(selfSigned.requests).toBe(0);
  });
});

describe('all of them at once beside a healthy receiver', () => {
  it('delivers every event to the healthy receiver while the bad ones fail', async () => {
    const bad = [hanging, resetting, garbage, trickling, huge200, huge500, selfSigned];
    const hook = await webhookWith(t, [
      ...bad.map((r) => ({ url: `${r.url}/mixed`, timeoutMs: TIMEOUT_MS })),
      { url: `${healthy.url}/mixed`, timeoutMs: TIMEOUT_MS },
    ]);
    const EVENTS = 10;
    const published = [];
    for (let i = 0; i < EVENTS; i++) published.push(await hook.publish({ n: i }));

    // Every accepted event reaches the healthy receiver at least once; duplicates are counted, not hidden.
    const received = await healthy.waitFor(EVENTS, 60_000);
    const ids = received.filter((r) => r.url === '/mixed').map((r) => r.headers['webhook-id']);
    const eventIds = published.map((p) => p.event.id);
    expect(new Set(ids)).toEqual(new Set(eventIds));
    const duplicates = ids.length - new Set(ids).size;
    console.info(`healthy receiver: ${EVENTS} events, ${ids.length} requests, ${duplicates} duplicates`);

    // And every delivery ends: the healthy ones SUCCEEDED, the bad ones as in the tests above.
    const healthyEndpoint = hook.webhook.endpoints.find((e: { url: string }) => e.url.startsWith(healthy.url)).id;
    for (const p of published) {
      for (const d of p.deliveries) {
        const delivery = await deliveryWhen(t, d.id, ['SUCCEEDED', 'FAILED'], 60_000);
        const url = delivery.attempts[0].requestUrl as string;
        if (d.endpoint.id === healthyEndpoint) expect(delivery.status).toBe('SUCCEEDED');
        else if (url.startsWith(huge200.url)) expect(delivery.status).toBe('SUCCEEDED');
        else {
          expect(delivery.status).toBe('FAILED');
          expect(delivery.attempts[0].error).toMatch(
            /^(timed out after|connection reset by the receiver|invalid HTTP response|HTTP 500|TLS: )/,
          );
        }
      }
    }
  });
});
