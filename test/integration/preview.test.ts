import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { insertToken } from '../../src/auth/tokens.js';
import { useAppWithReceiver } from '../helpers/app.js';
import { createWebhook } from '../helpers/webhook-fixtures.js';

const ctx = useAppWithReceiver();

const PREVIEW = `query ($endpointId: ID, $endpoint: EndpointInput, $webhookId: ID, $webhook: PreviewWebhookInput, $eventId: ID, $event: SampleEventInput) {
  previewRequest(endpointId: $endpointId, endpoint: $endpoint, webhookId: $webhookId, webhook: $webhook, eventId: $eventId, event: $event) {
    method url headers { key value } body
  }
}`;

type Preview = { method: string; url: string; headers: { key: string; value: string }[]; body: string | null };

async function preview(variables: Record<string, unknown>): Promise<Preview> {
  return (await ctx.t.gql.ok(PREVIEW, variables)).previewRequest;
}

const headerMap = (headers: { key: string; value: string }[]) => Object.fromEntries(headers.map((h) => [h.key.toLowerCase(), h.value]));

describe('previewRequest', () => {
  it('shows the request a real delivery sent: same URL, headers and body, with a signature that verifies', async () => {
    const { webhook, secret } = await createWebhook(ctx.t.gql, {
      name: 'Preview me',
      headers: [{ key: 'x-tenant', value: 'acme' }],
      properties: { region: 'eu' },
      endpoints: [
        {
          url: `${ctx.receiver.url}/preview/real?fixed=1`,
          queryParams: [{ key: 'source', value: 'hookline' }],
          headers: [{ key: 'x-team', value: 'crm' }],
          auth: { bearerToken: 'receiver-credential' },
        },
      ],
      triggers: [{ resource: 'order', event: 'created' }],
    });
    const endpointId = webhook.endpoints[0].id;
    const before = ctx.receiver.requests.length;
    const { publishEvent } = await ctx.t.gql.ok('mutation ($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }', {
      input: { type: 'order.created', data: { orderId: 42, total: 99.5 }, context: { login: 'alice' } },
    });
    const [received] = (await ctx.receiver.waitFor(before + 1)).slice(before);

    const p = await preview({ endpointId, eventId: publishEvent.event.id });
    expect(p.method).toBe(received.method);
    expect(p.url).toBe(`${ctx.receiver.url}${received.url}`);
    expect(p.url).toBe(`${ctx.receiver.url}/preview/real?fixed=1&source=hookline`);
    expect(p.body).toBe(received.body);
    expect(JSON.parse(p.body!)).toMatchObject({ event_id: publishEvent.event.id, event_type: 'order.created', region: 'eu' });

    // Every header the receiver got is in the preview with the same value, except the per-request timestamp and
    // signature, and the credential, which the preview shows redacted.
    const shown = headerMap(p.headers);
    expect(shown.authorization).toBe('[redacted]');
    expect(received.headers.authorization).toBe('Bearer receiver-credential');
    for (const { key } of p.headers) {
      const name = key.toLowerCase();
      if (['webhook-timestamp', 'webhook-signature', 'authorization'].includes(name)) continue;
      expect(received.headers[name], name).toBe(shown[name]);
    }
    expect(shown).toMatchObject({ 'x-tenant': 'acme', 'x-team': 'crm', 'webhook-id': publishEvent.event.id });

    // The signature is over the shown body with the webhook's secret: standardwebhooks verifies it.
    const verified = new Webhook(secret).verify(p.body!, {
      'webhook-id': shown['webhook-id'],
      'webhook-timestamp': shown['webhook-timestamp'],
      'webhook-signature': shown['webhook-signature'],
    });
    expect(verified).toEqual(JSON.parse(received.body));
    expect(() => new Webhook(`whsec_${Buffer.alloc(24, 1).toString('base64')}`).verify(p.body!, {
      'webhook-id': shown['webhook-id'],
      'webhook-timestamp': shown['webhook-timestamp'],
      'webhook-signature': shown['webhook-signature'],
    })).toThrow();

    // Nothing was sent for the preview.
    await new Promise((r) => setTimeout(r, 200));
    expect(ctx.receiver.requests.length).toBe(before + 1);
  });

  it('previews an endpoint being written, for a sample event: template, GET without body, API key redacted', async () => {
    const { webhook, secret } = await createWebhook(ctx.t.gql, { name: 'Drafts', properties: { plan: 'gold' } });
    const templated = await preview({
      webhookId: webhook.id,
      endpoint: {
        url: 'https://example.com/hooks',
        method: 'PUT',
        contentType: 'text/plain',
        bodyTemplate: '{"text": "{{ event.type }} for {{ event.context.login }} on {{ properties.plan }} ({{ webhook.name }})"}',
        auth: { apiKey: 'k-123', apiKeyHeader: 'x-secret-key' },
      },
      event: { type: 'contact.created', data: { name: 'Ada' }, context: { login: 'alice' } },
    });
    expect(templated).toMatchObject({ method: 'PUT', url: 'https://example.com/hooks', body: '{"text": "contact.created for alice on gold (Drafts)"}' });
    const shown = headerMap(templated.headers);
    expect(shown['content-type']).toBe('text/plain');
    expect(shown['x-secret-key']).toBe('[redacted]');
    expect(shown['user-agent']).toMatch(/^Hookline\//);
    // A request Hookline would not send is signed with a throwaway secret: same form, but no receiver accepts it.
    expect(shown['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(() => new Webhook(secret).verify(templated.body!, shown)).toThrow();

    // A webhook not created yet (the console's wizard) gives its name, headers and properties itself.
    const draft = await preview({
      endpoint: { url: 'https://example.com/hooks', bodyTemplate: '{"hook": "{{ webhook.name }}", "plan": "{{ properties.plan }}"}' },
      webhook: { name: 'Wizard draft', headers: [{ key: 'x-tenant', value: 't1' }], properties: { plan: 'silver' } },
      event: { type: 'contact.created' },
    });
    expect(draft.body).toBe('{"hook": "Wizard draft", "plan": "silver"}');
    expect(headerMap(draft.headers)['x-tenant']).toBe('t1');

    const get = await preview({ endpoint: { url: 'https://example.com/poll', method: 'GET', queryParams: [{ key: 'q', value: 'a b' }] }, event: { type: 'a.b' } });
    expect(get.body).toBeNull();
    expect(get.url).toBe('https://example.com/poll?q=a+b');
    expect(headerMap(get.headers)['content-type']).toBeUndefined();
    // Without a webhook (one being created in the console) a throwaway secret signs: still a valid signature form.
    expect(headerMap(get.headers)['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
  });

  it("is no signing oracle: only a stored event's real delivery to a stored endpoint is signed with the webhook's secret", async () => {
    // A VIEWER may preview, but must not get a signature its team's receivers accept over a body of its choosing.
    const team = (await ctx.t.gql.ok('mutation { createTeam(name: "preview viewers") { id } }')).createTeam.id;
    const { token } = await insertToken(ctx.t.app.services.db, { name: 'preview-viewer', role: 'VIEWER', teamId: team, createdBy: 'test' });
    const viewer = ctx.t.gql.as(token);
    const { webhook, secret } = await createWebhook(ctx.t.gql, {
      name: 'Oracle',
      teamId: team,
      endpoints: [{ url: `${ctx.receiver.url}/preview/oracle` }],
      triggers: [{ resource: 'order', event: 'created' }],
    });
    // A second webhook of the team gets the other event, so the viewer can see that event too.
    await createWebhook(ctx.t.gql, { name: 'Oracle 2', teamId: team, endpoints: [{ url: `${ctx.receiver.url}/preview/other` }], triggers: [{ resource: 'invoice', event: 'paid' }] });
    const endpointId = webhook.endpoints[0].id;
    const publish = async (type: string) =>
      (await ctx.t.gql.ok('mutation ($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }', { input: { type, data: { n: 1 } } }))
        .publishEvent.event.id as string;
    const delivered = await publish('order.created');
    const deliveredElsewhere = await publish('invoice.paid');

    const verifies = (p: Preview) => {
      try {
        new Webhook(secret).verify(p.body!, headerMap(p.headers));
        return true;
      } catch {
        return false;
      }
    };
    const asViewer = async (variables: Record<string, unknown>) => (await viewer.ok(PREVIEW, variables)).previewRequest as Preview;
    const forged = [
      { webhookId: webhook.id, endpoint: { url: 'https://example.com/x', bodyTemplate: '{"refund": 1000}' }, event: { type: 'order.created' } },
      { endpointId, event: { type: 'order.created', data: { refund: 1000 } } },
      { endpointId, eventId: deliveredElsewhere },
    ];
    for (const variables of forged) expect(verifies(await asViewer(variables)), JSON.stringify(variables)).toBe(false);
    // What Hookline really sends (the CLI's listen forwards it) still verifies, for any role.
    expect(verifies(await asViewer({ endpointId, eventId: delivered }))).toBe(true);
  });

  it('refuses bad arguments with BAD_USER_INPUT naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ event: { type: 'a.b' } }, 'endpointId'],
      [{ endpointId: 'ep_x', endpoint: { url: 'https://example.com' }, event: { type: 'a.b' } }, 'endpointId'],
      [{ endpoint: { url: 'https://example.com' } }, 'eventId'],
      [{ endpoint: { url: 'ftp://example.com' }, event: { type: 'a.b' } }, 'endpoint.url'],
      [{ endpoint: { url: 'https://example.com' }, event: { type: 'nodot' } }, 'event.type'],
      [{ endpoint: { url: 'https://example.com', bodyTemplate: '{{ event.data | nosuchfilter }}' }, event: { type: 'a.b' } }, 'endpoint.bodyTemplate'],
      [{ endpoint: { kind: 'EMAIL', emailTo: ['a@example.com'] }, event: { type: 'a.b' } }, 'endpoint'],
      [{ endpoint: { url: 'https://example.com' }, webhook: { headers: [{ key: 'webhook-id', value: 'x' }] }, event: { type: 'a.b' } }, 'webhook.headers[0].key'],
    ];
    for (const [variables, field] of cases) {
      const result = await ctx.t.gql(PREVIEW, variables);
      expect(result.errors?.[0]?.extensions, JSON.stringify(variables)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const missing = await ctx.t.gql(PREVIEW, { endpointId: 'ep_nope', event: { type: 'a.b' } });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'endpointId' });
  });
});
