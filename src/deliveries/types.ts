import { deliveries } from '../../schema/db/deliveries.js';
import { EndpointRef, visibleEndpoint } from '../endpoints/types.js';
import { badInput, notFound } from '../errors.js';
import { EventRef, PublishEventPayload } from '../events/types.js';
import { builder } from '../graphql/builder.js';
import { DeliveryStatusEnum, KeyValueRef, pageNewestFirst } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { visibleWebhook, WebhookRef } from '../webhooks/types.js';
import {
  listDeliveries,
  loadAttempts,
  loadEventDeliveries,
  selectVisibleDeliveries,
  type DeliveryAttemptRow,
  type DeliveryFilter,
  type DeliveryRow,
} from './queries.js';
import { replayDeliveries, replayDelivery } from './replay.js';
import { REPLAY_JOB_THRESHOLD, ReplayJobRef, replayDeliveriesJob } from '../replay-jobs/types.js';

/** One (event, endpoint) send. Visible exactly when its webhook is: loads return only those. */
export const DeliveryRef = builder.loadableNodeRef('Delivery', {
  id: { resolve: (delivery: DeliveryRow) => delivery.id },
  load: (ids: string[], ctx: Context) => selectVisibleDeliveries(ctx.services.db, ctx.viewer, ids),
  toKey: (delivery) => delivery.id,
  sort: true,
});

