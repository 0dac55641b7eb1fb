import { describe, expect, it } from 'vitest';
import { endpointsOf, hook, publish, PUBLISH_MANY, useApiApp } from '../helpers/event-fixtures.js';

const app = useApiApp();

/** The webhooks an event of this type and data reaches, as a sorted list of their endpoint ids. */
const reached = async (type: string, data: unknown = {}, context?: unknown) =>
  endpointsOf(await publish(app.t.gql, { type, data, context }));

describe('trigger matching', () => {
  it('matches resource and event exactly or with *', async () => {
    const exact = await hook(app.t.gql, [{ resource: 'ticket', event: 'opened' }]);
    const anyEvent = await hook(app.t.gql, [{ resource: 'ticket', event: '*' }]);
    const anyResource = await hook(app.t.gql, [{ resource: '*', event: 'opened' }]);
    const everything = await hook(app.t.gql, [{ resource: '*', event: '*' }]);
    const ids = (...hooks: { endpointIds: string[] }[]) => hooks.flatMap((h) => h.endpointIds).sort();

    expect(await reached('ticket.opened')).toEqual(ids(exact, anyEvent, anyResource, everything));
    expect(await reached('ticket.closed')).toEqual(ids(anyEvent, everything));
    expect(await reached('door.opened')).toEqual(ids(anyResource, everything));
    expect(await reached('door.closed')).toEqual(ids(everything));
    await app.t.gql.ok('mutation ($id: ID!) { deleteWebhook(id: $id) { deletedId } }', { id: everything.id });
  });

  it('makes one delivery per endpoint however many triggers of the webhook match', async () => {
    const many = await hook(
      app.t.gql,
      [
        { resource: 'invoice', event: 'sent' },
        { resource: 'invoice', event: '*' },
        { resource: '*', event: 'sent' },
      ],
      { endpoints: 2 },
    );
    expect(await reached('invoice.sent')).toEqual([...many.endpointIds].sort());
  });

  it('applies filters: every dotted path must equal its value, objects and arrays compared whole', async () => {
    const sweden = await hook(app.t.gql, [{ resource: 'customer', event: 'updated', filter: { 'address.country': 'SE' } }]);
    const vipSweden = await hook(app.t.gql, [
      { resource: 'customer', event: 'updated', filter: { 'address.country': 'SE', tier: { level: 2, name: 'vip' } } },
    ]);
    const tagged = await hook(app.t.gql, [{ resource: 'customer', event: 'updated', filter: { tags: ['a', 'b'] } }]);

    expect(await reached('customer.updated', { address: { country: 'SE' } })).toEqual(sweden.endpointIds);
    expect(await reached('customer.updated', { address: { country: 'NO' } })).toEqual([]);
    expect(await reached('customer.updated', { address: { country: 'SE' }, tier: { name: 'vip', level: 2 } })).toEqual(
      [...sweden.endpointIds, ...vipSweden.endpointIds].sort(),
    );
    expect(await reached('customer.updated', { address: { country: 'SE' }, tier: { name: 'vip', level: 2, x: 1 } })).toEqual(
      sweden.endpointIds,
    );
    expect(await reached('customer.updated', { tags: ['a', 'b'] })).toEqual(tagged.endpointIds);
    expect(await reached('customer.updated', { tags: ['b', 'a'] })).toEqual([]);
    expect(await reached('customer.updated', 'not an object')).toEqual([]);
  });

  it('gives a forLogin webhook only the events whose context.login is that login', async () => {
    const alice = await hook(app.t.gql, [{ resource: 'session', event: '*' }], { forLogin: 'alice' });
    const all = await hook(app.t.gql, [{ resource: 'session', event: '*' }]);
    expect(await reached('session.started', {}, { login: 'alice' })).toEqual([...alice.endpointIds, ...all.endpointIds].sort());
    expect(await reached('session.started', {}, { login: 'bob' })).toEqual(all.endpointIds);
    expect(await reached('session.started', {})).toEqual(all.endpointIds);
  });

  it('skips STOPPED webhooks and endpoints that are STOPPED or TOO_MANY_ERRORS, and resumes when ACTIVE again', async () => {
    const h = await hook(app.t.gql, [{ resource: 'build', event: 'done' }], { endpoints: 3 });
    const [ok, stopped, tooMany] = h.endpointIds;
    await app.t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }', { id: stopped });
    // Only Hookline sets TOO_MANY_ERRORS (after repeated failures): here, directly.
    await app.sql`update endpoints set state = 'TOO_MANY_ERRORS' where id = ${tooMany}`;
    expect(await reached('build.done')).toEqual([ok]);

    await app.t.gql.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }', { id: h.id });
    expect(await reached('build.done')).toEqual([]);

    await app.t.gql.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: ACTIVE) { id } }', { id: h.id });
    await app.t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { id } }', { id: stopped });
    expect(await reached('build.done')).toEqual([ok, stopped].sort());
  });

  it('matches each event of a batch on its own', async () => {
    const red = await hook(app.t.gql, [{ resource: 'paint', event: 'mixed', filter: { colour: 'red' } }]);
    const blue = await hook(app.t.gql, [{ resource: 'paint', event: 'mixed', filter: { colour: 'blue' } }]);
    const { publishEvents } = await app.t.gql.ok(PUBLISH_MANY, {
      inputs: ['red', 'blue', 'green', 'red'].map((colour) => ({ type: 'paint.mixed', data: { colour } })),
    });
    expect(publishEvents.results.map(endpointsOf)).toEqual([red.endpointIds, blue.endpointIds, [], red.endpointIds]);
  });
});
