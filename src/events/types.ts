import { events } from '../../schema/db/events.js';
import { builder } from '../graphql/builder.js';
import { pageNewestFirst } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { listEventTypes, listEvents, selectVisibleEvents, type EventTypeRow } from './queries.js';
import { publishEvent, publishEvents, MAX_BATCH, type EventRow, type PublishResult } from './publish.js';

/** Events are not owned by a team: `load` returns null for events the viewer has no delivery of (see queries.ts). */
export const EventRef = builder.loadableNodeRef('Event', {
  id: { resolve: (event: EventRow) => event.id },
  load: (ids: string[], ctx: Context) => selectVisibleEvents(ctx.services.db, ctx.viewer, ids),
  toKey: (event) => event.id,
  sort: true,
});

EventRef.implement({
  description: 'Something that happened, published by a producer; `deliveries` are those the viewer may see.',
  fields: (t) => ({
    type: t.exposeString('type', { description: '`<resource>.<event>`' }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
    context: t.expose('context', { type: 'JSON', nullable: true }),
    data: t.expose('data', { type: 'JSON' }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When Hookline accepted the event' }),
  }),
});

export const EventConnection = builder.connectionObject({ type: EventRef, name: 'EventConnection' }, { name: 'EventEdge' });

export const EventTypeRef = builder.objectRef<EventTypeRow>('EventType').implement({
  description: 'An entry of the catalogue: every event type that has been published.',
  fields: (t) => ({
    name: t.exposeString('name'),
    resource: t.exposeString('resource'),
    event: t.exposeString('event'),
    description: t.exposeString('description', { nullable: true }),
    count: t.exposeInt('eventCount', { description: 'Events of this type published so far' }),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime' }),
  }),
});

const PublishEventInput = builder.inputType('PublishEventInput', {
  fields: (t) => ({
    type: t.string({ required: true, description: '`<resource>.<event>`, e.g. `contact.created`' }),
    data: t.field({ type: 'JSON', required: true }),
    context: t.field({ type: 'JSON', description: 'A JSON object; `context.login` is matched by webhooks with forLogin' }),
    occurredAt: t.field({ type: 'DateTime', description: 'Default: now' }),
    idempotencyKey: t.string({ description: 'Publishing a key seen before returns the first event and creates nothing' }),
  }),
});

/** `deliveries` is added in deliveries/types.ts (Delivery and Event refer to each other). */
export const PublishEventPayload = builder.objectRef<PublishResult>('PublishEventPayload').implement({
  fields: (t) => ({
    event: t.field({ type: EventRef, resolve: (result) => result.event }),
    duplicate: t.exposeBoolean('duplicate', {
      description: 'The idempotency key was seen before: `event` is the first event published with it',
    }),
  }),
});

const PublishEventsPayload = builder.objectRef<PublishResult[]>('PublishEventsPayload').implement({
  fields: (t) => ({
    results: t.field({ type: [PublishEventPayload], description: 'In input order', resolve: (results) => results }),
  }),
});

builder.queryFields((t) => ({
  events: t.connection(
    {
      type: EventRef,
      description: 'Newest first. ADMIN: every event; other tokens: events with a delivery to one of their team\'s webhooks.',
      args: { type: t.arg.string({ description: 'Only events of this type' }) },
      resolve: (_root, args, ctx) =>
        pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, events.id, (page) =>
          listEvents(ctx.services.db, ctx.viewer, args.type, page),
        ),
    },
    EventConnection,
  ),
  eventTypes: t.field({
    type: [EventTypeRef],
    description: 'The catalogue of event types published so far, by name',
    resolve: (_root, _args, ctx) => listEventTypes(ctx.services.db),
  }),
}));

builder.mutationFields((t) => ({
  publishEvent: t.field({
    type: PublishEventPayload,
    description: 'Stores the event and, in the same transaction, one delivery per ACTIVE endpoint of each matching webhook.',
    args: { input: t.arg({ type: PublishEventInput, required: true }) },
    resolve: (_root, args, ctx) => publishEvent(ctx.services, ctx.viewer!, args.input),
  }),
  publishEvents: t.field({
    type: PublishEventsPayload,
    description: `Publishes up to ${MAX_BATCH} events at once, all or nothing; results in input order.`,
    args: { inputs: t.arg({ type: [PublishEventInput], required: true }) },
    resolve: (_root, args, ctx) => publishEvents(ctx.services, ctx.viewer!, args.inputs, (i) => `inputs[${i}]`),
  }),
}));
