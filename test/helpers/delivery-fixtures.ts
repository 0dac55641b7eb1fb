import type { TestApp } from './app.js';
import { eventually } from './receiver.js';
import { createWebhook } from './webhook-fixtures.js';

/** Fixtures for the delivery tests (an app with its worker running). */

let resourceCount = 0;

export interface Published {
  event: { id: string; occurredAt: string };
  deliveries: { id: string; endpoint: { id: string } }[];
}

/** A webhook triggered by an event type of its own, so that tests in one file do not see each other's events. */
export async function webhookWith(t: TestApp, endpoints: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  const resource = `thing${++resourceCount}`;
  const type = `${resource}.created`;
  const { secret, webhook } = await createWebhook(t.gql, {
    name: `delivery test ${resource}`,
    triggers: [{ resource, event: 'created' }],
    endpoints,
    ...extra,
  });
  return {
    secret: secret as string,
    webhook,
    type,
    publish: async (data: unknown = { n: 1 }, context: unknown = { login: 'ann' }): Promise<Published> =>
      (
        await t.gql.ok(
          `mutation ($input: PublishEventInput!) {
             publishEvent(input: $input) { event { id occurredAt } deliveries { id endpoint { id } } }
           }`,
          { input: { type, data, context } },
        )
      ).publishEvent,
  };
}

export const DELIVERY = `query ($id: ID!) { node(id: $id) { ... on Delivery {
  status attemptCount lastResponseStatus lastError completedAt nextAttemptAt
  attempts { number startedAt durationMs requestUrl requestHeaders { key value } requestBody
             responseStatus responseHeaders { key value } responseBody error }
} } }`;

/** The delivery (with its attempts) once its status is one of `statuses`. */
export async function deliveryWhen(t: TestApp, id: string, statuses: string[], timeoutMs?: number) {
  return eventually(async () => {
    const { node } = await t.gql.ok(DELIVERY, { id });
    return statuses.includes(node.status) ? node : undefined;
  }, timeoutMs);
}

export const header = (headers: { key: string; value: string }[], name: string) =>
  headers.find((h) => h.key.toLowerCase() === name)?.value;
