import { clearAllDataLoaders } from '@pothos/plugin-dataloader';
import type { State } from '../../schema/db/enums.js';
import type { DeliveryRow } from '../deliveries/queries.js';
import { DeliveryRef } from '../deliveries/types.js';
import { visibleEndpoint } from '../endpoints/types.js';
import { AppError, badInput, notFound } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { StateEnum } from '../graphql/common.js';
import type { Context, Viewer } from '../graphql/context.js';
import { visibleWebhook, WebhookRef } from '../webhooks/types.js';
import { deliveryFeed } from './feed.js';
import { loadDeliveriesWithTeam, type DeliveryChange } from './feed.sql.js';
import { healthWatch, HEALTH_THROTTLE_MS } from './health.js';
import type { WebhookHealth } from './health.sql.js';
import { Inbox, inboxIterator } from './inbox.js';

/** Deliveries loaded per query when a subscriber has fallen behind. */
const LOAD_BATCH = 1_000;
/** Updates a subscriber may have waiting before it is ended (its client stopped reading). */
const MAX_BEHIND = 50_000;

/**
 * The visibility rule of webhooks/access.ts, for a webhook's team already at hand: used to pick what reaches a
 * subscriber, and again on the loaded rows (see loadChanged).
 */
const mayView = (viewer: Viewer, teamId: string | null) =>
  viewer.role === 'ADMIN' || (teamId !== null && teamId === viewer.teamId);

builder.subscriptionType({
  description:
    'Live updates over graphql-ws on /graphql, with the token in connectionParams: { authorization: "Bearer <token>" }',
});

builder.subscriptionField('deliveryUpdated', (t) =>
  t.field({
    type: DeliveryRef,
    description:
      'Every status change of the deliveries this token may see (created PENDING, SENDING, RETRYING, SUCCEEDED, ' +
      'FAILED…), made by any process, in the order they were committed; narrowed to a webhook and/or endpoint. ' +
      '`status` is the status the change set; the other fields are as loaded just after it. A webhook or endpoint ' +
      "of another team is NOT_FOUND. After the server's database connection is re-established, deliveries changed " +
      'meanwhile are sent again with their current status.',
    args: { webhookId: t.arg.id(), endpointId: t.arg.id() },
    subscribe: async (_root, args, ctx) => {
      const viewer = ctx.viewer!;
      const { webhookId, endpointId } = await visibleFilter(ctx, args);
      const inbox = new Inbox<DeliveryChange>('deliveryUpdated', MAX_BEHIND);
      const stop = await deliveryFeed(ctx.services).add((changes) =>
        inbox.push(
          changes.filter(
            (c) =>
              mayView(viewer, c.teamId) &&
              (!webhookId || c.webhookId === webhookId) &&
              (!endpointId || c.endpointId === endpointId),
          ),
        ),
      );
      return inboxIterator(inbox, LOAD_BATCH, whileAuthenticated(ctx, (changes) => loadChanged(ctx, changes)), stop);
    },
    resolve: (delivery: DeliveryRow) => delivery,
  }),
);

/**
 * A subscription outlives the check made when it started: before each batch, the token is asked about again (the
 * lookup is cached for a few seconds), and a revoked token ends the subscription with UNAUTHENTICATED.
 */
export function whileAuthenticated<T, R>(ctx: Context, expand: (batch: T[]) => Promise<R[]>) {
  return async (batch: T[]): Promise<R[]> => {
    if (!(await ctx.stillAuthenticated())) {
      throw new AppError('UNAUTHENTICATED', 'the token of this subscription was revoked; the subscription has ended');
    }
    return expand(batch);
  };
}

/** The filter's webhook and endpoint must be visible to the viewer (else NOT_FOUND), and belong together. */
async function visibleFilter(ctx: Context, args: { webhookId?: string | null; endpointId?: string | null }) {
  const { webhookId, endpointId } = args;
  if (webhookId && !(await visibleWebhook(ctx, webhookId))) throw notFound('webhookId', webhookId);
  if (endpointId) {
    const endpoint = await visibleEndpoint(ctx, endpointId);
    if (!endpoint) throw notFound('endpointId', endpointId);
    if (webhookId && endpoint.webhookId !== webhookId) {
      throw badInput('endpointId', `endpoint "${endpointId}" does not belong to webhook "${webhookId}"`);
    }
  }
  return { webhookId, endpointId };
}

/** Each change's delivery row, loaded once for every subscriber that gets that change (see loadChanged). */
const loadedRows = new WeakMap<DeliveryChange, Promise<{ row: DeliveryRow; teamId: string | null } | undefined>>();

