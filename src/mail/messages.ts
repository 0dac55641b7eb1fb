import type { DeliveryJob } from '../delivery/job.js';
import type { MailMessage } from './mailer.js';

/** The mail an EMAIL endpoint gets for an event: the type in the subject, the data as readable text and as JSON. */
export function eventMail(job: DeliveryJob): MailMessage {
  const { event } = job;
  const lines = [
    `Event:       ${event.type}`,
    `Id:          ${event.id}`,
    `Occurred at: ${event.occurredAt.toISOString()}`,
    `Webhook:     ${job.webhook.name} (${job.webhook.id})`,
    '',
    'Data:',
    ...readable(event.data, '  '),
  ];
  if (event.context && Object.keys(event.context).length > 0) lines.push('', 'Context:', ...readable(event.context, '  '));
  lines.push('', 'Data as JSON:', JSON.stringify(event.data, null, 2), '');
  return {
    to: job.endpoint.emailTo ?? [],
    subject: `[Hookline] ${event.type} (${event.id})`,
    text: lines.join('\n'),
  };
}

/** Nested data as indented "key: value" lines. */
function readable(value: unknown, indent: string): string[] {
  if (value === null || typeof value !== 'object') return [`${indent}${JSON.stringify(value)}`];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return [`${indent}${Array.isArray(value) ? '[]' : '{}'}`];
  return entries.flatMap(([key, v]) =>
    v !== null && typeof v === 'object'
      ? [`${indent}${key}:`, ...readable(v, indent + '  ')]
      : [`${indent}${key}: ${typeof v === 'string' ? v : JSON.stringify(v)}`],
  );
}

export interface DisabledEndpoint {
  webhookId: string;
  webhookName: string;
  endpointId: string;
  /** The URL, or the addresses of an EMAIL endpoint. */
  target: string;
  failures: number;
  lastError: string;
}

/** The notice sent once when an endpoint is switched to TOO_MANY_ERRORS. */
export function endpointDisabledMail(to: string, info: DisabledEndpoint): MailMessage {
  return {
    to: [to],
    subject: `[Hookline] Endpoint of webhook "${info.webhookName}" disabled after ${info.failures} failed attempts`,
    text: [
      `Hookline stopped delivering to an endpoint of the webhook "${info.webhookName}" (${info.webhookId}).`,
      '',
      `Endpoint:   ${info.endpointId}`,
      `Target:     ${info.target}`,
      `Failures:   ${info.failures} failed attempts in a row`,
      `Last error: ${info.lastError}`,
      '',
      'Its state is now TOO_MANY_ERRORS. Deliveries for it are held, not lost: they are sent once it is active again.',
      'When the receiver works again, re-enable the endpoint in the console or with this GraphQL mutation:',
      '',
      `  mutation { setEndpointState(id: "${info.endpointId}", state: ACTIVE) { id state } }`,
      '',
    ].join('\n'),
  };
}
