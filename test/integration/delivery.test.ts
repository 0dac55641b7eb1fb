import { Webhook } from 'standardwebhooks';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { deliveryWhen as fixtureDelivery, header, webhookWith as fixtureWebhook } from '../helpers/delivery-fixtures.js';

/** What a receiver gets: one app with its worker, real receivers on 127.0.0.1, host names from a fake resolver. */

const hosts = new Map<string, string[]>();
let t: TestApp;
let receiver: Receiver;
let version: string;

beforeAll(async () => {
  t = await startTestApp(
    {
      HOOKLINE_RETRY_SCHEDULE: '0ms,50ms',
      HOOKLINE_POLL_INTERVAL: '100ms',
      HOOKLINE_DISABLE_AFTER_FAILURES: '1000',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    },
    {
      resolver: async (host) => {
        const answers = hosts.get(host);
        if (!answers?.length) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
        // Each lookup takes the next answer; the last one stays.
        return [answers.length > 1 ? answers.shift()! : answers[0]];
      },
    },
  );
  receiver = await startReceiver();
  version = (await import('../../package.json', { with: { type: 'json' } })).default.version;
});
afterAll(async () => {
  await receiver?.close();
  await t?.stop();
});

const webhookWith = (endpoints: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  fixtureWebhook(t, endpoints, extra);
const deliveryWhen = (id: string, statuses: string[]) => fixtureDelivery(t, id, statuses);

const requestsTo = (path: string) => receiver.requests.filter((r) => r.url.split('?')[0] === path);

describe('what a receiver gets', () => {
  it('sends the method, URL with query parameters, content type, custom headers and the default envelope', async () => {
    const hook = await webhookWith(
      [
        {
          url: `${receiver.url}/basic-request?fixed=1`,
          method: 'PUT',
          queryParams: [
            { key: 'a', value: '1' },
            { key: 'a', value: 'two words' },
          ],
          headers: [{ key: 'X-Both', value: 'from endpoint' }],
          contentType: 'application/vnd.test+json',
        },
      ],
      {
        headers: [
          { key: 'X-Team', value: 'blue' },
          { key: 'X-Both', value: 'from webhook' },
        ],
        properties: { tenant: 't1', event_id: 'forged', data: 'forged' },
      },
    );
    const { event, deliveries } = await hook.publish({ name: 'Ann' }, { login: 'ann' });
    await eventually(async () => requestsTo('/basic-request').length === 1);
    const [request] = requestsTo('/basic-request');

    expect(request.method).toBe('PUT');
    expect(request.url).toBe('/basic-request?fixed=1&a=1&a=two+words');
    expect(request.headers['content-type']).toBe('application/vnd.test+json');
    expect(request.headers['x-team']).toBe('blue');
    expect(request.headers['x-both']).toBe('from endpoint');
    expect(request.headers['user-agent']).toBe(`Hookline/${version}`);
    expect(request.headers['webhook-id']).toBe(event.id);
    expect(JSON.parse(request.body)).toEqual({
      event_id: event.id,
      event_type: hook.type,
      event_time: event.occurredAt,
      current_context: { login: 'ann' },
      data: { name: 'Ann' },
      tenant: 't1',
    });
    expect(new Webhook(hook.secret).verify(request.body, request.headers as Record<string, string>)).toBeTruthy();

    const delivery = await deliveryWhen(deliveries[0].id, ['SUCCEEDED']);
    expect(delivery).toMatchObject({ attemptCount: 1, lastResponseStatus: 200, lastError: null, nextAttemptAt: null });
    expect(delivery.completedAt).not.toBeNull();
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({
      number: 1,
      requestUrl: `${receiver.url}/basic-request?fixed=1&a=1&a=two+words`,
      requestBody: request.body,
      responseStatus: 200,
      responseBody: 'ok',
      error: null,
    });
    expect(header(delivery.attempts[0].requestHeaders, 'webhook-id')).toBe(event.id);
  });

  it('sends the receiver auth the endpoint names, and never stores it', async () => {
    const hook = await webhookWith([
      { url: `${receiver.url}/auth-key`, auth: { apiKey: 'k-123', apiKeyHeader: 'X-Secret-Key' } },
      { url: `${receiver.url}/auth-default-key`, auth: { apiKey: 'k-456' } },
      { url: `${receiver.url}/auth-bearer`, auth: { bearerToken: 'tok-789' } },
      { url: `${receiver.url}/auth-basic`, auth: { basicUser: 'ann', basicPassword: 'pa ss' } },
    ]);
    const { deliveries } = await hook.publish();
    await eventually(async () => receiver.requests.filter((r) => r.url.startsWith('/auth-')).length === 4);

    expect(requestsTo('/auth-key')[0].headers['x-secret-key']).toBe('k-123');
    expect(requestsTo('/auth-default-key')[0].headers['x-api-key']).toBe('k-456');
    expect(requestsTo('/auth-bearer')[0].headers.authorization).toBe('Bearer tok-789');
    expect(requestsTo('/auth-basic')[0].headers.authorization).toBe(`Basic ${Buffer.from('ann:pa ss').toString('base64')}`);

    for (const { id } of deliveries) {
      const delivery = await deliveryWhen(id, ['SUCCEEDED']);
      const stored = JSON.stringify(delivery.attempts);
      for (const secret of ['k-123', 'k-456', 'tok-789', Buffer.from('ann:pa ss').toString('base64')]) {
        expect(stored).not.toContain(secret);
      }
    }
    const keyEndpoint = hook.webhook.endpoints.find((e: { url: string }) => e.url.endsWith('/auth-key')).id;
    const withKey = await deliveryWhen(deliveries.find((d) => d.endpoint.id === keyEndpoint)!.id, ['SUCCEEDED']);
    expect(header(withKey.attempts[0].requestHeaders, 'x-secret-key')).toBe('[redacted]');
  });

  it('renders a Liquid body template', async () => {
    const hook = await webhookWith(
      [
        {
          url: `${receiver.url}/liquid`,
          contentType: 'text/plain',
          bodyTemplate:
            '{{ event.type }} by {{ event.context.login }}: {{ event.data.name | upcase }} ' +
            '({{ webhook.name }}, {{ endpoint.id }}, {{ properties.tenant }}, {{ event.id }})',
        },
      ],
      { properties: { tenant: 't9' } },
    );
    const { event, deliveries } = await hook.publish({ name: 'Ann' });
    await eventually(async () => requestsTo('/liquid').length === 1);
    const [request] = requestsTo('/liquid');
    expect(request.headers['content-type']).toBe('text/plain');
    expect(request.body).toBe(
      `${hook.type} by ann: ANN (${hook.webhook.name}, ${deliveries[0].endpoint.id}, t9, ${event.id})`,
    );
    expect(() =>
      new Webhook(hook.secret).verify(request.body, request.headers as Record<string, string>, { jsonParse: false }),
    ).not.toThrow();
  });

  it('sends no body (and no content type) with GET, signed over the empty body', async () => {
    const hook = await webhookWith([{ url: `${receiver.url}/get`, method: 'GET', queryParams: [{ key: 'q', value: 'x' }] }]);
    await hook.publish({ name: 'Ann' });
    await eventually(async () => requestsTo('/get').length === 1);
    const [request] = requestsTo('/get');
    expect(request.method).toBe('GET');
    expect(request.url).toBe('/get?q=x');
    expect(request.body).toBe('');
    expect(request.headers['content-type']).toBeUndefined();
    expect(request.headers['content-length'] ?? '0').toBe('0');
    expect(new Webhook(hook.secret).verify('', request.headers as Record<string, string>)).toBeUndefined();
  });

  it('signs with both secrets during a rotation, with the same webhook-id on every retry', async () => {
    let calls = 0;
    receiver.answer((request) => (request.url === '/rotation' && calls++ === 0 ? { status: 500 } : {}));
    try {
      const hook = await webhookWith([{ url: `${receiver.url}/rotation` }]);
      const rotated = await t.gql.ok('mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', {
        id: hook.webhook.id,
      });
      const newSecret = rotated.rotateWebhookSecret.secret as string;
      expect(newSecret).not.toBe(hook.secret);

      const { event, deliveries } = await hook.publish();
      await deliveryWhen(deliveries[0].id, ['SUCCEEDED']);
      const requests = requestsTo('/rotation');
      expect(requests).toHaveLength(2);
      for (const request of requests) {
        expect(request.headers['webhook-id']).toBe(event.id);
        expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
        expect(new Webhook(newSecret).verify(request.body, request.headers as Record<string, string>)).toBeTruthy();
        expect(new Webhook(hook.secret).verify(request.body, request.headers as Record<string, string>)).toBeTruthy();
      }
    } finally {
      receiver.answer({});
    }
  });
});

describe('redirects and refused targets', () => {
  it('does not follow a 3xx: the attempt fails and the Location is never requested', async () => {
    receiver.answer((request) =>
      request.url === '/redirect' ? { status: 302, headers: { location: `${receiver.url}/redirect-target` } } : {},
    );
    try {
      const hook = await webhookWith([{ url: `${receiver.url}/redirect` }]);
      const { deliveries } = await hook.publish();
      const delivery = await deliveryWhen(deliveries[0].id, ['FAILED']);
      expect(delivery.attemptCount).toBe(3);
      expect(delivery.lastResponseStatus).toBe(302);
      expect(delivery.lastError).toMatch(/HTTP 302: redirects are not followed/);
      expect(requestsTo('/redirect')).toHaveLength(3);
      expect(requestsTo('/redirect-target')).toHaveLength(0);
    } finally {
      receiver.answer({});
    }
  });

  it('never contacts a host that now resolves to a refused address', async () => {
    const port = new URL(receiver.url).port;
    hosts.set('moved.example', ['127.0.0.1']); // allowed when the endpoint is saved
    const hook = await webhookWith([{ url: `http://moved.example:${port}/moved` }]);
    hosts.set('moved.example', ['127.0.0.2']); // then the name points elsewhere
    const { deliveries } = await hook.publish();
    const delivery = await deliveryWhen(deliveries[0].id, ['FAILED']);
    expect(delivery.attempts).toHaveLength(3);
    for (const attempt of delivery.attempts) {
      expect(attempt.responseStatus).toBeNull();
      expect(attempt.error).toMatch(/resolves to 127\.0\.0\.2, a private or reserved address.*nothing was sent/);
    }
    expect(requestsTo('/moved')).toHaveLength(0);
  });

  it('connects only to the address it checked, even if DNS answers differently a moment later', async () => {
    const port = new URL(receiver.url).port;
    hosts.set('rebind.example', ['127.0.0.1']);
    const hook = await webhookWith([{ url: `http://rebind.example:${port}/rebind` }]);
    // The check before the send sees 127.0.0.1; the connection's own lookup then gets 127.0.0.2.
    hosts.set('rebind.example', ['127.0.0.1', '127.0.0.2']);
    const { deliveries } = await hook.publish();
    const delivery = await deliveryWhen(deliveries[0].id, ['FAILED']);
    expect(delivery.attempts[0].error).toMatch(/refused at connect: .*127\.0\.0\.2/);
    expect(requestsTo('/rebind')).toHaveLength(0);
  });
});

describe('testEndpoint', () => {
  const TEST = `mutation ($id: ID!) { testEndpoint(id: $id) {
    number durationMs requestUrl requestHeaders { key value } requestBody responseStatus responseBody error
  } }`;

  it('sends a signed hookline.ping now and returns the attempt', async () => {
    const hook = await webhookWith([{ url: `${receiver.url}/ping` }], { properties: { tenant: 't1' } });
    const endpointId = hook.webhook.endpoints[0].id;
    receiver.answer((request) => (request.url === '/ping' ? { status: 201, body: 'pong' } : {}));
    try {
      const { testEndpoint } = await t.gql.ok(TEST, { id: endpointId });
      expect(testEndpoint).toMatchObject({ number: 1, responseStatus: 201, responseBody: 'pong', error: null });
      const [request] = requestsTo('/ping');
      const body = JSON.parse(request.body);
      expect(body).toMatchObject({ event_type: 'hookline.ping', tenant: 't1' });
      expect(request.headers['webhook-id']).toBe(body.event_id);
      expect(new Webhook(hook.secret).verify(request.body, request.headers as Record<string, string>)).toBeTruthy();
      expect(testEndpoint.requestBody).toBe(request.body);
    } finally {
      receiver.answer({});
    }
  });

  it('reports a failure as the attempt, and refuses unknown ids and viewers', async () => {
    const hook = await webhookWith([{ url: `${receiver.url}/ping-down` }]);
    receiver.answer((request) => (request.url === '/ping-down' ? { status: 503, body: 'down' } : {}));
    try {
      const { testEndpoint } = await t.gql.ok(TEST, { id: hook.webhook.endpoints[0].id });
      expect(testEndpoint).toMatchObject({ responseStatus: 503, responseBody: 'down', error: 'HTTP 503' });
    } finally {
      receiver.answer({});
    }
    const missing = await t.gql(TEST, { id: 'ep_00000000000000000000000000' });
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');

    const team = (await t.gql.ok('mutation { createTeam(name: "ping-viewers") { id } }')).createTeam.id;
    const viewer = (
      await t.gql.ok('mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }', {
        input: { name: 'viewer', role: 'VIEWER', teamId: team },
      })
    ).createApiToken.token;
    const forbidden = await t.gql.as(viewer)(TEST, { id: hook.webhook.endpoints[0].id });
    expect(forbidden.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const editor = (
      await t.gql.ok('mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }', {
        input: { name: 'editor', role: 'EDITOR', teamId: team },
      })
    ).createApiToken.token;
    const otherTeams = await t.gql.as(editor)(TEST, { id: hook.webhook.endpoints[0].id });
    expect(otherTeams.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('resilience', () => {
  it('keeps delivering after its database connections are killed', async () => {
    const admin = postgres(t.database.url, { max: 1, onnotice: () => {} });
    try {
      await admin`select pg_terminate_backend(pid) from pg_stat_activity
                   where datname = current_database() and pid <> pg_backend_pid()`;
    } finally {
      await admin.end();
    }
    // The API's own first queries on the dead connections may fail too; the point here is the worker.
    const hook = await eventually(() => webhookWith([{ url: `${receiver.url}/after-kill` }]));
    const { deliveries } = await eventually(() => hook.publish());
    await deliveryWhen(deliveries[0].id, ['SUCCEEDED']);
    expect(requestsTo('/after-kill')).toHaveLength(1);
  });
});
