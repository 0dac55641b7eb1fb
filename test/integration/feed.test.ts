import { describe, expect, it } from 'vitest';
import { startTestApp, useAppWithReceiver, type TestApp } from '../helpers/app.js';
import { teamToken } from '../helpers/event-fixtures.js';
import { eventually } from '../helpers/receiver.js';
import { createTestDatabase, lateDatabase } from '../helpers/db.js';
import { createWebhook } from '../helpers/webhook-fixtures.js';

const ctx = useAppWithReceiver();

const CREATE_FEED_TOKEN = `mutation ($webhookId: ID!) {
  createFeedToken(webhookId: $webhookId) { url token feedToken { id createdAt lastUsedAt } }
}`;

interface FeedPage {
  items: Record<string, any>[];
  next: string | null;
  hasMore: boolean;
}

async function getFeed(app: TestApp, token: string, query = '') {
  const response = await fetch(`${app.url}/feed/${token}${query}`);
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/** Follows `next` from the start while hasMore, collecting every item; `pages` counts the requests. */
async function readAll(token: string, limit: number) {
  const items: Record<string, any>[] = [];
  let next: string | null = null;
  let pages = 0;
  for (;;) {
    const { status, body } = await getFeed(ctx.t, token, `?limit=${limit}${next ? `&after=${next}` : ''}`);
    expect(status).toBe(200);
    const page = body as FeedPage;
    pages++;
    items.push(...page.items);
    next = page.next;
    if (!page.hasMore) return { items, next, pages };
  }
}

async function publish(input: Record<string, unknown>): Promise<string> {
  const data = await ctx.t.gql.ok('mutation ($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }', { input });
  return data.publishEvent.event.id;
}

describe('pull feed', () => {
  let webhookId: string;
  let token: string;
  let feedTokenId: string;
  let matching: string[];

  it('pages through the matching events, oldest first, with the envelope a push receiver gets', async () => {
    await publish({ type: 'order.paid', data: { before: 'the webhook existed' } });
    const { webhook } = await createWebhook(ctx.t.gql, {
      name: 'Pulled orders',
      properties: { region: 'eu' },
      endpoints: [{ url: `${ctx.receiver.url}/pushed` }],
      triggers: [
        { resource: 'order', event: 'created', filter: { 'customer.country': 'SE' } },
        { resource: 'order', event: 'paid' },
      ],
    });
    webhookId = webhook.id;
    const created = (await ctx.t.gql.ok(CREATE_FEED_TOKEN, { webhookId })).createFeedToken;
    ({ token } = created);
    feedTokenId = created.feedToken.id;
    expect(token).toMatch(/^hlf_[A-Za-z0-9_-]{43}$/);
    expect(created.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/feed/${token}$`));
    expect(created.feedToken.lastUsedAt).toBeNull();
    // A feed token is no Node: node(id) finds nothing, as for any id that names no Node.
    for (const id of [feedTokenId, 'nothing_here', 'no-prefix']) {
      expect(await ctx.t.gql.ok('query ($id: ID!) { node(id: $id) { id } }', { id })).toEqual({ node: null });
    }

    matching = [];
    matching.push(await publish({ type: 'order.created', data: { n: 1, customer: { country: 'SE' } }, context: { login: 'alice' } }));
    await publish({ type: 'order.created', data: { n: 2, customer: { country: 'NO' } } });
    await publish({ type: 'invoice.paid', data: { n: 3 } });
    matching.push(await publish({ type: 'order.paid', data: { n: 4 } }));
    matching.push(await publish({ type: 'order.created', data: { n: 5, customer: { country: 'SE' } } }));

    // Events show once they have settled (a moment after publishing): read until all three are there.
    const all = await eventually(async () => {
      const read = await readAll(token, 2);
      return read.items.length === 3 && read;
    });
    expect(all.items.map((item) => item.event_id)).toEqual(matching);
    expect(all.pages).toBe(2);
    expect(all.next).toBe(matching[2]);

    // Each item is byte for byte the body the push receiver got for that event.
    const pushed = await ctx.receiver.waitFor(3);
    for (const item of all.items) {
      const body = pushed.find((r) => JSON.parse(r.body).event_id === item.event_id)!.body;
      expect(JSON.stringify(item)).toBe(body);
    }
    expect(all.items[0]).toMatchObject({ event_type: 'order.created', current_context: { login: 'alice' }, data: { n: 1 }, region: 'eu' });

    // A reader that is up to date gets nothing new, and the same cursor back.
    const idle = await getFeed(ctx.t, token, `?after=${all.next}`);
    expect(idle.body).toEqual({ items: [], next: all.next, hasMore: false });
    expect(idle.headers.get('cache-control')).toBe('no-store');

    // The same items through GraphQL.
    const { node } = await ctx.t.gql.ok(
      `query ($id: ID!) { node(id: $id) { ... on Webhook {
        first: feed(first: 2) { edges { cursor node } pageInfo { hasNextPage endCursor } }
        feedTokens { id lastUsedAt revokedAt }
      } } }`,
      { id: webhookId },
    );
    expect(node.first.edges.map((e: any) => e.cursor)).toEqual(matching.slice(0, 2));
    expect(node.first.edges.map((e: any) => e.node)).toEqual(all.items.slice(0, 2));
    expect(node.first.pageInfo).toEqual({ hasNextPage: true, endCursor: matching[1] });
    const { node: rest } = await ctx.t.gql.ok(
      'query ($id: ID!, $after: String) { node(id: $id) { ... on Webhook { feed(first: 2, after: $after) { edges { cursor } pageInfo { hasNextPage } } } } }',
      { id: webhookId, after: matching[1] },
    );
    expect(rest.feed.edges.map((e: any) => e.cursor)).toEqual([matching[2]]);
    expect(rest.feed.pageInfo.hasNextPage).toBe(false);
    expect(node.feedTokens).toEqual([{ id: feedTokenId, lastUsedAt: expect.any(String), revokedAt: null }]);
  });

  it("matches with the webhook's current triggers", async () => {
    const { node } = await ctx.t.gql.ok('query ($id: ID!) { node(id: $id) { ... on Webhook { triggers { id eventType } } } }', { id: webhookId });
    const paid = node.triggers.find((tr: any) => tr.eventType === 'order.paid');
    await ctx.t.gql.ok('mutation ($id: ID!) { deleteTrigger(id: $id) { deletedId } }', { id: paid.id });
    const { items } = await readAll(token, 50);
    expect(items.map((item) => item.event_id)).toEqual([matching[0], matching[2]]);
  });

  it('stops a page after a bounded scan even when nothing matched, and continues from its next', async () => {
    const { webhook } = await createWebhook(ctx.t.gql, { name: 'Rare', triggers: [{ resource: 'rare', event: 'thing' }] });
    const rare = (await ctx.t.gql.ok(CREATE_FEED_TOKEN, { webhookId: webhook.id })).createFeedToken.token;
    await ctx.t.gql.ok('mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { duplicate } } }', {
      inputs: Array.from({ length: 600 }, (_, n) => ({ type: 'noise.made', data: { n } })),
    });
    const wanted = await publish({ type: 'rare.thing', data: {} });
    const first = await eventually(async () => {
      const page = (await getFeed(ctx.t, rare)).body as FeedPage;
      return page.hasMore && page;
    });
    expect(first.items).toEqual([]);
    expect(first.next).toMatch(/^evt_/);
    const rest = await eventually(async () => {
      const page = (await getFeed(ctx.t, rare, `?after=${first.next}`)).body as FeedPage;
      return page.items.length > 0 && page;
    });
    expect(rest.items.map((item) => item.event_id)).toEqual([wanted]);
  });

  it('answers 401 to a revoked or unknown token and 400 to a bad cursor or limit', async () => {
    expect((await getFeed(ctx.t, token, '?after=not-a-cursor')).body.errors[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
      message: expect.stringContaining('after'),
    });
    expect((await getFeed(ctx.t, token, '?limit=0')).status).toBe(400);
    expect((await getFeed(ctx.t, token, '?limit=1000')).status).toBe(400);

    const revoked = await ctx.t.gql.ok('mutation ($id: ID!) { revokeFeedToken(id: $id) { id revokedAt } }', { id: feedTokenId });
    expect(revoked.revokeFeedToken.revokedAt).not.toBeNull();
    const answer = await getFeed(ctx.t, token);
    expect(answer.status).toBe(401);
    expect(answer.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await getFeed(ctx.t, 'hlf_made_up')).status).toBe(401);
    expect((await fetch(`${ctx.t.url}/feed/${token}`, { method: 'POST' })).status).toBe(405);
  });

  it("keeps feed tokens to the webhook's team", async () => {
    const { token: teamToken_ } = await teamToken(ctx.t.gql, 'feeders');
    const other = await ctx.t.gql.as(teamToken_)(CREATE_FEED_TOKEN, { webhookId });
    expect(other.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'webhookId' });
    const revoke = await ctx.t.gql.as(teamToken_)('mutation ($id: ID!) { revokeFeedToken(id: $id) { id } }', { id: feedTokenId });
    expect(revoke.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('pull feed rate limit', () => {
  it('answers 429 with Retry-After once a token has used its allowance; other tokens are not affected', async () => {
    const app = await startTestApp({ HOOKLINE_ROLE: 'api', LOG_LEVEL: 'error', HOOKLINE_RATE_LIMIT_FEED: '3/m' });
    try {
      const { webhook } = await createWebhook(app.gql, { name: 'Limited' });
      const [a, b] = await Promise.all(
        [1, 2].map(async () => (await app.gql.ok(CREATE_FEED_TOKEN, { webhookId: webhook.id })).createFeedToken.token as string),
      );
      for (let i = 0; i < 3; i++) expect((await getFeed(app, a)).status).toBe(200);
      const limited = await getFeed(app, a);
      expect(limited.status).toBe(429);
      expect(limited.body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(limited.body.errors[0].message).toContain('HOOKLINE_RATE_LIMIT_FEED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await getFeed(app, b)).status).toBe(200);
    } finally {
      await app.stop();
    }
  });
});

describe('pull feed while the database is away', () => {
  it('answers 503 SERVICE_UNAVAILABLE (retry later), not a bare 500, and serves again once it is back', async () => {
    const database = await createTestDatabase();
    const proxy = await lateDatabase(new URL(database.url));
    await proxy.open();
    const app = await startTestApp({ HOOKLINE_ROLE: 'api', LOG_LEVEL: 'silent' }, { database: { ...database, url: proxy.url } });
    try {
      const { webhook } = await createWebhook(app.gql, { name: 'Outage' });
      const { token } = (await app.gql.ok(CREATE_FEED_TOKEN, { webhookId: webhook.id })).createFeedToken;
      expect((await getFeed(app, token)).status).toBe(200);

      await proxy.close();
      const away = await getFeed(app, token);
      expect(away.status).toBe(503);
      expect(away.body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');

      await proxy.open();
      await eventually(async () => (await getFeed(app, token)).status === 200, 30_000);
    } finally {
      await app.stop();
      await proxy.close();
      await database.drop();
    }
  });
});
