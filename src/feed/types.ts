import { auditedCreate, auditedUpdate } from '../audit/record.js';
import { generateToken } from '../auth/tokens.js';
import { badInput, notFound } from '../errors.js';
import { builder } from '../graphql/builder.js';
import type { Context } from '../graphql/context.js';
import { visibleWebhook, WebhookRef } from '../webhooks/types.js';
import { feedCursor, feedUrl } from './http.js';
import {
  insertFeedToken,
  lockVisibleFeedToken,
  readFeed,
  revokeVisibleFeedToken,
  selectFeedTokensOfWebhooks,
  type FeedPage,
  type FeedTokenRow,
} from './queries.js';

export const FeedTokenRef = builder.objectRef<FeedTokenRow>('FeedToken').implement({
  description: 'A credential for GET /feed/<token>: the webhook\'s matching events, pulled. The token itself is shown once.',
  authScopes: (token) => ({ team: token.teamId }),
  fields: (t) => ({
    id: t.exposeID('id'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'To the minute' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreateFeedTokenPayload = builder
  .objectRef<{ feedToken: FeedTokenRow; token: string; url: string }>('CreateFeedTokenPayload')
  .implement({
    fields: (t) => ({
      feedToken: t.field({ type: FeedTokenRef, resolve: (payload) => payload.feedToken }),
      token: t.exposeString('token', { description: 'Shown only here: store it now' }),
      url: t.exposeString('url', { description: 'The feed URL with the token (HOOKLINE_PUBLIC_URL + /feed/<token>)' }),
    }),
  });

const FeedEdge = builder.objectRef<Record<string, unknown>>('FeedEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (item) => String(item.event_id) }),
    node: t.field({ type: 'JSON', description: 'The envelope a push receiver gets', resolve: (item) => item }),
  }),
});

const FeedPageInfo = builder.objectRef<FeedPage>('FeedPageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasMore', { description: 'More events to look at now' }),
    endCursor: t.exposeString('next', {
      nullable: true,
      description: 'Pass as `after` to continue: the last event looked at, which may not be the last edge',
    }),
  }),
});

/** A feed page as a connection: each node is an envelope, as GET /feed answers it. */
const FeedConnection = builder.objectRef<FeedPage>('FeedConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [FeedEdge], resolve: (page) => page.items }),
    pageInfo: t.field({ type: FeedPageInfo, resolve: (page) => page }),
  }),
});

builder.objectFields(WebhookRef, (t) => ({
  feedTokens: t.loadableList({
    type: FeedTokenRef,
    description: 'Pull-feed tokens, revoked ones included, oldest first',
    load: (webhookIds: string[], ctx: Context) => selectFeedTokensOfWebhooks(ctx.services.db, webhookIds),
    resolve: (webhook) => webhook.id,
  }),
  feed: t.field({
    type: FeedConnection,
    description:
      "The pull feed: events since the webhook was created that its current triggers match, oldest first, as the " +
      'envelopes GET /feed/<token> answers. A page looks at a bounded number of events, so it may hold fewer than ' +
      '`first` (even none) with hasNextPage true: continue from endCursor.',
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: (webhook, args, ctx) => {
      const max = ctx.services.config.HOOKLINE_MAX_PAGE_SIZE;
      const first = args.first ?? Math.min(20, max);
      if (first < 1 || first > max) throw badInput('first', `must be between 1 and ${max}`);
      return readFeed(ctx.services.db, webhook, feedCursor(args.after ?? null, 'after'), first);
    },
  }),
}));

builder.mutationFields((t) => ({
  createFeedToken: t.field({
    type: CreateFeedTokenPayload,
    description: "A new pull-feed token for the webhook; its URL is shown once. Anyone with the URL reads the webhook's feed.",
    args: { webhookId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const webhook = await visibleWebhook(ctx, args.webhookId);
      if (!webhook) throw notFound('webhookId', args.webhookId);
      const token = generateToken('hlf');
      const feedToken = await auditedCreate(ctx.services.db, ctx.viewer, 'feed_token.create', (tx) =>
        insertFeedToken(tx, webhook, ctx.viewer!.name, token),
      );
      return { feedToken, token, url: feedUrl(ctx.services.config, token) };
    },
  }),
  revokeFeedToken: t.field({
    type: FeedTokenRef,
    description: 'Revokes a feed token at once: its URL answers 401 from then on',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const row = await auditedUpdate(
        ctx.services.db,
        ctx.viewer,
        'feed_token.revoke',
        (tx) => lockVisibleFeedToken(tx, ctx.viewer, args.id),
        (tx) => revokeVisibleFeedToken(tx, ctx.viewer, args.id),
      );
      if (!row) throw notFound('id', args.id);
      return row;
    },
  }),
}));