/** Also the shape of testEndpoint's attempt, which belongs to no stored delivery (hence no deliveryId). */
export const DeliveryAttemptRef = builder.objectRef<Omit<DeliveryAttemptRow, 'deliveryId'>>('DeliveryAttempt').implement({
  description: 'One try at a delivery: the request as sent, the response (truncated) or the error',
  fields: (t) => ({
    number: t.exposeInt('number', { description: '1 for the first attempt' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs'),
    requestUrl: t.exposeString('requestUrl'),
    requestHeaders: t.expose('requestHeaders', { type: [KeyValueRef] }),
    requestBody: t.exposeString('requestBody', { nullable: true }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true }),
    responseHeaders: t.expose('responseHeaders', { type: [KeyValueRef], nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

DeliveryRef.implement({
  fields: (t) => ({
    event: t.field({ type: EventRef, resolve: (d) => d.eventId }),
    webhook: t.field({ type: WebhookRef, resolve: (d) => d.webhookId }),
    endpoint: t.field({ type: EndpointRef, resolve: (d) => d.endpointId }),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    attemptCount: t.exposeInt('attemptCount'),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    lastResponseStatus: t.exposeInt('lastResponseStatus', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    replayOf: t.field({
      type: DeliveryRef,
      nullable: true,
      description: 'The delivery this one replays',
      resolve: (d) => d.replayOf,
    }),
    // Keyed by delivery id: a whole page of deliveries loads its attempts in one query.
    attempts: t.loadableList({
      type: DeliveryAttemptRef,
      load: (ids: string[], ctx: Context) => loadAttempts(ctx.services.db, ids),
      resolve: (d) => d.id,
    }),
  }),
});

export const DeliveryConnection = builder.connectionObject(
  { type: DeliveryRef, name: 'DeliveryConnection' },
  { name: 'DeliveryEdge' },
);

/** Each event's visible deliveries, keyed by event id: one query for a page of events or a batch of results. */
const loadDeliveriesOfEvents = (eventIds: string[], ctx: Context) =>
  loadEventDeliveries(ctx.services.db, ctx.viewer, eventIds);

builder.objectFields(EventRef, (t) => ({
  deliveries: t.loadableList({ type: DeliveryRef, load: loadDeliveriesOfEvents, resolve: (event) => event.id }),
}));

builder.objectFields(PublishEventPayload, (t) => ({
  deliveries: t.loadableList({
    type: DeliveryRef,
    description: "The event's deliveries that this token may see (for a duplicate: those of the first event)",
    load: loadDeliveriesOfEvents,
    resolve: (result) => result.event.id,
  }),
}));

builder.objectFields(WebhookRef, (t) => ({
  deliveries: t.connection(
    {
      type: DeliveryRef,
      description: "This webhook's deliveries, newest first",
      args: { status: t.arg({ type: [DeliveryStatusEnum], description: 'Any of these statuses' }) },
      resolve: (webhook, args, ctx) =>
        pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, deliveries.id, (page) =>
          listDeliveries(ctx.services.db, ctx.viewer, { webhookId: webhook.id, status: args.status }, page),
        ),
    },
    DeliveryConnection,
  ),
}));

/** `until` must come after `since` (both are optional). */
function checkRange(filter: DeliveryFilter, untilField: string): DeliveryFilter {
  if (filter.since && filter.until && filter.until <= filter.since) throw badInput(untilField, 'must be later than since');
  return filter;
}

builder.queryField('deliveries', (t) =>
  t.connection(
    {
      type: DeliveryRef,
      description: 'Deliveries this token may see, newest first. `since` is inclusive, `until` exclusive (createdAt).',
      args: {
        webhookId: t.arg.id(),
        endpointId: t.arg.id(),
        status: t.arg({ type: [DeliveryStatusEnum], description: 'Any of these statuses' }),
        since: t.arg({ type: 'DateTime' }),
        until: t.arg({ type: 'DateTime' }),
      },
      resolve: (_root, args, ctx) => {
        const filter = checkRange(args, 'until');
        return pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, deliveries.id, (page) =>
          listDeliveries(ctx.services.db, ctx.viewer, filter, page),
        );
      },
    },
    DeliveryConnection,
  ),
);

const ReplayDeliveriesInput = builder.inputType('ReplayDeliveriesInput', {
  fields: (t) => ({
    webhookId: t.id(),
    endpointId: t.id(),
    status: t.field({ type: [DeliveryStatusEnum], description: 'Any of these statuses' }),
    since: t.field({ type: 'DateTime', description: 'Deliveries created at or after this instant' }),
    until: t.field({ type: 'DateTime', description: 'Deliveries created before this instant' }),
    dryRun: t.boolean({ defaultValue: false, description: 'Only count what would be replayed' }),
  }),
});

builder.mutationFields((t) => ({
  replayDelivery: t.field({
    type: builder.objectRef<{ delivery: DeliveryRow }>('ReplayDeliveryPayload').implement({
      fields: (f) => ({ delivery: f.field({ type: DeliveryRef, resolve: (payload) => payload.delivery }) }),
    }),
    description: 'Sends the event to the endpoint again: a new PENDING delivery whose replayOf is this one',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({ delivery: await replayDelivery(ctx.services.db, ctx.viewer!, args.id) }),
  }),
  replayDeliveries: t.field({
    type: builder.objectRef<{ count: number; job?: string }>('ReplayDeliveriesPayload').implement({
      fields: (f) => ({
        count: f.exposeInt('count', { description: 'Deliveries created (or, for a dry run, that would be; for a job, that it will create)' }),
        job: f.field({
          type: ReplayJobRef,
          nullable: true,
          description: `Set when more than ${REPLAY_JOB_THRESHOLD} deliveries match: they are replayed by this background job`,
          resolve: (payload) => payload.job ?? null,
        }),
      }),
    }),
    description: 'Replays every matching delivery this token may see that goes to an ACTIVE endpoint',
    args: { input: t.arg({ type: ReplayDeliveriesInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      // A webhook or endpoint of another team is not found, as everywhere in mutations.
      if (input.webhookId && !(await visibleWebhook(ctx, input.webhookId))) throw notFound('input.webhookId', input.webhookId);
      if (input.endpointId && !(await visibleEndpoint(ctx, input.endpointId))) throw notFound('input.endpointId', input.endpointId);
      const filter = checkRange(input, 'input.until');
      const dryRun = input.dryRun ?? false;
      if (!dryRun) {
        // Counted first: a large replay is a job, so that the request (and its transaction) stays short.
        const count = await replayDeliveries(ctx.services.db, ctx.viewer!, filter, true);
        if (count > REPLAY_JOB_THRESHOLD) return { count, job: await replayDeliveriesJob(ctx, filter, count) };
      }
      return { count: await replayDeliveries(ctx.services.db, ctx.viewer!, filter, dryRun) };
    },
  }),
}));
