import { DeliveryAttemptRef } from '../deliveries/types.js';
import { visibleEndpoint } from '../endpoints/types.js';
import { notFound } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { newId } from '../ids.js';
import { visibleWebhook } from '../webhooks/types.js';

// GraphQL fields of the delivery engine.

builder.mutationField('testEndpoint', (t) =>
  t.field({
    type: DeliveryAttemptRef,
    description:
      'Sends a `hookline.ping` event to the endpoint now, whatever its state, rendered and signed like any delivery, ' +
      'and returns the attempt. The ping is not stored, not retried and does not count toward auto-disable.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const endpoint = await visibleEndpoint(ctx, args.id);
      const webhook = endpoint && (await visibleWebhook(ctx, endpoint.webhookId));
      if (!endpoint || !webhook) throw notFound('id', args.id);
      const event = {
        id: newId('Event'),
        type: 'hookline.ping',
        occurredAt: new Date(),
        context: { login: ctx.viewer!.name },
        data: { message: 'A test event sent with testEndpoint', webhookId: webhook.id, endpointId: endpoint.id },
      };
      const result = await ctx.services.sender.send({ event, webhook, endpoint, attemptNumber: 1 });
      return result.attempt;
    },
  }),
);
