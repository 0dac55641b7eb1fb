import { selectEndpointsOfWebhooks, type EndpointRow } from '../endpoints/queries.js';
import { EndpointRef } from '../endpoints/types.js';
import { notFound } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { StateEnum } from '../graphql/common.js';
import { selectTriggersOfWebhooks, type TriggerRow } from '../triggers/queries.js';
import { TriggerRef } from '../triggers/types.js';
import { visibleWebhook } from '../webhooks/types.js';
import { explainMatch, type EndpointCheck, type FilterKeyCheck, type MatchExplanation, type TriggerCheck, type ValueCheck } from './explain.js';
import { selectVisibleEvents } from './queries.js';

// GraphQL for explainMatch (explain.ts).

const ValueCheckRef = builder.objectRef<ValueCheck>('ValueCheck').implement({
  description: 'One rule of the matcher: what the webhook expects, what the event has, and whether it held.',
  fields: (t) => ({
    expected: t.expose('expected', { type: 'JSON', nullable: true }),
    actual: t.expose('actual', { type: 'JSON', nullable: true }),
    matched: t.exposeBoolean('matched'),
  }),
});

const FilterKeyCheckRef = builder.objectRef<FilterKeyCheck>('FilterKeyExplanation').implement({
  fields: (t) => ({
    path: t.exposeString('path', { description: 'The dotted path into the event\'s data' }),
    expected: t.expose('expected', { type: 'JSON', nullable: true }),
    actual: t.expose('actual', { type: 'JSON', nullable: true, description: 'null when the path is not found' }),
    found: t.exposeBoolean('found', { description: 'Whether the path exists in the data' }),
    matched: t.exposeBoolean('matched'),
  }),
});

const TriggerExplanationRef = builder.objectRef<TriggerCheck<TriggerRow>>('TriggerExplanation').implement({
  fields: (t) => ({
    trigger: t.field({ type: TriggerRef, resolve: (check) => check.trigger }),
    resource: t.field({ type: ValueCheckRef, resolve: (check) => check.resource }),
    event: t.field({ type: ValueCheckRef, resolve: (check) => check.event }),
    filter: t.field({ type: [FilterKeyCheckRef], description: 'Each key of the trigger\'s filter', resolve: (check) => check.filter }),
    matched: t.exposeBoolean('matched'),
  }),
});

const EndpointExplanationRef = builder.objectRef<EndpointCheck<EndpointRow>>('EndpointExplanation').implement({
  fields: (t) => ({
    endpoint: t.field({ type: EndpointRef, resolve: (check) => check.endpoint }),
    state: t.field({ type: StateEnum, resolve: (check) => check.endpoint.state }),
    allowed: t.exposeBoolean('allowed', { description: 'Whether its state lets it get new deliveries (ACTIVE)' }),
    reason: t.exposeString('reason'),
  }),
});

const MatchExplanationRef = builder.objectRef<MatchExplanation<TriggerRow, EndpointRow>>('MatchExplanation').implement({
  description: "Why an event does or does not reach a webhook, judged by the webhook's triggers and states as they are now.",
  fields: (t) => ({
    matched: t.exposeBoolean('matched', { description: 'forLogin holds and at least one trigger matches' }),
    wouldDeliver: t.exposeBoolean('wouldDeliver', {
      description: 'Matched, and the webhook and at least one endpoint are ACTIVE: publishing it now would deliver it',
    }),
    summary: t.exposeString('summary', { description: 'The deciding reason, in one sentence' }),
    webhookState: t.expose('webhookState', { type: StateEnum }),
    forLogin: t.field({
      type: ValueCheckRef,
      description: "The webhook's forLogin against the event's context.login (null expected: any login)",
      resolve: (x) => x.forLogin,
    }),
    triggers: t.field({ type: [TriggerExplanationRef], resolve: (x) => x.triggers }),
    endpoints: t.field({ type: [EndpointExplanationRef], resolve: (x) => x.endpoints }),
  }),
});

builder.queryField('explainMatch', (t) =>
  t.field({
    type: MatchExplanationRef,
    description:
      "Why an event did or didn't match a webhook: each trigger's resource, event and filter keys, forLogin, and " +
      'whether the webhook and each endpoint state allow a delivery. Uses the current triggers and states.',
    args: { eventId: t.arg.id({ required: true }), webhookId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const { db } = ctx.services;
      const [[event], webhook] = await Promise.all([
        selectVisibleEvents(db, ctx.viewer, [args.eventId]),
        visibleWebhook(ctx, args.webhookId),
      ]);
      if (!event) throw notFound('eventId', args.eventId);
      if (!webhook) throw notFound('webhookId', args.webhookId);
      const [[triggers], [endpoints]] = await Promise.all([
        selectTriggersOfWebhooks(db, [webhook.id]),
        selectEndpointsOfWebhooks(db, [webhook.id]),
      ]);
      return explainMatch(event, webhook, triggers, endpoints);
    },
  }),
);
