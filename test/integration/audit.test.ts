import { beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers/app.js';
import type { GraphqlClient } from '../helpers/gql.js';
import { publish, teamToken, useApiApp } from '../helpers/event-fixtures.js';
import { eventually, startReceiver } from '../helpers/receiver.js';
import { createWebhook } from '../helpers/webhook-fixtures.js';

// Quiet: one test makes a mutation fail on purpose, and its error log would only be noise here.
const app = useApiApp({ LOG_LEVEL: 'fatal' });
let teamA: string;
let teamB: string;
/** Team tokens made through the API (so their creation is audited too), with their values and ids. */
let editorA: { gql: GraphqlClient; token: string; id: string; name: string };
let editorB: { gql: GraphqlClient; token: string; id: string; name: string };
let viewerA: GraphqlClient;

/** Every clear secret handed to or returned by Hookline in this file: none may reach audit_log. */
const secrets: string[] = [];
const SUPPLIED_SECRET = `whsec_${Buffer.from('a supplied secret of 32 bytes!!!').toString('base64')}`;
const API_KEY = 'ak-audit-3f9d2c71';
const BEARER = 'bearer-audit-77ab01';
const PASSWORD = 'pw-audit-c0ffee42';
const HEADER_TOKEN = 'Token hdr-audit-5e5e5e';

const ENTRY = `id at actor actorTokenId action targetType targetId webhook { id } before after`;
const LOG = `query ($webhookId: ID, $first: Int, $after: String) {
  auditLog(webhookId: $webhookId, first: $first, after: $after) {
    edges { cursor node { ${ENTRY} } } pageInfo { hasNextPage endCursor }
  }
}`;
const WEBHOOK_LOG = `query ($id: ID!) { node(id: $id) { ... on Webhook { auditLog(first: 100) { edges { node { ${ENTRY} } } } } } }`;

type Entry = {
  id: string;
  at: string;
  actor: string | null;
  actorTokenId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  webhook: { id: string } | null;
  before: any;
  after: any;
};

async function log(gql: GraphqlClient, variables: { webhookId?: string; first?: number; after?: string } = {}): Promise<Entry[]> {
  const data = await gql.ok(LOG, { first: 100, ...variables });
  return data.auditLog.edges.map((e: { node: Entry }) => e.node);
}

const auditRowCount = async () => (await app.sql<{ n: number }[]>`select count(*)::int as n from audit_log`)[0].n;

async function apiToken(name: string, role: string, teamId: string) {
  const data = await app.t.gql.ok(
    'mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }',
    { input: { name, role, teamId } },
  );
  const { token, apiToken: created } = data.createApiToken;
  secrets.push(token);
  return { gql: app.t.gql.as(token), token: token as string, id: created.id as string, name };
}

beforeAll(async () => {
  teamA = (await app.t.gql.ok('mutation { createTeam(name: "audit a") { id } }')).createTeam.id;
  teamB = (await app.t.gql.ok('mutation { createTeam(name: "audit b") { id } }')).createTeam.id;
  editorA = await apiToken('editor of a', 'EDITOR', teamA);
  editorB = await apiToken('editor of b', 'EDITOR', teamB);
  viewerA = (await apiToken('viewer of a', 'VIEWER', teamA)).gql;
});

describe('every kind of change', () => {
  let webhookId: string;
  let firstEndpoint: string;
  const mutate = (query: string, variables: Record<string, unknown>) => editorA.gql.ok(query, variables);
  /** The newest entry of the webhook, which the change just made must be. */
  const latest = async () => (await log(editorA.gql, { webhookId }))[0];

  it('createWebhook: the whole webhook with its endpoints and triggers, made by the token', async () => {
    const { webhook, secret } = await createWebhook(editorA.gql, {
      name: 'audited',
      secret: SUPPLIED_SECRET,
      headers: [{ key: 'X-Upstream-Token', value: HEADER_TOKEN }],
      endpoints: [
        { url: 'http://127.0.0.1:9/a', auth: { apiKey: API_KEY, apiKeyHeader: 'x-key' }, headers: [{ key: 'x-plain', value: 'visible' }] },
      ],
      triggers: [{ resource: 'order', event: 'created' }],
    });
    secrets.push(secret);
    webhookId = webhook.id;
    firstEndpoint = webhook.endpoints[0].id;
    const entry = await latest();
    expect(entry).toMatchObject({
      action: 'webhook.create',
      targetType: 'Webhook',
      targetId: webhookId,
      webhook: { id: webhookId },
      actor: 'editor of a',
      actorTokenId: editorA.id,
      before: null,
    });
    expect(Math.abs(Date.parse(entry.at) - Date.now())).toBeLessThan(60_000);
    expect(entry.after).toMatchObject({
      id: webhookId,
      name: 'audited',
      state: 'ACTIVE',
      teamId: teamA,
      secret: '[redacted]',
      previousSecret: null,
      headers: [{ key: 'X-Upstream-Token', value: '[redacted]' }],
      endpoints: [
        {
          id: firstEndpoint,
          url: 'http://127.0.0.1:9/a',
          auth: { apiKey: '[redacted]', apiKeyHeader: 'x-key' },
          headers: [{ key: 'x-plain', value: 'visible' }],
        },
      ],
      triggers: [{ resource: 'order', event: 'created' }],
    });
  });

  it('updateWebhook: only the changed fields, before and after', async () => {
    await mutate(`mutation ($id: ID!) { updateWebhook(input: { id: $id, name: "renamed", description: "now described" }) { webhook { id } } }`, {
      id: webhookId,
    });
    const entry = await latest();
    expect(entry.action).toBe('webhook.update');
    expect(entry.before).toEqual({ name: 'audited', description: null });
    expect(entry.after).toEqual({ name: 'renamed', description: 'now described' });
  });

  it('setWebhookState and rotateWebhookSecret: the state, and the secrets as changed but redacted', async () => {
    await mutate(`mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }`, { id: webhookId });
    let entry = await latest();
    expect([entry.action, entry.before, entry.after]).toEqual(['webhook.state', { state: 'ACTIVE' }, { state: 'STOPPED' }]);
    await mutate(`mutation ($id: ID!) { setWebhookState(id: $id, state: ACTIVE) { id } }`, { id: webhookId });

    const rotated = await mutate(`mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: webhookId });
    secrets.push(rotated.rotateWebhookSecret.secret);
    entry = await latest();
    expect(entry.action).toBe('webhook.rotate_secret');
    expect(entry.before).toMatchObject({ secret: '[redacted]', previousSecret: null, previousSecretExpiresAt: null });
    expect(entry.after).toMatchObject({ secret: '[redacted]', previousSecret: '[redacted]' });
    expect(Date.parse(entry.after.previousSecretExpiresAt)).toBeGreaterThan(Date.now());
  });

  it('endpoints: create, update, state and delete, credentials redacted', async () => {
    const created = await mutate(
      `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { id } }`,
      { input: { webhookId, url: 'http://127.0.0.1:9/b', auth: { basicUser: 'ann', basicPassword: PASSWORD } } },
    );
    const id = created.createEndpoint.id;
    let entry = await latest();
    expect(entry).toMatchObject({ action: 'endpoint.create', targetType: 'Endpoint', targetId: id, webhook: { id: webhookId }, before: null });
    expect(entry.after).toMatchObject({ id, url: 'http://127.0.0.1:9/b', auth: { basicUser: 'ann', basicPassword: '[redacted]' } });

    await mutate(
      `mutation ($input: UpdateEndpointInput!) { updateEndpoint(input: $input) { id } }`,
      { input: { id, timeoutMs: 2500, auth: { bearerToken: BEARER } } },
    );
    entry = await latest();
    expect(entry.action).toBe('endpoint.update');
    expect(entry.before).toEqual({ timeoutMs: 10000, auth: { basicUser: 'ann', basicPassword: '[redacted]' } });
    expect(entry.after).toEqual({ timeoutMs: 2500, auth: { bearerToken: '[redacted]' } });

    await mutate(`mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }`, { id });
    entry = await latest();
    expect([entry.action, entry.targetId, entry.before, entry.after]).toEqual([
      'endpoint.state',
      id,
      { state: 'ACTIVE' },
      { state: 'STOPPED' },
    ]);

    await mutate(`mutation ($id: ID!) { deleteEndpoint(id: $id) { deletedId } }`, { id });
    entry = await latest();
    expect(entry).toMatchObject({ action: 'endpoint.delete', targetId: id, after: null });
    expect(entry.before).toMatchObject({ id, state: 'STOPPED', timeoutMs: 2500, auth: { bearerToken: '[redacted]' } });
  });

  it('triggers: create and delete', async () => {
    const created = await mutate(
      `mutation ($input: CreateTriggerInput!) { createTrigger(input: $input) { id } }`,
      { input: { webhookId, resource: 'invoice', event: 'paid', filter: { 'customer.country': 'SE' } } },
    );
    const id = created.createTrigger.id;
    let entry = await latest();
    expect(entry).toMatchObject({ action: 'trigger.create', targetType: 'Trigger', targetId: id, before: null });
    expect(entry.after).toMatchObject({ id, resource: 'invoice', event: 'paid', filter: { 'customer.country': 'SE' } });

    await mutate(`mutation ($id: ID!) { deleteTrigger(id: $id) { deletedId } }`, { id });
    entry = await latest();
    expect(entry).toMatchObject({ action: 'trigger.delete', targetId: id, after: null });
    expect(entry.before).toMatchObject({ id, resource: 'invoice', event: 'paid' });
  });

  it('replayDelivery and replayDeliveries (a dry run records nothing)', async () => {
    const published = await publish(app.t.gql, { type: 'order.created', data: { n: 1 } });
    const original = published.deliveries.find((d) => d.webhook.id === webhookId)!;
    const replayed = await mutate(`mutation ($id: ID!) { replayDelivery(id: $id) { delivery { id } } }`, { id: original.id });
    const copy = replayed.replayDelivery.delivery.id;
    let entry = await latest();
    expect(entry).toMatchObject({ action: 'delivery.replay', targetType: 'Delivery', targetId: copy, webhook: { id: webhookId } });
    expect(entry.after).toMatchObject({ id: copy, replayOf: original.id, eventId: published.event.id, endpointId: firstEndpoint });

    const REPLAY_MANY = `mutation ($input: ReplayDeliveriesInput!) { replayDeliveries(input: $input) { count } }`;
    const rows = await auditRowCount();
    expect((await mutate(REPLAY_MANY, { input: { webhookId, dryRun: true } })).replayDeliveries.count).toBe(2);
    expect(await auditRowCount()).toBe(rows);

    expect((await mutate(REPLAY_MANY, { input: { webhookId, status: ['PENDING'] } })).replayDeliveries.count).toBe(2);
    entry = await latest();
    expect(entry).toMatchObject({ action: 'webhook.replay_deliveries', targetType: 'Webhook', targetId: webhookId, before: null });
    expect(entry.after).toEqual({ count: 2, filter: expect.objectContaining({ webhookId, status: ['PENDING'] }) });
  });

  it('redeliverEvents: the replay job it starts, on the endpoint\'s webhook', async () => {
    const started = await mutate(
      `mutation ($input: RedeliverEventsInput!) { redeliverEvents(input: $input) { job { id } } }`,
      { input: { endpointId: firstEndpoint, types: ['order.created'] } },
    );
    const job = started.redeliverEvents.job.id;
    const entry = await latest();
    expect(entry).toMatchObject({ action: 'endpoint.redeliver_events', targetType: 'ReplayJob', targetId: job, before: null });
    expect(entry.after).toMatchObject({ kind: 'REDELIVER_EVENTS', endpointId: firstEndpoint, params: { types: ['order.created'] } });
  });

  it('createFeedToken and revokeFeedToken: the token, without its value or hash', async () => {
    const created = await mutate(`mutation ($id: ID!) { createFeedToken(webhookId: $id) { token url feedToken { id } } }`, {
      id: webhookId,
    });
    const { token, feedToken } = created.createFeedToken;
    secrets.push(token);
    let entry = await latest();
    expect(entry).toMatchObject({ action: 'feed_token.create', targetType: 'FeedToken', targetId: feedToken.id, before: null });
    expect(entry.after).toMatchObject({ id: feedToken.id, webhookId, tokenHash: '[redacted]', revokedAt: null });

    await mutate(`mutation ($id: ID!) { revokeFeedToken(id: $id) { id } }`, { id: feedToken.id });
    entry = await latest();
    expect(entry).toMatchObject({ action: 'feed_token.revoke', targetId: feedToken.id, before: { revokedAt: null } });
    expect(Date.parse(entry.after.revokedAt)).toBeGreaterThan(0);
  });

  it('deleteWebhook: the whole webhook, with the endpoints and triggers it took along; the log outlives it', async () => {
    await mutate(`mutation ($id: ID!) { deleteWebhook(id: $id) { deletedId } }`, { id: webhookId });
    const entries = await log(editorA.gql, { webhookId });
    const entry = entries[0];
    expect(entry).toMatchObject({ action: 'webhook.delete', targetId: webhookId, after: null, webhook: null });
    expect(entry.before).toMatchObject({
      id: webhookId,
      name: 'renamed',
      secret: '[redacted]',
      previousSecret: '[redacted]',
      endpoints: [{ id: firstEndpoint, auth: { apiKey: '[redacted]', apiKeyHeader: 'x-key' } }],
      triggers: [{ resource: 'order', event: 'created' }],
    });
    // Newest first, one entry per change, every one by editor A.
    expect(entries.map((e) => e.action)).toEqual([
      'webhook.delete',
      'feed_token.revoke',
      'feed_token.create',
      'endpoint.redeliver_events',
      'webhook.replay_deliveries',
      'delivery.replay',
      'trigger.delete',
      'trigger.create',
      'endpoint.delete',
      'endpoint.state',
      'endpoint.update',
      'endpoint.create',
      'webhook.rotate_secret',
      'webhook.state',
      'webhook.state',
      'webhook.update',
      'webhook.create',
    ]);
    expect(new Set(entries.map((e) => `${e.actorTokenId} ${e.actor}`))).toEqual(new Set([`${editorA.id} editor of a`]));
  });

  it('createTeam and createApiToken: ADMIN entries without the token value', async () => {
    const all = await log(app.t.gql);
    const team = all.find((e) => e.action === 'team.create' && e.targetId === teamA)!;
    expect(team).toMatchObject({ targetType: 'Team', webhook: null, before: null, after: { id: teamA, name: 'audit a' } });
    const token = all.find((e) => e.action === 'token.create' && e.targetId === editorA.id)!;
    expect(token).toMatchObject({ targetType: 'ApiToken', before: null });
    expect(token.after).toEqual({ id: editorA.id, name: 'editor of a', role: 'EDITOR', teamId: teamA, createdBy: 'admin' });
    expect(team.actorTokenId).toBe(token.actorTokenId);
    expect(team.actor).toBe('admin');
  });

  it('revokeApiToken is recorded too', async () => {
    const extra = await apiToken('short-lived', 'VIEWER', teamB);
    await app.t.gql.ok('mutation ($id: ID!) { revokeApiToken(id: $id) { apiToken { id } } }', { id: extra.id });
    const [entry] = await log(app.t.gql);
    expect(entry).toMatchObject({ action: 'token.revoke', targetId: extra.id, before: { revokedAt: null } });
    expect(Date.parse(entry.after.revokedAt)).toBeGreaterThan(0);
  });
});

describe('secrets', () => {
  it('no clear secret, credential or token value appears anywhere in the raw audit_log rows', async () => {
    const known = [SUPPLIED_SECRET, API_KEY, BEARER, PASSWORD, HEADER_TOKEN, ...secrets];
    expect(known.length).toBeGreaterThan(8);
    const [{ dump }] = await app.sql<{ dump: string }[]>`select string_agg(a::text, E'\n') as dump from audit_log a`;
    // The dump is really the entries: the redaction marker and the unredacted fields are there.
    expect(dump).toContain('[redacted]');
    expect(dump).toContain('http://127.0.0.1:9/a');
    for (const secret of known) {
      expect(dump.includes(secret), secret).toBe(false);
      // jsonb escapes "/" never and "+" never, but check the base64 body of whsec_ secrets on its own as well.
      if (secret.startsWith('whsec_')) expect(dump.includes(secret.slice(6))).toBe(false);
    }
  });
});

describe('visibility', () => {
  let hookB: string;
  beforeAll(async () => {
    hookB = (await createWebhook(editorB.gql, { name: 'b hook' })).webhook.id;
  });

  it("a team token sees its team's entries only; ADMIN sees all, ADMIN-only entries included", async () => {
    const a = await log(editorA.gql);
    const b = await log(editorB.gql);
    const admin = await log(app.t.gql);
    expect(a.length).toBeGreaterThan(0);
    expect(b.map((e) => e.action)).toEqual(['webhook.create']);
    expect(b[0].targetId).toBe(hookB);
    expect(a.map((e) => e.id)).not.toContain(b[0].id);
    // Team and token entries belong to no team.
    expect(a.some((e) => e.targetType === 'Team' || e.targetType === 'ApiToken')).toBe(false);
    const adminIds = admin.map((e) => e.id);
    for (const e of [...a, ...b]) expect(adminIds).toContain(e.id);
    expect(admin.some((e) => e.action === 'team.create')).toBe(true);
    // A VIEWER of team A reads what its team's editor did.
    expect((await log(viewerA)).map((e) => e.id)).toEqual(a.map((e) => e.id));
  });

  it("another team's entries are not found by id, by webhook filter, or through Webhook.auditLog", async () => {
    const [entryA] = await log(editorA.gql);
    const NODE = `query ($id: ID!) { node(id: $id) { ... on AuditEntry { id action } } }`;
    expect((await editorB.gql.ok(NODE, { id: entryA.id })).node).toBeNull();
    expect((await editorA.gql.ok(NODE, { id: entryA.id })).node).toEqual({ id: entryA.id, action: entryA.action });
    expect(await log(editorA.gql, { webhookId: hookB })).toEqual([]);
    expect((await editorA.gql.ok(WEBHOOK_LOG, { id: hookB })).node).toBeNull();
    const own = (await editorB.gql.ok(WEBHOOK_LOG, { id: hookB })).node.auditLog.edges;
    expect(own.map((e: { node: Entry }) => e.node.action)).toEqual(['webhook.create']);
  });

  it('pages newest first with first/after', async () => {
    const all = await log(app.t.gql);
    expect(all.length).toBeGreaterThan(5);
    expect([...all].sort((x, y) => (x.id < y.id ? 1 : -1)).map((e) => e.id)).toEqual(all.map((e) => e.id));
    const page1 = await app.t.gql.ok(LOG, { first: 2 });
    const page2 = await app.t.gql.ok(LOG, { first: 3, after: page1.auditLog.pageInfo.endCursor });
    const ids = [...page1.auditLog.edges, ...page2.auditLog.edges].map((e: { node: Entry }) => e.node.id);
    expect(ids).toEqual(all.slice(0, 5).map((e) => e.id));
    expect(page1.auditLog.pageInfo.hasNextPage).toBe(true);
  });
});

describe('rejected mutations', () => {
  it('write no audit row', async () => {
    const { webhook } = await createWebhook(editorA.gql, {
      name: 'stays as it is',
      endpoints: [{ url: 'http://127.0.0.1:9/c' }],
      triggers: [{ resource: 'x', event: 'y' }],
    });
    const endpoint = webhook.endpoints[0].id;
    const rows = await auditRowCount();
    const attempts: [GraphqlClient, string, Record<string, unknown>, string][] = [
      [editorA.gql, `mutation ($id: ID!) { updateWebhook(input: { id: $id, name: "" }) { webhook { id } } }`, { id: webhook.id }, 'BAD_USER_INPUT'],
      [editorA.gql, `mutation { createWebhook(input: { name: "x", secret: "whsec_short" }) { secret } }`, {}, 'BAD_USER_INPUT'],
      [editorA.gql, `mutation ($id: ID!) { updateEndpoint(input: { id: $id, url: "http://10.0.0.1/" }) { id } }`, { id: endpoint }, 'BAD_USER_INPUT'],
      [editorA.gql, `mutation ($id: ID!) { createTrigger(input: { webhookId: $id, resource: "", event: "y" }) { id } }`, { id: webhook.id }, 'BAD_USER_INPUT'],
      [editorA.gql, `mutation { deleteWebhook(id: "wh_doesnotexist") { deletedId } }`, {}, 'NOT_FOUND'],
      [editorB.gql, `mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }`, { id: webhook.id }, 'NOT_FOUND'],
      [editorB.gql, `mutation ($id: ID!) { deleteEndpoint(id: $id) { deletedId } }`, { id: endpoint }, 'NOT_FOUND'],
      [editorB.gql, `mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: webhook.id }, 'NOT_FOUND'],
      [viewerA, `mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }`, { id: webhook.id }, 'FORBIDDEN'],
      [app.t.gql, `mutation { createTeam(name: "audit a") { id } }`, {}, 'BAD_USER_INPUT'],
      [app.t.gql, `mutation ($team: ID!) { createApiToken(input: { name: "x", role: EDITOR, teamId: $team }) { token } }`, { team: 'team_none' }, 'BAD_USER_INPUT'],
      [editorA.gql, `mutation { replayDelivery(id: "dlv_doesnotexist") { delivery { id } } }`, {}, 'NOT_FOUND'],
    ];
    for (const [gql, query, variables, code] of attempts) {
      const result = await gql(query, variables);
      expect(result.errors?.[0]?.extensions?.code, query).toBe(code);
    }
    expect(await auditRowCount()).toBe(rows);
  });

  it('a change whose entry cannot be written is not made either (one transaction)', async () => {
    const { webhook } = await createWebhook(editorA.gql, { name: 'before' });
    // The database refuses this one kind of entry: the update it belongs to must roll back with it.
    await app.sql`alter table audit_log add constraint no_updates_today check (action <> 'webhook.update') not valid`;
    try {
      const result = await editorA.gql(`mutation ($id: ID!) { updateWebhook(input: { id: $id, name: "after" }) { webhook { id } } }`, {
        id: webhook.id,
      });
      expect(result.errors).toHaveLength(1);
    } finally {
      await app.sql`alter table audit_log drop constraint no_updates_today`;
    }
    const [row] = await app.sql<{ name: string }[]>`select name from webhooks where id = ${webhook.id}`;
    expect(row.name).toBe('before');
    const [entry] = await log(editorA.gql, { webhookId: webhook.id });
    expect(entry.action).toBe('webhook.create');
  });
});

