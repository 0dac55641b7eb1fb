import { liquid } from '../../src/delivery/liquid.js';

/** An event as templates see it. */
export interface SampleEvent {
  id: string;
  type: string;
  occurredAt: string;
  context: unknown;
  data: unknown;
}

export const BUILT_IN_SAMPLE: SampleEvent = {
  id: 'evt_sample',
  type: 'contact.created',
  occurredAt: new Date().toISOString(),
  context: { login: 'alice' },
  data: { id: 'c_1042', name: 'Ada Lovelace', email: 'ada@example.com', customer: { country: 'SE' } },
};

export interface PreviewInput {
  template: string;
  method: string;
  event: SampleEvent;
  webhook: { name: string };
  endpoint: { url: string };
  properties: Record<string, unknown>;
}

export type Preview = { body: string | null; error?: undefined } | { error: string; body?: undefined };

const ENVELOPE_KEYS = ['event_id', 'event_type', 'event_time', 'current_context', 'data'];

/**
 * The body this endpoint would send for the event, rendered in the browser by the server's own Liquid engine
 * settings; without a template, the default envelope (as src/delivery/render.ts builds it). GET sends no body.
 */
export async function renderPreview(input: PreviewInput): Promise<Preview> {
  if (input.method === 'GET') return { body: null };
  const { event, properties } = input;
  if (!input.template.trim()) {
    const extra = Object.entries(properties).filter(([key]) => !ENVELOPE_KEYS.includes(key));
    const envelope = {
      event_id: event.id,
      event_type: event.type,
      event_time: event.occurredAt,
      current_context: event.context ?? null,
      data: event.data,
      ...Object.fromEntries(extra),
    };
    return { body: JSON.stringify(envelope, null, 2) };
  }
  try {
    const body = await liquid.parseAndRender(input.template, {
      event,
      webhook: { id: 'wh_preview', name: input.webhook.name },
      endpoint: { id: 'ep_preview', url: input.endpoint.url },
      properties,
    });
    return { body: String(body) };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] };
  }
}
