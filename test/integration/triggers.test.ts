import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createWebhook, openSql } from '../helpers/webhook-fixtures.js';

let t: TestApp;
let sql: ReturnType<typeof openSql>;
beforeAll(async () => {
  t = await startTestApp();
  sql = openSql(t.database.url);
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const CREATE = `mutation ($input: CreateTriggerInput!) {
  createTrigger(input: $input) { id resource event eventType filter webhook { id } } }`;
const DELETE = `mutation ($id: ID!) { deleteTrigger(id: $id) { deletedId } }`;
const TRIGGERS_OF = `query ($id: ID!) { node(id: $id) { ... on Webhook { triggers { id eventType } } } }`;

describe('triggers', () => {
  it('creates triggers with wildcards and a filter, and lists them on the webhook', async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'with triggers' });
    const exact = (await t.gql.ok(CREATE, { input: { webhookId: webhook.id, resource: 'contact', event: 'created' } })).createTrigger;
    const filtered = (
      await t.gql.ok(CREATE, {
        input: { webhookId: webhook.id, resource: '*', event: 'updated', filter: { 'customer.country': 'SE', vip: true } },
      })
    ).createTrigger;
    expect(exact).toMatchObject({ resource: 'contact', event: 'created', eventType: 'contact.created', filter: null, webhook: { id: webhook.id } });
    expect(filtered).toMatchObject({ eventType: '*.updated', filter: { 'customer.country': 'SE', vip: true } });
    expect(exact.id).toMatch(/^trg_/);
    const [row] = await sql`select filter from triggers where id = ${filtered.id}`;
    expect(row.filter).toEqual({ 'customer.country': 'SE', vip: true });

    const listed = await t.gql.ok(TRIGGERS_OF, { id: webhook.id });
    expect(listed.node.triggers).toEqual([
      { id: exact.id, eventType: 'contact.created' },
      { id: filtered.id, eventType: '*.updated' },
    ]);
    const node = await t.gql.ok(`query ($id: ID!) { node(id: $id) { ... on Trigger { event webhook { name } } } }`, { id: exact.id });
    expect(node.node).toEqual({ event: 'created', webhook: { name: 'with triggers' } });
  });

  it('accepts an event with dots, since the event is everything after the resource', async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'dotted event', endpoints: [{ url: 'http://127.0.0.1:9/hook' }] });
    const created = (await t.gql.ok(CREATE, { input: { webhookId: webhook.id, resource: 'contact', event: 'address.changed' } }))
      .createTrigger;
    expect(created.eventType).toBe('contact.address.changed');
    const published = await t.gql.ok(
      `mutation { publishEvent(input: { type: "contact.address.changed", data: {} }) { deliveries { webhook { id } } } }`,
    );
    expect(published.publishEvent.deliveries.map((d: { webhook: { id: string } }) => d.webhook.id)).toEqual([webhook.id]);
  });

  it('deletes a trigger', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'losing a trigger',
      triggers: [
        { resource: 'a', event: 'b' },
        { resource: 'c', event: 'd' },
      ],
    });
    const [gone, kept] = webhook.triggers;
    expect((await t.gql.ok(DELETE, { id: gone.id })).deleteTrigger.deletedId).toBe(gone.id);
    expect((await t.gql.ok(TRIGGERS_OF, { id: webhook.id })).node.triggers).toEqual([{ id: kept.id, eventType: 'c.d' }]);
    const again = await t.gql(DELETE, { id: gone.id });
    expect(again.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(again.errors?.[0].message).toMatch(/^id: /);
  });

  it('answers NOT_FOUND for an unknown webhook', async () => {
    const result = await t.gql(CREATE, { input: { webhookId: 'wh_00000000000000000000000000', resource: 'a', event: 'b' } });
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(result.errors?.[0].message).toMatch(/^input\.webhookId: /);
  });
});
