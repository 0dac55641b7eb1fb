import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers/app.js';
import { createTestDatabase, lateDatabase } from '../helpers/db.js';
import { countRows, endpointsOf, hook, publish, PUBLISH, PUBLISH_MANY, teamToken, tokenOf, useApiApp, type Hook } from '../helpers/event-fixtures.js';

const app = useApiApp({ HOOKLINE_MAX_EVENT_BYTES: '1024' });
let orders: Hook;

beforeAll(async () => {
  orders = await hook(app.t.gql, [{ resource: 'order', event: '*' }], { endpoints: 2, name: 'orders' });
});

describe('publishEvent', () => {
  it('stores the event and one PENDING delivery per ACTIVE endpoint of each matching ACTIVE webhook, in one transaction', async () => {
    const stoppedHook = await hook(app.t.gql, [{ resource: 'order', event: 'placed' }], { state: 'STOPPED' });
    const partly = await hook(app.t.gql, [{ resource: 'order', event: 'placed' }], { endpoints: 2 });
    await app.t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }', { id: partly.endpointIds[1] });

    const result = await publish(app.t.gql, { type: 'order.placed', data: { total: 5 }, context: { login: 'ann' } });

    expect(result.duplicate).toBe(false);
    expect(result.event).toMatchObject({ type: 'order.placed', data: { total: 5 }, context: { login: 'ann' } });
    expect(result.event.id).toMatch(/^evt_/);
    expect(endpointsOf(result)).toEqual([...orders.endpointIds, partly.endpointIds[0]].sort());
    expect(result.deliveries.every((d) => d.status === 'PENDING' && d.event.id === result.event.id)).toBe(true);
    expect(result.deliveries.some((d) => d.webhook.id === stoppedHook.id)).toBe(false);

    // The outbox rows were written by the event's own transaction: now() is the same for both.
    const rows = await app.sql`
      select d.status, d.next_attempt_at <= now() as due, d.created_at = e.created_at as same_tx
      from deliveries d join events e on e.id = d.event_id where e.id = ${result.event.id}`;
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.status === 'PENDING' && r.due && r.same_tx)).toBe(true);
  });

  it('stores an event that matches nothing, with no deliveries', async () => {
    const result = await publish(app.t.gql, { type: 'nobody.listens', data: [1, 2] });
    expect(result.deliveries).toEqual([]);
    const found = await app.t.gql.ok('query ($id: ID!) { node(id: $id) { ... on Event { type data deliveries { id } } } }', {
      id: result.event.id,
    });
    expect(found.node).toEqual({ type: 'nobody.listens', data: [1, 2], deliveries: [] });
  });

  it('defaults occurredAt to now and keeps a given one', async () => {
    const before = Date.now();
    const now = await publish(app.t.gql, { type: 'order.noted', data: {} });
    expect(Date.parse(now.event.occurredAt)).toBeGreaterThanOrEqual(before - 1000);
    const past = await publish(app.t.gql, { type: 'order.noted', data: {}, occurredAt: '2020-02-03T04:05:06.789Z' });
    expect(past.event.occurredAt).toBe('2020-02-03T04:05:06.789Z');
  });

  it('refuses a VIEWER token (FORBIDDEN) and writes nothing', async () => {
    const { token: editor, teamId } = await teamToken(app.t.gql, 'publish-viewers');
    expect(editor).toBeTruthy();
    const viewer = await tokenOf(app.t.gql, teamId, 'VIEWER');
    const before = await countRows(app.sql);
    const result = await app.t.gql.as(viewer)(PUBLISH, { input: { type: 'order.placed', data: {} } });
    expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await countRows(app.sql)).toEqual(before);
  });
});