/**
 * The changed deliveries, each with the status its change set. Every subscriber of the process is handed the same
 * change objects, so a row is loaded once, by the first subscriber that needs it (one query per batch), and shared:
 * with 200 subscribers that was 200 queries and 200 times the row mapping per change. Visibility is checked again
 * on the team the row's webhook has at load time. The loaders are cleared first: a subscription's context lives as
 * long as the subscription, and rows or attempts its nested fields cached for an earlier update would be stale.
 */
async function loadChanged(ctx: Context, changes: DeliveryChange[]): Promise<DeliveryRow[]> {
  clearAllDataLoaders(ctx);
  const missing = changes.filter((c) => !loadedRows.has(c));
  if (missing.length > 0) {
    const loading = loadDeliveriesWithTeam(ctx.services.db, missing.map((c) => c.id));
    for (const change of missing) loadedRows.set(change, loading.then((rows) => rows.get(change.id)));
    // A failed load (the database away) is not kept: the subscription loads the batch again (see inboxIterator).
    loading.catch(() => missing.forEach((change) => loadedRows.delete(change)));
  }
  const loaded = await Promise.all(changes.map((c) => loadedRows.get(c)!));
  return changes.flatMap((change, i) => {
    const found = loaded[i];
    return found && mayView(ctx.viewer!, found.teamId) ? [{ ...found.row, status: change.status }] : [];
  });
}

const EndpointHealthRef = builder.objectRef<{ id: string; state: State }>('EndpointHealth').implement({
  description: "An endpoint's state, as part of its webhook's health",
  fields: (t) => ({
    id: t.exposeID('id'),
    state: t.expose('state', { type: StateEnum }),
  }),
});

const WebhookHealthRef = builder.objectRef<WebhookHealth>('WebhookHealth').implement({
  description:
    "A webhook's delivery numbers. Attempts are those started in the last hour / 24 hours; an attempt succeeded " +
    'when the receiver answered 2xx in time (or the mail was accepted). Rates are 0..1; rates and latencies are ' +
    'null when there were no attempts.',
  fields: (t) => ({
    webhookId: t.exposeID('webhookId'),
    attemptCount1h: t.exposeInt('attemptCount1h'),
    successRate1h: t.exposeFloat('successRate1h', { nullable: true }),
    p50LatencyMs1h: t.exposeInt('p50LatencyMs1h', { nullable: true, description: 'Median attempt duration' }),
    p95LatencyMs1h: t.exposeInt('p95LatencyMs1h', { nullable: true }),
    attemptCount24h: t.exposeInt('attemptCount24h'),
    successRate24h: t.exposeFloat('successRate24h', { nullable: true }),
    p50LatencyMs24h: t.exposeInt('p50LatencyMs24h', { nullable: true }),
    p95LatencyMs24h: t.exposeInt('p95LatencyMs24h', { nullable: true }),
    pendingCount: t.exposeInt('pendingCount', {
      description: 'Deliveries not finished yet (PENDING, SENDING, RETRYING), those held for a non-ACTIVE endpoint included',
    }),
    endpoints: t.expose('endpoints', { type: [EndpointHealthRef] }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When these numbers were computed' }),
  }),
});

builder.objectFields(WebhookRef, (t) => ({
  health: t.loadable({
    type: WebhookHealthRef,
    description: "This webhook's delivery numbers now (pushed live by Subscription.webhookHealthUpdated)",
    load: (ids: string[], ctx: Context) => healthWatch(ctx.services).load(ids),
    sort: (health) => health.webhookId,
    resolve: (webhook) => webhook.id,
  }),
}));

builder.subscriptionField('webhookHealthUpdated', (t) =>
  t.field({
    type: WebhookHealthRef,
    description:
      "The webhook's health: first the current numbers, then new ones whenever its deliveries change, at most " +
      `one update per ${HEALTH_THROTTLE_MS} ms. A webhook of another team is NOT_FOUND.`,
    args: { webhookId: t.arg.id({ required: true }) },
    subscribe: async (_root, { webhookId }, ctx) => {
      const viewer = ctx.viewer!;
      if (!(await visibleWebhook(ctx, webhookId))) throw notFound('webhookId', webhookId);
      const watch = healthWatch(ctx.services);
      const inbox = new Inbox<WebhookHealth>('webhookHealthUpdated', MAX_BEHIND);
      const push = (health: WebhookHealth) => {
        if (mayView(viewer, health.teamId)) inbox.push([health]);
      };
      const stop = await watch.watch(webhookId, push);
      try {
        // Computed (not reused) after watching starts, so no change falls between the first numbers and the updates.
        const [current] = await watch.compute([webhookId]);
        if (current) push(current);
      } catch (err) {
        stop();
        throw err;
      }
      // Only the newest numbers matter to a subscriber that fell behind.
      return inboxIterator(inbox, Infinity, whileAuthenticated(ctx, async (waiting) => [waiting.at(-1)!]), stop);
    },
    resolve: (health: WebhookHealth) => health,
  }),
);
