import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { deliveryWhen, webhookWith } from '../helpers/delivery-fixtures.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.js';

/** Auto-disable with its one notice mail, held deliveries that resume, and EMAIL endpoints, through a real SMTP sink. */

let t: TestApp;
let receiver: Receiver;
let smtp: SmtpSink;
const failing = new Set<string>();
/** Paths whose next n requests fail (then they succeed): failures in a row without racing the retries. */
const failNext = new Map<string, number>();

beforeAll(async () => {
  smtp = await startSmtpSink();
  receiver = await startReceiver((request) => {
    const left = failNext.get(request.url) ?? 0;
    if (left > 0) failNext.set(request.url, left - 1);
    return failing.has(request.url) || left > 0 ? { status: 500, body: 'broken' } : {};
  });
  t = await startTestApp({
    HOOKLINE_RETRY_SCHEDULE: '0ms,50ms,50ms,50ms,50ms,50ms',
    HOOKLINE_DISABLE_AFTER_FAILURES: '3',
    // No polling to speak of: work is picked up because it is announced (publish, retry timers, re-enabling).
    HOOKLINE_POLL_INTERVAL: '1h',
    SMTP_URL: smtp.url,
    HOOKLINE_MAIL_FROM: 'Hookline <hookline@hookline.test>',
    HOOKLINE_NOTIFY_EMAIL: 'fallback@hookline.test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
});
afterAll(async () => {
  await t?.stop();
  await receiver?.close();
  await smtp?.close();
});

const ENDPOINT = `query ($id: ID!) { node(id: $id) { ... on Endpoint { state consecutiveFailures } } }`;
const endpointState = async (id: string) => (await t.gql.ok(ENDPOINT, { id })).node;
const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.includes(address));

describe('auto-disable', () => {
  it('disables an endpoint after the threshold, mails once, holds its deliveries and resumes them when re-enabled', async () => {
    failing.add('/broken');
    const hook = await webhookWith(t, [{ url: `${receiver.url}/broken` }], {
      name: 'Orders to billing',
      notifyEmail: 'owner@hookline.test',
    });
    const endpointId = hook.webhook.endpoints[0].id;
    const published = await Promise.all([1, 2, 3, 4, 5].map((n) => hook.publish({ n })));

    await eventually(async () => (await endpointState(endpointId)).state === 'TOO_MANY_ERRORS');
    const [notice] = await smtp.waitFor(1);
    await new Promise((r) => setTimeout(r, 500));
    const attemptsWhileDisabled = receiver.requests.filter((r) => r.url === '/broken').length;
    expect(attemptsWhileDisabled).toBeGreaterThanOrEqual(3);
    expect(attemptsWhileDisabled).toBeLessThan(3 + 5); // at most the attempts already under way
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.filter((r) => r.url === '/broken')).toHaveLength(attemptsWhileDisabled);

    expect(smtp.mails).toHaveLength(1);
    expect(notice.to).toEqual(['owner@hookline.test']);
    expect(notice.from).toBe('hookline@hookline.test');
    expect(notice.subject).toContain('Orders to billing');
    expect(notice.text).toContain(hook.webhook.id);
    expect(notice.text).toContain(endpointId);
    expect(notice.text).toContain(`${receiver.url}/broken`);
    expect(notice.text).toContain('Last error: HTTP 500');
    expect(notice.text).toContain(`setEndpointState(id: "${endpointId}", state: ACTIVE)`);

    // Held: neither attempted nor lost.
    for (const { deliveries } of published) {
      const { node } = await t.gql.ok('query ($id: ID!) { node(id: $id) { ... on Delivery { status } } }', {
        id: deliveries[0].id,
      });
      expect(['PENDING', 'RETRYING']).toContain(node.status);
    }

    failing.delete('/broken');
    const reenabled = await t.gql.ok(
      'mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { state consecutiveFailures } }',
      { id: endpointId },
    );
    expect(reenabled.setEndpointState).toEqual({ state: 'ACTIVE', consecutiveFailures: 0 });
    for (const { deliveries } of published) await deliveryWhen(t, deliveries[0].id, ['SUCCEEDED']);
    const succeeded = receiver.requests.filter((r) => r.url === '/broken').slice(attemptsWhileDisabled);
    expect(new Set(succeeded.map((r) => JSON.parse(r.body).data.n))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(smtp.mails).toHaveLength(1);
  });

  it('mails HOOKLINE_NOTIFY_EMAIL when the webhook has no notifyEmail, and counts only failures in a row', async () => {
    const hook = await webhookWith(t, [{ url: `${receiver.url}/unowned` }], { name: 'No owner' });
    const endpointId = hook.webhook.endpoints[0].id;
    const before = mailsTo('fallback@hookline.test').length;
    const requests = () => receiver.requests.filter((r) => r.url === '/unowned').length;

    // Two failures (one short of the threshold), then a success: the count starts again.
    failNext.set('/unowned', 2);
    const first = await hook.publish();
    await deliveryWhen(t, first.deliveries[0].id, ['SUCCEEDED']);
    expect(requests()).toBe(3);
    expect(await endpointState(endpointId)).toEqual({ state: 'ACTIVE', consecutiveFailures: 0 });

    // Disabled only after three new failures in a row, not at the first one.
    failing.add('/unowned');
    await hook.publish();
    await eventually(async () => (await endpointState(endpointId)).state === 'TOO_MANY_ERRORS');
    expect(requests()).toBe(3 + 3);
    const mails = await eventually(async () => mailsTo('fallback@hookline.test').length > before && mailsTo('fallback@hookline.test'));
    expect(mails.at(-1)!.subject).toContain('No owner');
  });
});

describe('EMAIL endpoints', () => {
  it('mails the event with its type in the subject and its data as text and JSON', async () => {
    const hook = await webhookWith(t, [{ kind: 'EMAIL', emailTo: ['a@hookline.test', 'b@hookline.test'] }]);
    const { event, deliveries } = await hook.publish({ customer: { name: 'Ann', country: 'SE' }, total: 42 });
    const delivery = await deliveryWhen(t, deliveries[0].id, ['SUCCEEDED']);
    const mail = smtp.mails.find((m) => m.subject.includes(event.id))!;

    expect(mail.to.sort()).toEqual(['a@hookline.test', 'b@hookline.test']);
    expect(mail.subject).toContain(hook.type);
    expect(mail.text).toContain('name: Ann');
    expect(mail.text).toContain('total: 42');
    const json = mail.text.slice(mail.text.indexOf('{'));
    expect(JSON.parse(json)).toEqual({ customer: { name: 'Ann', country: 'SE' }, total: 42 });

    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({
      requestUrl: 'mailto:a@hookline.test,b@hookline.test',
      responseStatus: null,
      error: null,
    });
    expect(delivery.attempts[0].responseBody).toMatch(/^250/);
    expect(delivery.attempts[0].requestBody).toBe(mail.text.trimEnd() + '\n');
  });
});
