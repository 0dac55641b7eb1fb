import type { DeliveryJob } from './job.js';
import { liquid } from './liquid.js';

/** A rendered template larger than this is refused (the attempt fails) rather than sent cut off. */
export const MAX_RENDERED_BYTES = 256 * 1024;

const ENVELOPE_KEYS = ['event_id', 'event_type', 'event_time', 'current_context', 'data'];

/** Why a body could not be made: the attempt fails with this message and nothing is sent. */
export class RenderError extends Error {}

/**
 * The request body of an HTTP attempt: null for GET; the endpoint's Liquid template when it has one; else the
 * default envelope, with the webhook's `properties` as extra top-level keys that never replace the envelope's.
 */
export async function renderBody(job: DeliveryJob): Promise<string | null> {
  const { event, webhook, endpoint } = job;
  if (endpoint.method === 'GET') return null;
  if (!endpoint.bodyTemplate) return JSON.stringify(defaultEnvelope(job));
  let body: string;
  try {
    body = String(
      await liquid.parseAndRender(endpoint.bodyTemplate, {
        event: {
          id: event.id,
          type: event.type,
          occurredAt: event.occurredAt.toISOString(),
          context: event.context ?? null,
          data: event.data,
        },
        webhook: { id: webhook.id, name: webhook.name },
        endpoint: { id: endpoint.id, url: endpoint.url },
        properties: webhook.properties ?? {},
      }),
    );
  } catch (err) {
    throw new RenderError(`body template failed: ${(err as Error).message.split('\n')[0]}`);
  }
  const size = Buffer.byteLength(body);
  if (size > MAX_RENDERED_BYTES) {
    throw new RenderError(`body template rendered ${size} bytes, more than the limit of ${MAX_RENDERED_BYTES}`);
  }
  return body;
}

export function defaultEnvelope({ event, webhook }: Pick<DeliveryJob, 'event' | 'webhook'>): Record<string, unknown> {
  const extra = Object.entries(webhook.properties ?? {}).filter(([key]) => !ENVELOPE_KEYS.includes(key));
  return {
    event_id: event.id,
    event_type: event.type,
    event_time: event.occurredAt.toISOString(),
    current_context: event.context ?? null,
    data: event.data,
    ...Object.fromEntries(extra),
  };
}
