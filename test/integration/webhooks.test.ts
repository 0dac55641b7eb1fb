import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createWebhook, openSql, rowCounts, WEBHOOK_FIELDS } from '../helpers/webhook-fixtures.js';

let t: TestApp;
let sql: ReturnType<typeof openSql>;
beforeAll(async () => {
  t = await startTestApp({ HOOKLINE_SECRET_OVERLAP: '2h' });
  sql = openSql(t.database.url);
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const NODE = `query ($id: ID!) { node(id: $id) { __typename id
  ... on Webhook { name } ... on Endpoint { url webhook { id } } ... on Trigger { eventType webhook { id } } } }`;

describe('createWebhook', () => {
  it('creates a webhook with its endpoints and triggers in one call', async () => {
    const { secret, webhook } = await createWebhook(t.gql, {
      name: 'Orders',
      description: 'Order events for the ERP',
      headers: [{ key: 'X-Source', value: 'hookline' }],
      properties: { tenant: 'acme' },
      forLogin: 'alice',
      notifyEmail: 'ops@example.com',
      endpoints: [
        { url: 'http://127.0.0.1:9/first', method: 'PUT', timeoutMs: 5000 },
        { kind: 'EMAIL', emailTo: ['a@example.com', 'b@example.com'] },
      ],
      triggers: [
        { resource: 'order', event: 'created' },
        { resource: 'order', event: '*', filter: { 'customer.country': 'SE' } },
      ],
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    expect(webhook).toMatchObject({
      name: 'Orders',
      description: 'Order events for the ERP',
      state: 'ACTIVE',
      headers: [{ key: 'X-Source', value: 'hookline' }],
      properties: { tenant: 'acme' },
      forLogin: 'alice',
      notifyEmail: 'ops@example.com',
      ownerLogin: 'admin',
      createdBy: 'admin',
      updatedBy: 'admin',
      team: null,
    });
    expect(webhook.id).toMatch(/^wh_/);
    expect(webhook.endpoints).toMatchObject([
      {
        kind: 'HTTP',
        url: 'http://127.0.0.1:9/first',
        method: 'PUT',
        timeoutMs: 5000,
        contentType: 'application/json',
        state: 'ACTIVE',
        emailTo: null,
        hasAuth: false,
        webhook: { id: webhook.id },
      },
      { kind: 'EMAIL', url: null, method: 'POST', timeoutMs: 10000, emailTo: ['a@example.com', 'b@example.com'] },
    ]);
    expect(webhook.triggers).toMatchObject([
      { resource: 'order', event: 'created', eventType: 'order.created', filter: null, webhook: { id: webhook.id } },
      { resource: 'order', event: '*', eventType: 'order.*', filter: { 'customer.country': 'SE' } },
    ]);
    const [stored] = await sql`select secret from webhooks where id = ${webhook.id}`;
    expect(stored.secret).toBe(secret);
  });

  it('keeps a supplied secret', async () => {
    const supplied = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const { secret, webhook } = await createWebhook(t.gql, { name: 'own secret', secret: supplied });
    expect(secret).toBe(supplied);
    const [stored] = await sql`select secret from webhooks where id = ${webhook.id}`;
    expect(stored.secret).toBe(supplied);
  });

  it('never exposes the secret as a field', async () => {
    const result = await t.gql('{ webhooks { edges { node { id secret } } } }');
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('writes nothing when one nested endpoint is refused', async () => {
    const before = await rowCounts(sql);
    const result = await t.gql(`mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }`, {
      input: {
        name: 'half good',
        endpoints: [{ url: 'http://127.0.0.1:9/ok' }, { url: 'http://10.0.0.1/internal' }],
        triggers: [{ resource: 'order', event: 'created' }],
      },
    });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^input\.endpoints\[1\]\.url: /);
    expect(await rowCounts(sql)).toEqual(before);
  });

  it('rolls the webhook and its endpoints back when a later insert fails', async () => {
    // A database-side failure after the webhook and endpoints rows are written: only the transaction can undo them.
    await sql.unsafe(`
      create function refuse_boom() returns trigger language plpgsql as
        $$ begin raise exception 'boom refused'; end $$;
      create trigger refuse_boom before insert on triggers for each row when (new.resource = 'boom')
        execute function refuse_boom();`);
    try {
      const before = await rowCounts(sql);
      const result = await t.gql(`mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }`, {
        input: {
          name: 'rolled back',
          endpoints: [{ url: 'http://127.0.0.1:9/a' }, { url: 'http://127.0.0.1:9/b' }],
          triggers: [{ resource: 'boom', event: 'created' }],
        },
      });
      expect(result.errors).toHaveLength(1);
      expect(await rowCounts(sql)).toEqual(before);
      const [named] = await sql`select count(*)::int as n from webhooks where name = 'rolled back'`;
      expect(named.n).toBe(0);
    } finally {
      await sql.unsafe('drop trigger refuse_boom on triggers; drop function refuse_boom();');
    }
  });
});

describe('reading', () => {
  it('finds a webhook, an endpoint and a trigger with node(id)', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'nodes',
      endpoints: [{ url: 'http://127.0.0.1:9/node' }],
      triggers: [{ resource: 'user', event: 'login' }],
    });
    const [endpoint] = webhook.endpoints;
    const [trigger] = webhook.triggers;
    expect((await t.gql.ok(NODE, { id: webhook.id })).node).toEqual({ __typename: 'Webhook', id: webhook.id, name: 'nodes' });
    expect((await t.gql.ok(NODE, { id: endpoint.id })).node).toEqual({
      __typename: 'Endpoint',
      id: endpoint.id,
      url: 'http://127.0.0.1:9/node',
      webhook: { id: webhook.id },
    });
    expect((await t.gql.ok(NODE, { id: trigger.id })).node).toEqual({
      __typename: 'Trigger',
      id: trigger.id,
      eventType: 'user.login',
      webhook: { id: webhook.id },
    });
    expect((await t.gql.ok(NODE, { id: 'wh_0000000000000000000000000' })).node).toBeNull();
  });

  it('pages through webhooks newest first with first/after', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await createWebhook(t.gql, { name: `paged ${i}` })).webhook.id);
    const PAGE = `query ($after: String) { webhooks(first: 3, after: $after, search: "paged") {
      edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    const hasNext: boolean[] = [];
    let after: string | undefined;
    for (;;) {
      const { webhooks } = await t.gql.ok(PAGE, { after });
      seen.push(...webhooks.edges.map((e: any) => e.node.id));
      hasNext.push(webhooks.pageInfo.hasNextPage);
      if (!webhooks.pageInfo.hasNextPage) break;
      after = webhooks.pageInfo.endCursor;
    }
    expect(hasNext).toEqual([true, true, false]);
    expect(seen).toEqual([...created].reverse());

    const back = await t.gql.ok(`query ($before: String) { webhooks(last: 2, before: $before, search: "paged") { edges { node { name } } } }`, {
      before: created[2],
    });
    expect(back.webhooks.edges.map((e: any) => e.node.name)).toEqual(['paged 4', 'paged 3']);
  });

  it('caps the page size', async () => {
    const max = t.app.services.config.HOOKLINE_MAX_PAGE_SIZE;
    const result = await t.gql(`{ webhooks(first: ${max + 1}) { edges { cursor } } }`);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^first: /);
  });

  it('searches name, description, owner and forLogin, case-insensitively', async () => {
    const a = (await createWebhook(t.gql, { name: 'Zebra Crossing' })).webhook.id;
    const b = (await createWebhook(t.gql, { name: 'plain', description: 'about ZEBRAS' })).webhook.id;
    const c = (await createWebhook(t.gql, { name: 'for someone', forLogin: 'zebra-fan' })).webhook.id;
    const d = (await createWebhook(t.gql, { name: '100% sure' })).webhook.id;
    const search = async (text: string) =>
      (await t.gql.ok(`query ($s: String) { webhooks(search: $s, first: 100) { edges { node { id } } } }`, { s: text })).webhooks.edges.map(
        (e: any) => e.node.id,
      );
    expect(await search('zEbRa')).toEqual([c, b, a]);
    expect(await search('%')).toEqual([d]);
    expect(await search('ADMIN')).toContain(a); // ownerLogin is the creating token's name
    expect(await search('no such thing')).toEqual([]);
  });
});

describe('changing', () => {
  it('updates only the fields given and records who did it', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'before',
      description: 'old description',
      notifyEmail: 'keep@example.com',
      headers: [{ key: 'X-A', value: '1' }],
    });
    const { updateWebhook } = await t.gql.ok(
      `mutation ($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { ${WEBHOOK_FIELDS} } } }`,
      { input: { id: webhook.id, name: 'after', description: null, headers: [{ key: 'X-B', value: '2' }], properties: { a: 1 } } },
    );
    expect(updateWebhook.webhook).toMatchObject({
      id: webhook.id,
      name: 'after',
      description: null,
      notifyEmail: 'keep@example.com',
      headers: [{ key: 'X-B', value: '2' }],
      properties: { a: 1 },
      updatedBy: 'admin',
      createdAt: webhook.createdAt,
    });
    expect(Date.parse(updateWebhook.webhook.updatedAt)).toBeGreaterThan(Date.parse(webhook.updatedAt));
  });

  it('stops and restarts a webhook, and filters the list by state', async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'stoppable' });
    const SET = `mutation ($id: ID!, $state: State!) { setWebhookState(id: $id, state: $state) { id state } }`;
    expect((await t.gql.ok(SET, { id: webhook.id, state: 'STOPPED' })).setWebhookState.state).toBe('STOPPED');
    const stopped = await t.gql.ok('{ webhooks(state: STOPPED, first: 100) { edges { node { id state } } } }');
    expect(stopped.webhooks.edges).toEqual([{ node: { id: webhook.id, state: 'STOPPED' } }]);
    const refused = await t.gql(SET, { id: webhook.id, state: 'TOO_MANY_ERRORS' });
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0].message).toMatch(/^state: /);
    expect((await t.gql.ok(SET, { id: webhook.id, state: 'ACTIVE' })).setWebhookState.state).toBe('ACTIVE');
  });

  it('rotates the secret and keeps the old one for the overlap period', async () => {
    const { webhook, secret: oldSecret } = await createWebhook(t.gql, { name: 'rotating' });
    const { rotateWebhookSecret } = await t.gql.ok(
      `mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id previousSecretExpiresAt } } }`,
      { id: webhook.id },
    );
    expect(rotateWebhookSecret.secret).toMatch(/^whsec_/);
    expect(rotateWebhookSecret.secret).not.toBe(oldSecret);
    const [row] = await sql`select secret, previous_secret, previous_secret_expires_at from webhooks where id = ${webhook.id}`;
    expect(row.secret).toBe(rotateWebhookSecret.secret);
    expect(row.previous_secret).toBe(oldSecret);
    const overlap = row.previous_secret_expires_at.getTime() - Date.now();
    expect(overlap).toBeGreaterThan(2 * 3600_000 - 60_000);
    expect(overlap).toBeLessThanOrEqual(2 * 3600_000 + 5_000);
    expect(Date.parse(rotateWebhookSecret.webhook.previousSecretExpiresAt)).toBe(row.previous_secret_expires_at.getTime());
  });

  it('deletes a webhook with its endpoints and triggers', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'doomed',
      endpoints: [{ url: 'http://127.0.0.1:9/x' }],
      triggers: [{ resource: '*', event: '*' }],
    });
    const DELETE = `mutation ($id: ID!) { deleteWebhook(id: $id) { deletedId } }`;
    expect((await t.gql.ok(DELETE, { id: webhook.id })).deleteWebhook.deletedId).toBe(webhook.id);
    expect((await t.gql.ok(NODE, { id: webhook.id })).node).toBeNull();
    expect((await t.gql.ok(NODE, { id: webhook.endpoints[0].id })).node).toBeNull();
    const [left] = await sql`select (select count(*)::int from endpoints where webhook_id = ${webhook.id}) +
                                    (select count(*)::int from triggers where webhook_id = ${webhook.id}) as n`;
    expect(left.n).toBe(0);
    const again = await t.gql(DELETE, { id: webhook.id });
    expect(again.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(again.errors?.[0].message).toMatch(/^id: /);
  });
});
