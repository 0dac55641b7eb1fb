import { describe, expect, it } from 'vitest';
import type { DeliveryJob } from '../../src/delivery/job.js';
import { MAX_RENDERED_BYTES, RenderError, renderBody } from '../../src/delivery/render.js';

function job(endpoint: Partial<DeliveryJob['endpoint']> = {}, properties: Record<string, unknown> | null = null): DeliveryJob {
  return {
    attemptNumber: 1,
    event: {
      id: 'evt_1',
      type: 'contact.created',
      occurredAt: new Date('2030-01-02T03:04:05.678Z'),
      context: { login: 'ann' },
      data: { name: 'Ann', tags: ['a', 'b'] },
    },
    webhook: {
      id: 'wh_1',
      name: 'CRM',
      headers: [],
      properties,
      secret: 'whsec_eA==',
      previousSecret: null,
      previousSecretExpiresAt: null,
    },
    endpoint: {
      id: 'ep_1',
      kind: 'HTTP',
      url: 'https://example.test/hook',
      method: 'POST',
      queryParams: [],
      headers: [],
      contentType: 'application/json',
      bodyTemplate: null,
      auth: null,
      timeoutMs: 1000,
      emailTo: null,
      ...endpoint,
    },
  };
}

describe('renderBody', () => {
  it('sends the default envelope', async () => {
    expect(JSON.parse((await renderBody(job()))!)).toEqual({
      event_id: 'evt_1',
      event_type: 'contact.created',
      event_time: '2030-01-02T03:04:05.678Z',
      current_context: { login: 'ann' },
      data: { name: 'Ann', tags: ['a', 'b'] },
    });
  });

  it('adds the webhook properties as top-level keys that never replace the envelope', async () => {
    const body = JSON.parse((await renderBody(job({}, { tenant: 't1', event_id: 'forged', data: 'forged' })))!);
    expect(body.tenant).toBe('t1');
    expect(body.event_id).toBe('evt_1');
    expect(body.data).toEqual({ name: 'Ann', tags: ['a', 'b'] });
  });

  it('renders a Liquid template from event, webhook, endpoint and properties', async () => {
    const template =
      '{"t":"{{ event.type }}","id":"{{ event.id }}","at":"{{ event.occurredAt }}","who":"{{ event.context.login }}",' +
      '"name":"{{ event.data.name }}","tags":{{ event.data.tags | json }},"wh":"{{ webhook.name }}/{{ webhook.id }}",' +
      '"ep":"{{ endpoint.id }} {{ endpoint.url }}","p":"{{ properties.tenant }}"}';
    const body = JSON.parse((await renderBody(job({ bodyTemplate: template }, { tenant: 't1' })))!);
    expect(body).toEqual({
      t: 'contact.created',
      id: 'evt_1',
      at: '2030-01-02T03:04:05.678Z',
      who: 'ann',
      name: 'Ann',
      tags: ['a', 'b'],
      wh: 'CRM/wh_1',
      ep: 'ep_1 https://example.test/hook',
      p: 't1',
    });
  });

  it('sends no body for GET', async () => {
    expect(await renderBody(job({ method: 'GET', bodyTemplate: 'x' }))).toBeNull();
    expect(await renderBody(job({ method: 'GET' }))).toBeNull();
  });

  it('refuses output larger than the cap instead of cutting it', async () => {
    const template = `{% for i in (1..${MAX_RENDERED_BYTES / 8 + 10}) %}12345678{% endfor %}`;
    await expect(renderBody(job({ bodyTemplate: template }))).rejects.toThrow(RenderError);
    await expect(renderBody(job({ bodyTemplate: template }))).rejects.toThrow(/more than the limit/);
  });

  it('turns a template error into a RenderError', async () => {
    await expect(renderBody(job({ bodyTemplate: '{{ event.data | no_such_filter }}' }))).rejects.toThrow(RenderError);
  });
});
