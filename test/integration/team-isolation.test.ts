import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertToken } from '../../src/auth/tokens.js';
import type { Role } from '../../schema/db/enums.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import type { GraphqlClient } from '../helpers/gql.js';
import { createWebhook, openSql, tablesFingerprint } from '../helpers/webhook-fixtures.js';

let t: TestApp;
let sql: ReturnType<typeof openSql>;
let teamA: string;
let teamB: string;
let editorA: GraphqlClient;
let viewerA: GraphqlClient;
let editorB: GraphqlClient;
/** Team A's webhook (made by the admin), its endpoint and trigger; and a webhook of no team. */
let a: { webhook: string; endpoint: string; trigger: string };
let teamless: string;

async function tokenFor(name: string, role: Role, teamId: string) {
  const { token } = await insertToken(t.app.services.db, { name, role, teamId, createdBy: 'test' });
  return t.gql.as(token);
}

beforeAll(async () => {
  t = await startTestApp();
  sql = openSql(t.database.url);
  teamA = (await t.gql.ok('mutation { createTeam(name: "team a") { id } }')).createTeam.id;
  teamB = (await t.gql.ok('mutation { createTeam(name: "team b") { id } }')).createTeam.id;
  editorA = await tokenFor('editor-a', 'EDITOR', teamA);
  viewerA = await tokenFor('viewer-a', 'VIEWER', teamA);
  editorB = await tokenFor('editor-b', 'EDITOR', teamB);
  const { webhook } = await createWebhook(t.gql, {
    name: 'team a hook',
    teamId: teamA,
    endpoints: [{ url: 'http://127.0.0.1:9/a' }],
    triggers: [{ resource: 'order', event: 'created' }],
  });
  a = { webhook: webhook.id, endpoint: webhook.endpoints[0].id, trigger: webhook.triggers[0].id };
  teamless = (await createWebhook(t.gql, { name: 'admin only' })).webhook.id;
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const fingerprint = () => tablesFingerprint(sql);

const NODE = `query ($id: ID!) { node(id: $id) { id } }`;
const LIST = `{ webhooks(first: 100) { edges { node { id team { id } } } } }`;
const listed = async (gql: GraphqlClient) => (await gql.ok(LIST)).webhooks.edges.map((e: any) => e.node.id);

/** Every mutation on webhooks, endpoints and triggers, aimed at team A's objects. */
const mutationsOnA = () => [
  ['updateWebhook', `mutation ($id: ID!) { updateWebhook(input: { id: $id, name: "x" }) { webhook { id } } }`, { id: a.webhook }],
  ['deleteWebhook', `mutation ($id: ID!) { deleteWebhook(id: $id) { deletedId } }`, { id: a.webhook }],
  ['setWebhookState', `mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }`, { id: a.webhook }],
  ['rotateWebhookSecret', `mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: a.webhook }],
  ['createEndpoint', `mutation ($id: ID!) { createEndpoint(input: { webhookId: $id, url: "http://127.0.0.1:9/x" }) { id } }`, { id: a.webhook }],
  ['updateEndpoint', `mutation ($id: ID!) { updateEndpoint(input: { id: $id, timeoutMs: 500 }) { id } }`, { id: a.endpoint }],
  ['deleteEndpoint', `mutation ($id: ID!) { deleteEndpoint(id: $id) { deletedId } }`, { id: a.endpoint }],
  ['setEndpointState', `mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }`, { id: a.endpoint }],
  ['createTrigger', `mutation ($id: ID!) { createTrigger(input: { webhookId: $id, resource: "x", event: "y" }) { id } }`, { id: a.webhook }],
  ['deleteTrigger', `mutation ($id: ID!) { deleteTrigger(id: $id) { deletedId } }`, { id: a.trigger }],
] as const;

describe('another team', () => {
  it("cannot see a team's webhook, endpoint or trigger", async () => {
    for (const id of [a.webhook, a.endpoint, a.trigger, teamless]) {
      expect((await editorB.ok(NODE, { id })).node, id).toBeNull();
    }
    const seen = await listed(editorB);
    expect(seen).not.toContain(a.webhook);
    expect(seen).not.toContain(teamless);
    // the same ids are there for the admin: the nulls above are isolation, not missing rows
    for (const id of [a.webhook, a.endpoint, a.trigger, teamless]) expect((await t.gql.ok(NODE, { id })).node).toEqual({ id });
  });

  it('gets NOT_FOUND from every mutation and changes nothing', async () => {
    const before = await fingerprint();
    for (const [name, query, variables] of mutationsOnA()) {
      const result = await editorB(query, variables);
      expect(result.errors?.[0].extensions?.code, name).toBe('NOT_FOUND');
    }
    expect(await fingerprint()).toBe(before);
  });
});

describe('a VIEWER', () => {
  it("sees its team's webhooks but no others", async () => {
    expect((await viewerA.ok(NODE, { id: a.webhook })).node).toEqual({ id: a.webhook });
    expect((await viewerA.ok(NODE, { id: a.endpoint })).node).toEqual({ id: a.endpoint });
    const seen = await listed(viewerA);
    expect(seen).toContain(a.webhook);
    expect(seen).not.toContain(teamless);
  });

  it('gets FORBIDDEN from every mutation and changes nothing', async () => {
    const before = await fingerprint();
    for (const [name, query, variables] of mutationsOnA()) {
      const result = await viewerA(query, variables);
      expect(result.errors?.[0].extensions?.code, name).toBe('FORBIDDEN');
    }
    const create = await viewerA(`mutation { createWebhook(input: { name: "viewer's" }) { secret } }`);
    expect(create.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await fingerprint()).toBe(before);
  });
});

describe('an EDITOR', () => {
  it('creates webhooks in its own team only', async () => {
    const { webhook } = await createWebhook(editorA, { name: 'editor made' });
    expect(webhook.team).toEqual({ id: teamA, name: 'team a' });
    expect(webhook).toMatchObject({ ownerLogin: 'editor-a', createdBy: 'editor-a' });
    const explicit = await createWebhook(editorA, { name: 'editor named its team', teamId: teamA });
    expect(explicit.webhook.team.id).toBe(teamA);

    const before = await fingerprint();
    const other = await editorA(`mutation ($t: ID) { createWebhook(input: { name: "elsewhere", teamId: $t }) { secret } }`, { t: teamB });
    expect(other.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(other.errors?.[0].message).toMatch(/^input\.teamId: /);
    const move = await editorA(`mutation ($id: ID!, $t: ID) { updateWebhook(input: { id: $id, teamId: $t }) { webhook { id } } }`, {
      id: webhook.id,
      t: teamB,
    });
    expect(move.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(await fingerprint()).toBe(before);
    expect(await listed(editorB)).not.toContain(webhook.id);
  });

  it('creates, changes and deletes its own webhooks, endpoints and triggers', async () => {
    const { webhook } = await createWebhook(editorA, { name: 'crud', endpoints: [{ url: 'http://127.0.0.1:9/1' }] });
    const updated = await editorA.ok(
      `mutation ($id: ID!) { updateWebhook(input: { id: $id, description: "mine" }) { webhook { description updatedBy } } }`,
      { id: webhook.id },
    );
    expect(updated.updateWebhook.webhook).toEqual({ description: 'mine', updatedBy: 'editor-a' });
    const endpoint = (
      await editorA.ok(`mutation ($id: ID!) { createEndpoint(input: { webhookId: $id, url: "http://127.0.0.1:9/2" }) { id webhook { id } } }`, {
        id: webhook.id,
      })
    ).createEndpoint;
    expect(endpoint.webhook.id).toBe(webhook.id);
    const changed = await editorA.ok(`mutation ($id: ID!) { updateEndpoint(input: { id: $id, method: PUT }) { method } }`, { id: endpoint.id });
    expect(changed.updateEndpoint.method).toBe('PUT');
    const stopped = await editorA.ok(`mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { state } }`, { id: endpoint.id });
    expect(stopped.setEndpointState.state).toBe('STOPPED');
    const trigger = (
      await editorA.ok(`mutation ($id: ID!) { createTrigger(input: { webhookId: $id, resource: "a", event: "b" }) { id } }`, { id: webhook.id })
    ).createTrigger;
    await editorA.ok(`mutation ($id: ID!) { deleteTrigger(id: $id) { deletedId } }`, { id: trigger.id });
    await editorA.ok(`mutation ($id: ID!) { deleteEndpoint(id: $id) { deletedId } }`, { id: endpoint.id });
    const rotated = await editorA.ok(`mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: webhook.id });
    expect(rotated.rotateWebhookSecret.secret).toMatch(/^whsec_/);
    await editorA.ok(`mutation ($id: ID!) { deleteWebhook(id: $id) { deletedId } }`, { id: webhook.id });
    expect((await t.gql.ok(NODE, { id: webhook.id })).node).toBeNull();
  });

  it("works on its team's webhooks made by others", async () => {
    const result = await editorA.ok(`mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { id webhook { name team { name } } } }`, {
      id: a.endpoint,
    });
    expect(result.setEndpointState).toEqual({ id: a.endpoint, webhook: { name: 'team a hook', team: { name: 'team a' } } });
  });
});

describe('an ADMIN', () => {
  it('moves a webhook between teams, and visibility follows', async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'moving', teamId: teamA });
    expect(await listed(editorA)).toContain(webhook.id);
    await t.gql.ok(`mutation ($id: ID!, $t: ID) { updateWebhook(input: { id: $id, teamId: $t }) { webhook { id } } }`, {
      id: webhook.id,
      t: teamB,
    });
    expect(await listed(editorA)).not.toContain(webhook.id);
    expect(await listed(editorB)).toContain(webhook.id);
  });
});
