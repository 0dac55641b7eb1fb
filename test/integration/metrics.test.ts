import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { deliveryWhen, webhookWith } from '../helpers/delivery-fixtures.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { openSql } from '../helpers/webhook-fixtures.js';

/** /metrics: delivery counters move as deliveries happen; outbox gauges are read from the database on scrape. */

let t: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver((request) => (request.url === '/fails' ? { status: 500 } : {}));
  t = await startTestApp({
    HOOKLINE_RETRY_SCHEDULE: '0ms',
    HOOKLINE_POLL_INTERVAL: '100ms',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
});
afterAll(async () => {
  await t?.stop();
  await receiver?.close();
});

/** The value of one sample (name with labels exactly as exposed), 0 when absent. */
async function sample(name: string): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('/metrics', () => {
  it('counts attempts by outcome, deliveries by final status and attempt durations', async () => {
    const before = {
      success: await sample('hookline_delivery_attempts_total{outcome="success"}'),
      httpError: await sample('hookline_delivery_attempts_total{outcome="http_error"}'),
      succeeded: await sample('hookline_deliveries_completed_total{status="SUCCEEDED"}'),
      failed: await sample('hookline_deliveries_completed_total{status="FAILED"}'),
      timed: await sample('hookline_delivery_attempt_duration_seconds_count{kind="HTTP"}'),
    };
    const hook = await webhookWith(t, [{ url: `${receiver.url}/works` }, { url: `${receiver.url}/fails` }]);
    const { deliveries } = await hook.publish();
    for (const d of deliveries) await deliveryWhen(t, d.id, ['SUCCEEDED', 'FAILED']);

    await eventually(async () => (await sample('hookline_deliveries_completed_total{status="FAILED"}')) === before.failed + 1);
    expect(await sample('hookline_delivery_attempts_total{outcome="success"}')).toBe(before.success + 1);
    expect(await sample('hookline_delivery_attempts_total{outcome="http_error"}')).toBe(before.httpError + 2);
    expect(await sample('hookline_deliveries_completed_total{status="SUCCEEDED"}')).toBe(before.succeeded + 1);
    expect(await sample('hookline_delivery_attempt_duration_seconds_count{kind="HTTP"}')).toBe(before.timed + 3);
  });

  it('reports the outbox: unfinished deliveries by status, held ones included, and the age of the oldest due one', async () => {
    const hook = await webhookWith(t, [{ url: `${receiver.url}/later` }]);
    const endpointId = hook.webhook.endpoints[0].id;
    await t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }', { id: endpointId });
    const sql = openSql(t.database.url);
    try {
      // A delivery that was pending when its endpoint was stopped (an hour old): held, so not "due".
      await sql`insert into events (id, type, occurred_at, data) values ('evt_metrics_1', ${hook.type}, now(), '{}')`;
      await sql`insert into deliveries (id, event_id, webhook_id, endpoint_id, next_attempt_at)
                values ('dlv_metrics_1', 'evt_metrics_1', ${hook.webhook.id}, ${endpointId}, now() - interval '1 hour')`;
      expect(await sample('hookline_outbox_deliveries{status="PENDING"}')).toBe(1);
      expect(await sample('hookline_outbox_oldest_due_age_seconds')).toBe(0);

      // Its endpoint active again, but no worker gets to it (paused by a held lock): due, and an hour old.
      await sql.begin(async (tx) => {
        await tx`select 1 from deliveries where id = 'dlv_metrics_1' for update`;
        await t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { id } }', { id: endpointId });
        expect(await sample('hookline_outbox_oldest_due_age_seconds')).toBeGreaterThan(3_500);
      });
      await deliveryWhen(t, 'dlv_metrics_1', ['SUCCEEDED']);
      expect(await sample('hookline_outbox_deliveries{status="PENDING"}')).toBe(0);
    } finally {
      await sql.end();
    }
  });
});

describe('/metrics with HOOKLINE_METRICS_TOKEN', () => {
  it('asks for the metrics token, and only that one', async () => {
    const guarded = await startTestApp({ HOOKLINE_ROLE: 'api', HOOKLINE_METRICS_TOKEN: 'metrics-secret-token' });
    try {
      const get = (authorization?: string) =>
        fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect((await get()).status).toBe(401);
      expect((await get(`Bearer ${guarded.adminToken}`)).status).toBe(401);
      const ok = await get('Bearer metrics-secret-token');
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('hookline_');
      expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200); // health stays open
    } finally {
      await guarded.stop();
    }
  });
});