describe('idempotency', () => {
  it('returns the first event with duplicate: true for a key seen before, and creates nothing', async () => {
    const first = await publish(app.t.gql, { type: 'order.paid', data: { n: 1 }, idempotencyKey: 'pay-1' });
    const before = await countRows(app.sql);
    const again = await publish(app.t.gql, { type: 'order.paid', data: { n: 2 }, idempotencyKey: 'pay-1' });
    expect(again.duplicate).toBe(true);
    expect(again.event).toEqual(first.event);
    expect(again.deliveries.map((d) => d.id).sort()).toEqual(first.deliveries.map((d) => d.id).sort());
    expect(await countRows(app.sql)).toEqual(before);
    const [type] = await app.sql`select event_count::int as n from event_types where name = 'order.paid'`;
    expect(type.n).toBe(1);
  });

  it('lets exactly one of many concurrent publishes with one key create the event', async () => {
    const before = await countRows(app.sql);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => publish(app.t.gql, { type: 'order.refunded', data: { i }, idempotencyKey: 'race-1' })),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.event.id)).size).toBe(1);
    const after = await countRows(app.sql);
    expect(after.events - before.events).toBe(1);
    expect(after.deliveries - before.deliveries).toBe(orders.endpointIds.length);
  });

  it('treats a key repeated inside one batch as a duplicate of its first use', async () => {
    const { publishEvents } = await app.t.gql.ok(PUBLISH_MANY, {
      inputs: [
        { type: 'order.split', data: { part: 1 }, idempotencyKey: 'split-1' },
        { type: 'order.split', data: { part: 2 }, idempotencyKey: 'split-1' },
      ],
    });
    const [a, b] = publishEvents.results;
    expect([a.duplicate, b.duplicate]).toEqual([false, true]);
    expect(b.event).toEqual(a.event);
    expect(a.event.data).toEqual({ part: 1 });
    const [n] = await app.sql`select count(*)::int as n from events where idempotency_key = 'split-1'`;
    expect(n.n).toBe(1);
  });
});

