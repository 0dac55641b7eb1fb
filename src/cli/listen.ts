import { request } from 'undici';
import { CliError, causeOf, describeErrors, graphql, liveClient, type ApiTarget } from './api.js';
import { clock, statusStyle, type Painter } from './output.js';
import { REDACTED } from '../security/redact.js';

export interface ListenOptions {
  webhookId: string;
  endpointId?: string;
  forwardTo: URL;
  out: NodeJS.WritableStream;
  paint: Painter;
}

const DELIVERIES = `subscription ($webhookId: ID, $endpointId: ID) {
  deliveryUpdated(webhookId: $webhookId, endpointId: $endpointId) { id status event { id type } endpoint { id kind } }
}`;

const PREVIEW = `query ($endpointId: ID!, $eventId: ID!) {
  previewRequest(endpointId: $endpointId, eventId: $eventId) { method url headers { key value } body }
}`;

interface Preview {
  method: string;
  url: string;
  headers: { key: string; value: string }[];
  body: string | null;
}

interface Delivery {
  id: string;
  status: string;
  event: { id: string; type: string };
  endpoint: { id: string; kind: string };
}

/** Set by the connection itself; a forwarded request gets its own. */
const NOT_FORWARDED = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive']);

/**
 * `hookline listen`: every new delivery of the webhook (a delivery announced PENDING, replays included) is built
 * again by previewRequest, exactly as Hookline sends it (headers, signature, body), and sent to --forward-to; one
 * line per delivery with the local answer. Resolves with the exit code when SIGINT/SIGTERM ends it (summary
 * printed) or the subscription fails.
 */
export async function listen(target: ApiTarget, options: ListenOptions): Promise<number> {
  const { out, paint, forwardTo } = options;
  const { node: webhook } = await graphql<{ node: { __typename: string; name?: string } | null }>(
    target,
    'query ($id: ID!) { node(id: $id) { __typename ... on Webhook { name } } }',
    { id: options.webhookId },
  );
  if (webhook?.__typename !== 'Webhook') throw new CliError(`--webhook: no webhook "${options.webhookId}" for this token`);

  const seen = new Set<string>();
  const totals = { forwarded: 0, ok: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();

  const forward = async (delivery: Delivery) => {
    const started = performance.now();
    let answer: string;
    try {
      const { previewRequest: preview } = await graphql<{ previewRequest: Preview }>(target, PREVIEW, {
        endpointId: delivery.endpoint.id,
        eventId: delivery.event.id,
      });
      const headers: Record<string, string> = {};
      for (const { key, value } of preview.headers) {
        // Credentials are never shown by previewRequest, so there is nothing to pass on for them.
        if (!NOT_FORWARDED.has(key.toLowerCase()) && value !== REDACTED) headers[key] = value;
      }
      const response = await request(forwardTo, {
        method: preview.method as 'POST',
        headers,
        body: preview.method === 'GET' ? undefined : (preview.body ?? undefined),
      });
      await response.body.dump();
      const ms = Math.round(performance.now() - started);
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      totals[ok ? 'ok' : 'failed']++;
      answer = `${paint(statusStyle(response.statusCode), String(response.statusCode))} ${paint('dim', `${ms} ms`)}`;
    } catch (err) {
      totals.failed++;
      answer = paint('red', `error: ${err instanceof CliError ? err.message : causeOf(err)}`);
    }
    totals.forwarded++;
    out.write(`${paint('dim', clock())} ${paint('bold', delivery.event.type)} ${delivery.event.id} → ${answer}\n`);
  };

  const client = liveClient(target, {
    closed: () => out.write(paint('yellow', 'connection to Hookline lost; reconnecting…') + '\n'),
  });
  return new Promise<number>((resolve) => {
    let ended = false;
    const end = async (code: number) => {
      if (ended) return;
      ended = true;
      unsubscribe();
      await Promise.allSettled(inFlight);
      await client.dispose();
      const { forwarded, ok, failed } = totals;
      out.write(
        `\n${paint('bold', 'Summary')}: ${forwarded} ${forwarded === 1 ? 'delivery' : 'deliveries'} forwarded, ` +
          `${paint('green', `${ok} answered 2xx`)}, ${paint(failed ? 'red' : 'dim', `${failed} failed`)}\n`,
      );
      resolve(code);
    };
    const unsubscribe = client.subscribe<{ deliveryUpdated: Delivery }>(
      { query: DELIVERIES, variables: { webhookId: options.webhookId, endpointId: options.endpointId ?? null } },
      {
        next: ({ data, errors }) => {
          if (errors?.length) out.write(paint('red', describeErrors(errors)) + '\n');
          const delivery = data?.deliveryUpdated;
          // PENDING is how a delivery starts (a replay too); later statuses of it are the real send's business.
          // E-mail endpoints have no HTTP request to forward.
          if (!delivery || delivery.status !== 'PENDING' || delivery.endpoint.kind !== 'HTTP' || seen.has(delivery.id)) return;
          seen.add(delivery.id);
          const sending = forward(delivery).finally(() => inFlight.delete(sending));
          inFlight.add(sending);
        },
        error: (err) => {
          out.write(paint('red', `the subscription failed: ${Array.isArray(err) ? describeErrors(err) : causeOf(err)}`) + '\n');
          void end(1);
        },
        complete: () => void end(0),
      },
    );
    process.once('SIGINT', () => void end(0));
    process.once('SIGTERM', () => void end(0));
    out.write(
      `${paint('green', 'Ready!')} Forwarding new deliveries of ${paint('bold', webhook.name ?? options.webhookId)} ` +
        `(${options.webhookId}) to ${paint('cyan', forwardTo.toString())}. Ctrl-C to stop.\n`,
    );
  });
}
