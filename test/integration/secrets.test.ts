import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type postgres from 'postgres';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { parseKeyring } from '../../src/security/crypto.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/db.js';
import { deliveryWhen, header, webhookWith } from '../helpers/delivery-fixtures.js';
import { capturedLogs } from '../helpers/logs.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { openSql } from '../helpers/webhook-fixtures.js';

/**
 * Secrets at rest: webhook signing secrets and receiver credentials are stored encrypted under
 * HOOKLINE_ENCRYPTION_KEY, are never returned or logged, are redacted in attempts, and deliveries still verify.
 */

const newKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const K1 = newKey('k1');
const K2 = newKey('k2');
const unique = (what: string) => `${what}-${randomBytes(8).toString('hex')}`;
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** Everything stored about webhooks and endpoints (and their audit trail and attempts), as text. */
async function storedText(sql: postgres.Sql): Promise<string> {
  const [row] = await sql`select
    (select coalesce(string_agg(w::text, '|'), '') from webhooks w) ||
    (select coalesce(string_agg(e::text, '|'), '') from endpoints e) ||
    (select coalesce(string_agg(a::text, '|'), '') from audit_log a) ||
    (select coalesce(string_agg(d::text, '|'), '') from delivery_attempts d) as text`;
  return row.text;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Signature check of a received request with one secret (throws when it does not verify). */
const verify = (secret: string, request: { body: string; headers: Record<string, unknown> }) =>
  new Webhook(secret).verify(request.body, request.headers as Record<string, string>);

const AUTH_FIELDS = 'hasAuth auth { hasApiKey apiKeyHeader hasBearerToken basicUser hasBasicPassword }';

describe('with HOOKLINE_ENCRYPTION_KEY set', () => {
  const logs = capturedLogs('debug');
  let t: TestApp;
  let receiver: Receiver;
  let sql: postgres.Sql;
  /** Every secret and credential these tests give Hookline: none may ever be stored, returned or logged as is. */
  const secrets: string[] = [];
  const remember = <T extends string>(value: T): T => (secrets.push(value), value);

  beforeAll(async () => {
    t = await startTestApp(
      {
        HOOKLINE_ENCRYPTION_KEY: K1,
        LOG_LEVEL: 'debug',
        HOOKLINE_RETRY_SCHEDULE: '0ms',
        HOOKLINE_POLL_INTERVAL: '100ms',
        HOOKLINE_DISABLE_AFTER_FAILURES: '2',
      },
      { logger: logs.logger },
    );
    receiver = await startReceiver((request) => (request.url.startsWith('/fail') ? { status: 500, body: 'no' } : {}));
    sql = openSql(t.database.url);
  });
  afterAll(async () => {
    await sql?.end();
    await receiver?.close();
    await t?.stop();
  });

  const requestsTo = (path: string) => receiver.requests.filter((r) => r.url === path);

  /** A webhook with one endpoint per kind of credentials, custom credential-like headers, and a rotated secret. */
  async function securedWebhook(prefix: string) {
    const given = {
      secret: remember(newSecret()),
      apiKey: remember(unique('api-key')),
      bearer: remember(unique('bearer')),
      password: remember(unique('password')),
      webhookToken: unique('x-auth-token'),
      customKey: unique('custom-key'),
    };
    const hook = await webhookWith(
      t,
      [
        { url: `${receiver.url}${prefix}/api-key`, auth: { apiKey: given.apiKey, apiKeyHeader: 'X-Key' } },
        {
          url: `${receiver.url}${prefix}/bearer`,
          auth: { bearerToken: given.bearer },
          headers: [{ key: 'X-Api-Key', value: given.customKey }],
        },
        { url: `${receiver.url}${prefix}/basic`, auth: { basicUser: 'bob', basicPassword: given.password } },
      ],
      { secret: given.secret, headers: [{ key: 'X-Auth-Token', value: given.webhookToken }] },
    );
    const { rotateWebhookSecret } = await t.gql.ok(
      'mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret } }',
      { id: hook.webhook.id },
    );
    return { ...hook, given, currentSecret: remember(rotateWebhookSecret.secret as string) };
  }

  it('stores the signing secrets and the credentials encrypted: the raw tables hold none of them in plaintext', async () => {
    const hook = await securedWebhook('/stored');
    const keyring = parseKeyring(K1);

    const [webhook] = await sql`select secret, previous_secret from webhooks where id = ${hook.webhook.id}`;
    expect(webhook.secret).toMatch(/^enc:v1:k1:/);
    expect(webhook.previous_secret).toMatch(/^enc:v1:k1:/);
    expect(keyring.decrypt(webhook.secret)).toBe(hook.currentSecret);
    expect(keyring.decrypt(webhook.previous_secret)).toBe(hook.given.secret);

    const endpoints = await sql`select auth from endpoints where webhook_id = ${hook.webhook.id} order by id`;
    const auths = endpoints.map((e) => e.auth);
    expect(auths[0]).toEqual({ apiKey: expect.stringMatching(/^enc:v1:k1:/), apiKeyHeader: 'X-Key' });
    expect(auths[1]).toEqual({ bearerToken: expect.stringMatching(/^enc:v1:k1:/) });
    expect(auths[2]).toEqual({ basicUser: 'bob', basicPassword: expect.stringMatching(/^enc:v1:k1:/) });
    expect(keyring.decrypt(auths[0].apiKey)).toBe(hook.given.apiKey);
    expect(keyring.decrypt(auths[1].bearerToken)).toBe(hook.given.bearer);
    expect(keyring.decrypt(auths[2].basicPassword)).toBe(hook.given.password);

    // An endpoint added later and one whose credentials change are encrypted too.
    const laterToken = remember(unique('later-bearer'));
    const { createEndpoint } = await t.gql.ok(
      'mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { id } }',
      { input: { webhookId: hook.webhook.id, url: `${receiver.url}/stored/later`, auth: { bearerToken: laterToken } } },
    );
    const newPassword = remember(unique('new-password'));
    await t.gql.ok('mutation ($input: UpdateEndpointInput!) { updateEndpoint(input: $input) { id } }', {
      input: { id: hook.webhook.endpoints[2].id, auth: { basicUser: 'carol', basicPassword: newPassword } },
    });
    const [later] = await sql`select auth from endpoints where id = ${createEndpoint.id}`;
    expect(later.auth.bearerToken).toMatch(/^enc:v1:k1:/);
    const [changed] = await sql`select auth from endpoints where id = ${hook.webhook.endpoints[2].id}`;
    expect(changed.auth).toEqual({ basicUser: 'carol', basicPassword: expect.stringMatching(/^enc:v1:k1:/) });

    const stored = await storedText(sql);
    for (const secret of secrets) expect(stored).not.toContain(secret);
    // The secret's key material itself (without "whsec_") is not there either.
    expect(stored).not.toContain(hook.currentSecret.slice('whsec_'.length));
  });

  it('never returns credentials: Endpoint.auth tells which are set and their non-secret parts only', async () => {
    const hook = await securedWebhook('/api');
    const response = await t.gql(`query ($id: ID!) { node(id: $id) { ... on Webhook { endpoints { ${AUTH_FIELDS} } } } }`, {
      id: hook.webhook.id,
    });
    expect(response.data.node.endpoints).toEqual([
      {
        hasAuth: true,
        auth: { hasApiKey: true, apiKeyHeader: 'X-Key', hasBearerToken: false, basicUser: null, hasBasicPassword: false },
      },
      {
        hasAuth: true,
        auth: { hasApiKey: false, apiKeyHeader: null, hasBearerToken: true, basicUser: null, hasBasicPassword: false },
      },
      {
        hasAuth: true,
        auth: { hasApiKey: false, apiKeyHeader: null, hasBearerToken: false, basicUser: 'bob', hasBasicPassword: true },
      },
    ]);
    const text = JSON.stringify(response);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('enc:v1:');
  });

  it('delivers with the decrypted secret (both signatures during a rotation) and credentials; attempts redact them', async () => {
    const hook = await securedWebhook('/send');
    const { deliveries } = await hook.publish({ n: 1 });
    await eventually(async () => receiver.requests.filter((r) => r.url.startsWith('/send/')).length === 3);

    for (const path of ['/send/api-key', '/send/bearer', '/send/basic']) {
      const [request] = requestsTo(path);
      // Two signatures: receivers holding either the new or the old secret verify.
      expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verify(hook.currentSecret, request)).toBeTruthy();
      expect(verify(hook.given.secret, request)).toBeTruthy();
      expect(request.headers['x-auth-token']).toBe(hook.given.webhookToken);
    }
    expect(requestsTo('/send/api-key')[0].headers['x-key']).toBe(hook.given.apiKey);
    expect(requestsTo('/send/bearer')[0].headers.authorization).toBe(`Bearer ${hook.given.bearer}`);
    expect(requestsTo('/send/bearer')[0].headers['x-api-key']).toBe(hook.given.customKey);
    expect(requestsTo('/send/basic')[0].headers.authorization).toBe(basic('bob', hook.given.password));

    const attempts = await Promise.all(
      deliveries.map(async (d) => (await deliveryWhen(t, d.id, ['SUCCEEDED'])).attempts[0]),
    );
    const byEndpoint = new Map(deliveries.map((d, i) => [d.endpoint.id, attempts[i].requestHeaders]));
    const [apiKeyEndpoint, bearerEndpoint, basicEndpoint] = hook.webhook.endpoints.map((e: { id: string }) => e.id);
    expect(header(byEndpoint.get(apiKeyEndpoint)!, 'x-key')).toBe('[redacted]');
    expect(header(byEndpoint.get(bearerEndpoint)!, 'authorization')).toBe('[redacted]');
    expect(header(byEndpoint.get(bearerEndpoint)!, 'x-api-key')).toBe('[redacted]');
    expect(header(byEndpoint.get(basicEndpoint)!, 'authorization')).toBe('[redacted]');
    for (const headers of byEndpoint.values()) {
      expect(header(headers, 'x-auth-token')).toBe('[redacted]');
      expect(header(headers, 'webhook-signature')).toMatch(/^v1,/); // an HMAC, not a secret: kept for debugging
    }
    const text = JSON.stringify(attempts);
    for (const secret of [...secrets, hook.given.webhookToken, hook.given.customKey]) expect(text).not.toContain(secret);
  });

  it('testEndpoint sends with the decrypted credentials and secret, and returns them redacted', async () => {
    const hook = await securedWebhook('/test');
    const { testEndpoint } = await t.gql.ok(
      'mutation ($id: ID!) { testEndpoint(id: $id) { responseStatus error requestHeaders { key value } } }',
      { id: hook.webhook.endpoints[2].id },
    );
    expect(testEndpoint).toMatchObject({ responseStatus: 200, error: null });
    expect(header(testEndpoint.requestHeaders, 'authorization')).toBe('[redacted]');
    const [request] = requestsTo('/test/basic');
    expect(request.headers.authorization).toBe(basic('bob', hook.given.password));
    expect(verify(hook.currentSecret, request)).toBeTruthy();
  });

  it('keeps the credentials on an update without auth, replaces them with auth, and clears them with auth: null', async () => {
    const bearer = remember(unique('kept-bearer'));
    const hook = await webhookWith(t, [{ url: `${receiver.url}/update/1`, auth: { bearerToken: bearer } }]);
    const id = hook.webhook.endpoints[0].id;
    const update = (input: Record<string, unknown>) =>
      t.gql.ok(`mutation ($input: UpdateEndpointInput!) { updateEndpoint(input: $input) { ${AUTH_FIELDS} } }`, {
        input: { id, ...input },
      });
    const [before] = await sql`select auth from endpoints where id = ${id}`;

    const kept = await update({ url: `${receiver.url}/update/2`, timeoutMs: 5000 });
    expect(kept.updateEndpoint.auth).toMatchObject({ hasBearerToken: true });
    const [after] = await sql`select auth from endpoints where id = ${id}`;
    expect(after.auth).toEqual(before.auth); // not even re-encrypted
    await hook.publish();
    await eventually(async () => requestsTo('/update/2').length === 1);
    expect(requestsTo('/update/2')[0].headers.authorization).toBe(`Bearer ${bearer}`);

    const apiKey = remember(unique('replaced-key'));
    const replaced = await update({ auth: { apiKey } });
    expect(replaced.updateEndpoint.auth).toMatchObject({ hasApiKey: true, apiKeyHeader: 'x-api-key', hasBearerToken: false });
    await hook.publish();
    await eventually(async () => requestsTo('/update/2').length === 2);
    expect(requestsTo('/update/2')[1].headers['x-api-key']).toBe(apiKey);
    expect(requestsTo('/update/2')[1].headers.authorization).toBeUndefined();

    // Write-only credentials are replaced whole: a header name without its key is refused, not a silent removal.
    const headerOnly = await t.gql(`mutation ($input: UpdateEndpointInput!) { updateEndpoint(input: $input) { id } }`, {
      input: { id, auth: { apiKeyHeader: 'X-Other' } },
    });
    expect(headerOnly.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^input\.auth: give one of apiKey, bearerToken or basicUser\/basicPassword/),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const [unchanged] = await sql`select auth from endpoints where id = ${id}`;
    expect(unchanged.auth.apiKeyHeader).toBe('x-api-key');

    const cleared = await update({ auth: null });
    expect(cleared.updateEndpoint).toEqual({ hasAuth: false, auth: null });
    const [none] = await sql`select auth from endpoints where id = ${id}`;
    expect(none.auth).toBeNull();
  });

  it('fails an attempt with a clear error when a stored secret is under a key id this process does not hold', async () => {
    const hook = await webhookWith(t, [{ url: `${receiver.url}/unknown-key` }]);
    // As written by a process that already has a newer key (k9) this one does not know yet.
    const foreign = parseKeyring(newKey('k9')).encrypt(newSecret());
    await sql`update webhooks set secret = ${foreign} where id = ${hook.webhook.id}`;
    const { event, deliveries } = await hook.publish();
    const delivery = await deliveryWhen(t, deliveries[0].id, ['FAILED']);
    expect(delivery.attempts[0].error).toBe('cannot decrypt: key id "k9" not configured in HOOKLINE_ENCRYPTION_KEY');
    expect(requestsTo('/unknown-key')).toHaveLength(0);
    // A request preview (of the real request: the only one signed with the stored secret) says the same, rather
    // than an unexplained internal error.
    const preview = await t.gql('query ($id: ID!, $eventId: ID!) { previewRequest(endpointId: $id, eventId: $eventId) { body } }', {
      id: hook.webhook.endpoints[0].id,
      eventId: event.id,
    });
    expect(preview.errors?.[0]).toMatchObject({
      message: 'cannot decrypt: key id "k9" not configured in HOOKLINE_ENCRYPTION_KEY',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  });

  it('hides in the audit trail every custom header that attempts treat as a credential', async () => {
    // Header names the attempts redact (security/redact.ts): the audit trail, which team VIEWERs read, must too.
    const names = ['Ocp-Apim-Subscription-Key', 'X-Access-Key', 'X-Private-Key', 'X-Client-Credential', 'X-Auth-Token'];
    const values = names.map((name) => remember(unique(name.toLowerCase())));
    const headers = names.map((key, i) => ({ key, value: values[i] }));
    const hook = await webhookWith(t, [{ url: `${receiver.url}/audit-headers`, headers }], { headers });
    await hook.publish();
    await eventually(async () => requestsTo('/audit-headers').length === 1);
    expect(requestsTo('/audit-headers')[0].headers['ocp-apim-subscription-key']).toBe(values[0]);

    const { auditLog } = await t.gql.ok('query ($id: ID!) { auditLog(first: 50, webhookId: $id) { edges { node { action after } } } }', {
      id: hook.webhook.id,
    });
    expect(auditLog.edges.map((e: any) => e.node.action)).toContain('webhook.create');
    // Custom headers are stored as given (they are not credentials Hookline knows of); their audit entries are not.
    const [raw] = await sql`select coalesce(string_agg(a::text, '|'), '') as text from audit_log a where webhook_id = ${hook.webhook.id}`;
    const text = JSON.stringify(auditLog) + raw.text;
    for (const value of values) expect(text).not.toContain(value);
    const created = auditLog.edges.find((e: any) => e.node.action === 'webhook.create').node.after;
    expect(created.headers).toEqual(names.map((key) => ({ key, value: '[redacted]' })));
  });

  it('never logs a secret or a credential, at debug level, failed deliveries and disabled endpoints included', async () => {
    const hook = await securedWebhook('/fail');
    const { deliveries } = await hook.publish();
    for (const d of deliveries) await deliveryWhen(t, d.id, ['FAILED']);
    // Two failures in a row disable each endpoint; the notice is logged with the last error.
    await eventually(async () => logs.entries().filter((e) => e.msg === 'endpoint disabled').length >= 3);

    const entries = logs.entries();
    expect(entries.some((e) => e.level === 20)).toBe(true); // debug lines were written and captured
    expect(entries.filter((e) => e.msg === 'endpoint disabled').map((e) => e.lastError)).toContain('HTTP 500');
    const text = logs.text();
    for (const secret of [...secrets, hook.given.customKey, hook.given.webhookToken]) expect(text).not.toContain(secret);
    expect(text).not.toContain(basic('bob', hook.given.password));
    expect(text).not.toContain(K1.split(':')[1]);
    // Without a key nothing warns: the warning is for plaintext storage only.
    expect(text).not.toContain('HOOKLINE_ENCRYPTION_KEY is not set');
  });
});

describe('the key lifecycle: plaintext, then encrypted, then rotated', () => {
  it('encrypts plaintext rows at start, re-encrypts on rotation, keeps delivering, and refuses a missing key', async () => {
    const database = await createTestDatabase();
    const receiver = await startReceiver();
    const sql = openSql(database.url);
    const env = { HOOKLINE_POLL_INTERVAL: '100ms', LOG_LEVEL: 'info' };
    let resource = 0;
    try {
      const start = async (key: string | undefined) => {
        const logs = capturedLogs('info');
        const t = await startTestApp(key ? { ...env, HOOKLINE_ENCRYPTION_KEY: key } : env, { database, logger: logs.logger });
        return { t, logs };
      };
      /** Publishes the webhook's event type through `t` and returns what the receiver got for it. */
      const deliver = async (t: TestApp, hook: { type: string; path: string }) => {
        const before = receiver.requests.filter((r) => r.url === hook.path).length;
        await t.gql.ok('mutation ($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }', {
          input: { type: hook.type, data: { n: 1 } },
        });
        await eventually(async () => receiver.requests.filter((r) => r.url === hook.path).length > before);
        return receiver.requests.filter((r) => r.url === hook.path)[before];
      };
      const create = async (t: TestApp) => {
        const type = `lifecycle${++resource}.created`;
        const path = `/lifecycle/${resource}`;
        const bearer = unique('bearer');
        const { createWebhook } = await t.gql.ok(
          `mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }`,
          {
            input: {
              name: type,
              triggers: [{ resource: `lifecycle${resource}`, event: 'created' }],
              endpoints: [{ url: `${receiver.url}${path}`, auth: { bearerToken: bearer } }],
            },
          },
        );
        return { id: createWebhook.webhook.id as string, secret: createWebhook.secret as string, bearer, type, path };
      };
      const stored = async (id: string) => {
        const [row] = await sql`select w.secret, w.previous_secret, e.auth from webhooks w join endpoints e on e.webhook_id = w.id where w.id = ${id}`;
        return { secret: row.secret as string, previous: row.previous_secret as string | null, bearer: row.auth.bearerToken as string };
      };

      // 1. No key: stored as given, and the start warns, once.
      const plain = await start(undefined);
      const hook = await create(plain.t);
      expect(await stored(hook.id)).toEqual({ secret: hook.secret, previous: null, bearer: hook.bearer });
      expect(plain.logs.entries().filter((e) => /HOOKLINE_ENCRYPTION_KEY is not set/.test(e.msg))).toMatchObject([{ level: 40 }]);
      const { rotateWebhookSecret } = await plain.t.gql.ok('mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', {
        id: hook.id,
      });
      const rotated = rotateWebhookSecret.secret as string;
      await plain.t.stop();

      // 2. With k1: the plaintext rows are encrypted at start, and deliveries verify with both secrets.
      const one = await start(K1);
      let row = await stored(hook.id);
      expect(row.secret).toMatch(/^enc:v1:k1:/);
      expect(row.previous).toMatch(/^enc:v1:k1:/);
      expect(row.bearer).toMatch(/^enc:v1:k1:/);
      expect(one.logs.text()).not.toContain('HOOKLINE_ENCRYPTION_KEY is not set');
      let request = await deliver(one.t, hook);
      expect(verify(rotated, request)).toBeTruthy();
      expect(verify(hook.secret, request)).toBeTruthy();
      expect(request.headers.authorization).toBe(`Bearer ${hook.bearer}`);
      await one.t.stop();

      // 3. Rotation: the new key k2 first, k1 kept. Everything is re-encrypted with k2 at start.
      const both = await start(`${K2},${K1}`);
      row = await stored(hook.id);
      expect([row.secret, row.previous, row.bearer].every((v) => v?.startsWith('enc:v1:k2:'))).toBe(true);
      expect(both.logs.entries().find((e) => e.msg === 're-encrypted stored secrets with the current key')).toMatchObject({
        keyId: 'k2',
        webhooks: 1,
        endpoints: 1,
      });
      request = await deliver(both.t, hook);
      expect(verify(rotated, request)).toBeTruthy();
      expect(verify(hook.secret, request)).toBeTruthy();
      // Mid-rotation, a process still on the old configuration writes with k1: this one still reads it.
      const late = await create(both.t);
      await sql`update webhooks set secret = ${parseKeyring(K1).encrypt(late.secret)} where id = ${late.id}`;
      expect(verify(late.secret, await deliver(both.t, late))).toBeTruthy();
      await both.t.stop();

      // 4. A key dropped too early: the start stops with an error naming the key id still in use.
      const k1Only = buildApp({
        config: parseConfig({
          DATABASE_URL: database.url,
          PORT: '0',
          HOST: '127.0.0.1',
          HOOKLINE_ENCRYPTION_KEY: K1,
          HOOKLINE_ADMIN_TOKEN: unique('hl_test_admin'),
          HOOKLINE_DATA_DIR: await mkdtemp(join(tmpdir(), 'hookline-test-data-')),
        }),
        logger: capturedLogs('info').logger,
      });
      try {
        await expect(k1Only.start()).rejects.toThrow(
          /HOOKLINE_ENCRYPTION_KEY: stored secrets are encrypted with key ids it does not hold: "k2" \(\d+ values\)/,
        );
      } finally {
        await k1Only.stop();
      }

      // 5. Rotation done (both keys once more re-encrypt the late k1 row), then k2 alone reads everything.
      await (await start(`${K2},${K1}`)).t.stop();
      const two = await start(K2);
      expect((await stored(late.id)).secret).toMatch(/^enc:v1:k2:/);
      expect(verify(rotated, await deliver(two.t, hook))).toBeTruthy();
      expect(verify(late.secret, await deliver(two.t, late))).toBeTruthy();
      await two.t.stop();
    } finally {
      await sql.end();
      await receiver.close();
      await database.drop();
    }
  });
});

describe('re-encryption at start', () => {
  it('goes through every row, a batch at a time, and leaves nothing in plaintext', async () => {
    const database = await createTestDatabase();
    const sql = openSql(database.url);
    const logs = capturedLogs('info');
    let t: TestApp | undefined;
    try {
      // More rows than one batch, stored in plaintext as before a key was set.
      const count = 450;
      await sql`
        insert into webhooks (id, name, secret)
        select 'wh_batch' || lpad(n::text, 4, '0'), 'batch ' || n, 'whsec_plain' || n from generate_series(1, ${count}) n`;
      await sql`
        insert into endpoints (id, webhook_id, url, auth)
        select 'ep_batch' || lpad(n::text, 4, '0'), 'wh_batch' || lpad(n::text, 4, '0'), 'http://127.0.0.1:9/',
               jsonb_build_object('basicUser', 'u' || n, 'basicPassword', 'pw' || n)
          from generate_series(1, ${count}) n`;
      t = await startTestApp({ HOOKLINE_ENCRYPTION_KEY: K1 }, { database, logger: logs.logger });

      const [left] = await sql`select
        (select count(*)::int from webhooks where secret not like 'enc:v1:k1:%') as webhooks,
        (select count(*)::int from endpoints where auth->>'basicPassword' not like 'enc:v1:k1:%') as endpoints`;
      expect(left).toEqual({ webhooks: 0, endpoints: 0 });
      expect(logs.entries().find((e) => e.msg === 're-encrypted stored secrets with the current key')).toMatchObject({
        webhooks: count,
        endpoints: count,
        before: { plaintext: 2 * count },
      });
      const keyring = parseKeyring(K1);
      const [last] = await sql`select w.secret, e.auth from webhooks w join endpoints e on e.webhook_id = w.id
                                where w.id = 'wh_batch0450'`;
      expect(keyring.decrypt(last.secret)).toBe('whsec_plain450');
      expect(last.auth.basicUser).toBe('u450');
      expect(keyring.decrypt(last.auth.basicPassword)).toBe('pw450');
    } finally {
      await t?.stop();
      await sql.end();
      await database.drop();
    }
  });
});