describe('changes Hookline makes itself', () => {
  it("an endpoint's auto-disable is recorded with no actor, in its webhook's team", async () => {
    const receiver = await startReceiver({ status: 500, body: 'broken' });
    const worker = await startTestApp({ HOOKLINE_RETRY_SCHEDULE: '0ms,0ms,0ms,0ms', HOOKLINE_DISABLE_AFTER_FAILURES: '2' });
    try {
      const team = await teamToken(worker.gql, 'breakers');
      const { webhook } = await createWebhook(worker.gql, {
        name: 'breaks',
        teamId: team.teamId,
        endpoints: [{ url: `${receiver.url}/broken` }],
        triggers: [{ resource: 'part', event: 'broke' }],
      });
      const endpoint = webhook.endpoints[0].id;
      await publish(worker.gql, { type: 'part.broke', data: {} });
      const member = worker.gql.as(team.token);
      const entry = await eventually(async () =>
        (await log(member, { webhookId: webhook.id })).find((e) => e.action === 'endpoint.state'),
      );
      expect(entry).toMatchObject({
        actor: null,
        actorTokenId: null,
        targetType: 'Endpoint',
        targetId: endpoint,
        webhook: { id: webhook.id },
        before: { state: 'ACTIVE' },
        after: { state: 'TOO_MANY_ERRORS', consecutiveFailures: 2 },
      });
      const { node } = await worker.gql.ok('query ($id: ID!) { node(id: $id) { ... on Endpoint { state } } }', { id: endpoint });
      expect(node.state).toBe('TOO_MANY_ERRORS');
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });
});