describe('concurrent publishEvent calls (group commit)', () => {
  it('are written together, and each gets its own outcome: a bad input or a known key fails no other call', async () => {
    const first = await publish(app.t.gql, { type: 'order.grouped', data: { n: 0 }, idempotencyKey: 'group-1' });
    const before = await countRows(app.sql);
    const calls = Array.from({ length: 40 }, (_, i) => app.t.gql(PUBLISH, { input: { type: 'order.grouped', data: { i } } }));
    const bad = app.t.gql(PUBLISH, { input: { type: 'order.grouped', data: { i: 'bad' }, context: [1] } });
    const again = app.t.gql(PUBLISH, { input: { type: 'order.grouped', data: { i: 'again' }, idempotencyKey: 'group-1' } });

    const results = await Promise.all(calls);
    results.forEach((result, i) => {
      expect(result.errors).toBeUndefined();
      expect(result.data.publishEvent).toMatchObject({ duplicate: false, event: { type: 'order.grouped', data: { i } } });
      expect(endpointsOf(result.data.publishEvent)).toEqual(orders.endpointIds);
    });
    const refusal = await bad;
    expect(refusal.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(refusal.errors?.[0].message).toMatch(/^input\.context: /);
    const duplicate = (await again).data.publishEvent;
    expect(duplicate.duplicate).toBe(true);
    expect(duplicate.event.id).toBe(first.event.id);

    const after = await countRows(app.sql);
    expect(after.events - before.events).toBe(40);
    expect(after.deliveries - before.deliveries).toBe(40 * orders.endpointIds.length);
    // An event's createdAt is its transaction's start: 40 calls made fewer transactions than that.
    const ids = results.map((r) => r.data.publishEvent.event.id as string);
    const [{ n }] = await app.sql`select count(distinct created_at)::int as n from events where id = any(${ids}::text[])`;
    expect(n).toBeLessThan(40);
  });
});

describe('group commit when the connection breaks during COMMIT', () => {
  it('rejects the calls (SERVICE_UNAVAILABLE) instead of writing their events again', async () => {
    const database = await createTestDatabase();
    const proxy = await lateDatabase(new URL(database.url));
    await proxy.open();
    const grouped = await startTestApp({ HOOKLINE_ROLE: 'api' }, { database: { ...database, url: proxy.url } });
    try {
      // The type's name travels once per event of a transaction (and once more when it is new): 3+ is a group.
      proxy.cutAtCommit((sent) => (sent.match(/grouped\.cut/g) ?? []).length >= 3);
      const calls = Array.from({ length: 20 }, (_, i) =>
        grouped.gql(PUBLISH, { input: { type: 'grouped.cut', data: { i } } }),
      );
      const results = await Promise.all(calls);
      const refused = results.filter((r) => r.errors);
      expect(refused.length).toBeGreaterThan(1); // the cut hit a group
      for (const r of refused) expect(r.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');

      // The cut group's events were committed: none of them may have been written a second time.
      const sql = postgres(database.url, { max: 1 });
      const rows = await sql<{ i: number; n: number }[]>`
        select (data->>'i')::int as i, count(*)::int as n from events where type = 'grouped.cut' group by 1`;
      await sql.end();
      expect(rows.filter((r) => r.n > 1)).toEqual([]);
      expect(rows).toHaveLength(20);
    } finally {
      await grouped.stop();
      await proxy.close();
      await database.drop();
    }
  });
});

describe('publishEvents', () => {
  it('returns results in input order, each with its own deliveries', async () => {
    const inputs = [
      { type: 'order.created', data: { i: 0 } },
      { type: 'misc.thing', data: { i: 1 } },
      { type: 'order.deleted', data: { i: 2 } },
      { type: 'order.created', data: { i: 3 }, idempotencyKey: 'pay-1' },
    ];
    const { publishEvents } = await app.t.gql.ok(PUBLISH_MANY, { inputs });
    const results = publishEvents.results;
    expect(results.map((r: any) => r.event.type)).toEqual(['order.created', 'misc.thing', 'order.deleted', 'order.paid']);
    expect(results.map((r: any) => r.duplicate)).toEqual([false, false, false, true]);
    expect(results.slice(0, 3).map((r: any) => r.event.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(results.map((r: any) => r.deliveries.length)).toEqual([2, 0, 2, 2]);
  });

  it('writes nothing when any input is bad, and names it (inputs[3].type)', async () => {
    const before = await countRows(app.sql);
    const inputs = [0, 1, 2].map((i) => ({ type: 'order.created', data: { i } }));
    const result = await app.t.gql(PUBLISH_MANY, { inputs: [...inputs, { type: 'nodot', data: {} }] });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^inputs\[3\]\.type: /);
    expect(await countRows(app.sql)).toEqual(before);
  });

  it('takes at most 1,000 inputs', async () => {
    const inputs = Array.from({ length: 1001 }, () => ({ type: 'order.created', data: {} }));
    const result = await app.t.gql(PUBLISH_MANY, { inputs });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^inputs: at most 1000/);
  });

  it('costs the same number of SQL statements for 5 events as for 400', async () => {
    const statements = async (n: number) => {
      const inputs = Array.from({ length: n }, (_, i) => ({ type: i % 2 ? 'order.bulk' : 'bulk.other', data: { i } }));
      app.t.queries.length = 0;
      const { publishEvents } = await app.t.gql.ok(PUBLISH_MANY, { inputs });
      expect(publishEvents.results).toHaveLength(n);
      // Not the token lookup: it is cached for 5 s, so whether one falls inside a count is a matter of timing.
      return app.t.queries.filter((q) => !q.includes('"api_tokens"')).length;
    };
    await statements(2); // warms the type catalogue
    const small = await statements(5);
    expect(await statements(400)).toBe(small);
    expect(small).toBeLessThanOrEqual(12);
  });
});

describe('input checks', () => {
  const refused = async (input: Record<string, unknown>) => {
    const before = await countRows(app.sql);
    const result = await app.t.gql(PUBLISH, { input });
    expect(await countRows(app.sql)).toEqual(before);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    return result.errors![0].message;
  };

  it('needs a type <resource>.<event> of letters, digits, _ and -', async () => {
    expect(await refused({ type: 'contact', data: {} })).toMatch(/^input\.type: must be <resource>\.<event>/);
    expect(await refused({ type: 'contact.cré', data: {} })).toMatch(/^input\.type: /);
    expect(await refused({ type: 'contact..x', data: {} })).toMatch(/^input\.type: /);
    expect((await publish(app.t.gql, { type: 'Contact_2.address-changed.v2', data: {} })).event.type).toBe(
      'Contact_2.address-changed.v2',
    );
  });

  it('reserves hookline.* for Hookline itself', async () => {
    expect(await refused({ type: 'hookline.ping', data: {} })).toMatch(/^input\.type: .*reserved/);
  });

  it('bounds data + context by HOOKLINE_MAX_EVENT_BYTES', async () => {
    expect(await refused({ type: 'order.big', data: { s: 'x'.repeat(600) }, context: { s: 'y'.repeat(600) } })).toMatch(
      /^input\.data: .*1024/,
    );
    await publish(app.t.gql, { type: 'order.big', data: { s: 'x'.repeat(400) }, context: { s: 'y'.repeat(400) } });
  });

  it('refuses what PostgreSQL cannot store (NUL, unpaired surrogates) as bad input, and keeps look-alike text', async () => {
    expect(await refused({ type: 'order.x', data: { a: 'x\u0000y' } })).toMatch(/^input\.data: .*NUL/);
    expect(await refused({ type: 'order.x', data: {}, context: { '\u0000': 1 } })).toMatch(/^input\.context: /);
    expect(await refused({ type: 'order.x', data: ['\ud800'] })).toMatch(/^input\.data: /);
    expect(await refused({ type: 'order.x', data: {}, idempotencyKey: 'a\u0000' })).toMatch(/^input\.idempotencyKey: /);
    expect(await refused({ type: 'order.x', data: {}, occurredAt: '0000-01-01T00:00:00Z' })).toMatch(/^input\.occurredAt: /);
    const text = { a: '\\u0000 and \\ud800', emoji: '😀' };
    expect((await publish(app.t.gql, { type: 'order.x', data: text })).event.data).toEqual(text);
  });

  it('needs context to be an object or null', async () => {
    expect(await refused({ type: 'order.x', data: {}, context: [1] })).toMatch(/^input\.context: /);
    expect(await refused({ type: 'order.x', data: {}, context: 'me' })).toMatch(/^input\.context: /);
    expect((await publish(app.t.gql, { type: 'order.x', data: {}, context: null })).event.context).toBeNull();
  });
});

describe('eventTypes', () => {
  it('records each type when first seen, with its count and last time', async () => {
    const before = Date.now();
    await publish(app.t.gql, { type: 'catalogue.first', data: {} });
    const { publishEvents } = await app.t.gql.ok(PUBLISH_MANY, {
      inputs: [
        { type: 'catalogue.first', data: {} },
        { type: 'catalogue.second', data: {} },
      ],
    });
    expect(publishEvents.results).toHaveLength(2);
    const { eventTypes } = await app.t.gql.ok('{ eventTypes { name resource event description count lastSeenAt } }');
    const mine = eventTypes.filter((e: any) => e.name.startsWith('catalogue.'));
    expect(mine.map(({ lastSeenAt, ...rest }: any) => rest)).toEqual([
      { name: 'catalogue.first', resource: 'catalogue', event: 'first', description: null, count: 2 },
      { name: 'catalogue.second', resource: 'catalogue', event: 'second', description: null, count: 1 },
    ]);
    expect(Date.parse(mine[0].lastSeenAt)).toBeGreaterThanOrEqual(before - 1000);
    const names = eventTypes.map((e: any) => e.name);
    expect(names).toEqual([...names].sort());
  });
});
