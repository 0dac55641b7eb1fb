import { describe, expect, it } from 'vitest';
import { hook, publish, teamToken, useApiApp } from '../helpers/event-fixtures.js';

const app = useApiApp();

const EXPLAIN = `query ($eventId: ID!, $webhookId: ID!) {
  explainMatch(eventId: $eventId, webhookId: $webhookId) {
    matched wouldDeliver summary webhookState
    forLogin { expected actual matched }
    triggers {
      trigger { id eventType }
      resource { expected actual matched }
      event { expected actual matched }
      filter { path expected actual found matched }
      matched
    }
    endpoints { endpoint { id } state allowed reason }
  }
}`;

async function explain(eventId: string, webhookId: string) {
  return (await app.t.gql.ok(EXPLAIN, { eventId, webhookId })).explainMatch;
}

const byPath = (keys: { path: string }[]) => [...keys].sort((a, b) => a.path.localeCompare(b.path));

/** Publishes an event and returns its id and whether a delivery to `webhookId` was made. */
async function publishTo(webhookId: string, input: Record<string, unknown>) {
  const published = await publish(app.t.gql, input);
  return { id: published.event.id, delivered: published.deliveries.some((d) => d.webhook.id === webhookId) };
}

describe('explainMatch', () => {
  it('says each trigger rule that failed: resource, event, and each filter key with the value found', async () => {
    const orders = await hook(app.t.gql, [
      { resource: 'order', event: 'created', filter: { 'customer.country': 'SE', total: 10 } },
      { resource: 'order', event: 'paid' },
    ]);

    const wrongResource = await publishTo(orders.id, { type: 'invoice.created', data: { total: 10 } });
    let x = await explain(wrongResource.id, orders.id);
    expect(x.matched).toBe(false);
    expect(wrongResource.delivered).toBe(false);
    expect(x.triggers[0].resource).toEqual({ expected: 'order', actual: 'invoice', matched: false });
    expect(x.triggers[0].event).toEqual({ expected: 'created', actual: 'created', matched: true });
    expect(x.triggers[1].resource.matched).toBe(false);
    expect(x.summary).toBe("No match: none of the webhook's triggers matches the event.");

    const wrongEvent = await publishTo(orders.id, { type: 'order.deleted', data: {} });
    x = await explain(wrongEvent.id, orders.id);
    expect(x.triggers.map((tr: any) => [tr.resource.matched, tr.event.matched, tr.matched])).toEqual([
      [true, false, false],
      [true, false, false],
    ]);
    expect(x.triggers[1].event).toEqual({ expected: 'paid', actual: 'deleted', matched: false });

    const wrongCountry = await publishTo(orders.id, { type: 'order.created', data: { customer: { country: 'NO' }, total: 10 } });
    x = await explain(wrongCountry.id, orders.id);
    expect(wrongCountry.delivered).toBe(false);
    expect(x.matched).toBe(false);
    expect(x.triggers[0]).toMatchObject({ resource: { matched: true }, event: { matched: true }, matched: false });
    // jsonb keeps object keys in its own order: compared by path.
    expect(byPath(x.triggers[0].filter)).toEqual([
      { path: 'customer.country', expected: 'SE', actual: 'NO', found: true, matched: false },
      { path: 'total', expected: 10, actual: 10, found: true, matched: true },
    ]);

    const missingKey = await publishTo(orders.id, { type: 'order.created', data: { total: 10 } });
    x = await explain(missingKey.id, orders.id);
    expect(byPath(x.triggers[0].filter)[0]).toEqual({ path: 'customer.country', expected: 'SE', actual: null, found: false, matched: false });

    const matching = await publishTo(orders.id, { type: 'order.created', data: { customer: { country: 'SE' }, total: 10 } });
    x = await explain(matching.id, orders.id);
    expect(matching.delivered).toBe(true);
    expect(x).toMatchObject({ matched: true, wouldDeliver: true, webhookState: 'ACTIVE' });
    expect(x.triggers.map((tr: any) => tr.matched)).toEqual([true, false]);
    expect(x.summary).toBe('Matches: 1 ACTIVE endpoint would get a delivery.');
  });

  it('treats "*" as any resource or event', async () => {
    const any = await hook(app.t.gql, [{ resource: '*', event: 'archived' }]);
    const { id, delivered } = await publishTo(any.id, { type: 'ticket.archived', data: {} });
    const x = await explain(id, any.id);
    expect(delivered).toBe(true);
    expect(x.triggers[0].resource).toEqual({ expected: '*', actual: 'ticket', matched: true });
    expect(x.matched).toBe(true);
  });

  it('checks forLogin against context.login before any trigger counts', async () => {
    const alices = await hook(app.t.gql, [{ resource: 'user', event: 'login' }], { forLogin: 'alice' });
    const bob = await publishTo(alices.id, { type: 'user.login', data: {}, context: { login: 'bob' } });
    let x = await explain(bob.id, alices.id);
    expect(bob.delivered).toBe(false);
    expect(x.forLogin).toEqual({ expected: 'alice', actual: 'bob', matched: false });
    expect(x.triggers[0].matched).toBe(true);
    expect(x.matched).toBe(false);
    expect(x.summary).toBe('No match: the webhook is for login "alice", the event\'s context.login is "bob".');

    const noContext = await publishTo(alices.id, { type: 'user.login', data: {} });
    x = await explain(noContext.id, alices.id);
    expect(x.forLogin).toEqual({ expected: 'alice', actual: null, matched: false });

    const alice = await publishTo(alices.id, { type: 'user.login', data: {}, context: { login: 'alice' } });
    x = await explain(alice.id, alices.id);
    expect(alice.delivered).toBe(true);
    expect(x.forLogin).toEqual({ expected: 'alice', actual: 'alice', matched: true });
    expect(x.matched).toBe(true);
  });

  it('tells a stopped webhook and each endpoint whose state allows no delivery', async () => {
    const shipping = await hook(app.t.gql, [{ resource: 'parcel', event: 'sent' }], { endpoints: 2 });
    await app.t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }', { id: shipping.endpointIds[1] });
    await app.sql`update endpoints set state = 'TOO_MANY_ERRORS' where id = ${shipping.endpointIds[0]}`;

    const first = await publishTo(shipping.id, { type: 'parcel.sent', data: {} });
    let x = await explain(first.id, shipping.id);
    expect(first.delivered).toBe(false);
    expect(x).toMatchObject({ matched: true, wouldDeliver: false, webhookState: 'ACTIVE' });
    expect(x.endpoints).toEqual([
      { endpoint: { id: shipping.endpointIds[0] }, state: 'TOO_MANY_ERRORS', allowed: false, reason: 'TOO_MANY_ERRORS: gets no new deliveries' },
      { endpoint: { id: shipping.endpointIds[1] }, state: 'STOPPED', allowed: false, reason: 'STOPPED: gets no new deliveries' },
    ]);
    expect(x.summary).toBe('Matches, but no endpoint is ACTIVE: none gets a delivery.');

    await app.t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { id } }', { id: shipping.endpointIds[1] });
    await app.t.gql.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }', { id: shipping.id });
    const second = await publishTo(shipping.id, { type: 'parcel.sent', data: {} });
    x = await explain(second.id, shipping.id);
    expect(second.delivered).toBe(false);
    expect(x).toMatchObject({ matched: true, wouldDeliver: false, webhookState: 'STOPPED' });
    expect(x.endpoints.map((e: any) => e.allowed)).toEqual([false, true]);
    expect(x.summary).toBe('Matches, but the webhook is STOPPED: it gets no new deliveries.');

    // Explained with the current state: once the webhook is ACTIVE again, the first event would be delivered.
    await app.t.gql.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: ACTIVE) { id } }', { id: shipping.id });
    expect((await explain(first.id, shipping.id)).wouldDeliver).toBe(true);
  });

  it('answers NOT_FOUND for an unknown event or a webhook the token may not see, naming the argument', async () => {
    const mine = await hook(app.t.gql, [{ resource: 'a', event: 'b' }]);
    const { id } = await publishTo(mine.id, { type: 'a.b', data: {} });
    const unknown = await app.t.gql(EXPLAIN, { eventId: 'evt_nope', webhookId: mine.id });
    expect(unknown.errors?.[0]).toMatchObject({ extensions: { code: 'NOT_FOUND', field: 'eventId' } });

    // A team token sees neither the ADMIN-only webhook nor an event that reached none of its webhooks.
    const { token } = await teamToken(app.t.gql, 'explainers', 'VIEWER');
    const other = await app.t.gql.as(token)(EXPLAIN, { eventId: id, webhookId: mine.id });
    expect(other.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(other.data).toBeNull();
  });
});
