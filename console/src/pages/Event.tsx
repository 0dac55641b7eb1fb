import { useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { DeliveryRowFields } from '../deliveryFeed.js';
import { DeliveryTable, endpointLabel } from '../deliveryTable.js';
import { graphql, type ResultOf } from '../graphql.js';
import { Badge, ErrorNotice, Field, Json, MissingPage, Page, Section, Time } from '../ui.js';
import { useWebhookChoices, WebhookSelect } from './Deliveries.js';

const EventDetails = graphql(
  `
  query EventDetails($id: ID!) {
    node(id: $id) {
      ... on Event {
        id type occurredAt createdAt context data
        deliveries { ...DeliveryRow }
      }
    }
  }
`,
  [DeliveryRowFields],
);

const ExplainMatch = graphql(`
  query ExplainMatch($eventId: ID!, $webhookId: ID!) {
    explainMatch(eventId: $eventId, webhookId: $webhookId) {
      matched wouldDeliver summary webhookState
      forLogin { expected actual matched }
      triggers {
        trigger { id eventType }
        resource { expected actual matched }
        event { expected actual matched }
        filter { path expected actual found matched }
        matched
      }
      endpoints { endpoint { id kind url emailTo } state allowed reason }
    }
  }
`);

type Explanation = ResultOf<typeof ExplainMatch>['explainMatch'];

export function EventPage({ id }: { id: string }) {
  const [result] = useQuery({ query: EventDetails, variables: { id } });
  const event = result.data?.node && 'deliveries' in result.data.node ? result.data.node : undefined;
  if (!event) {
    return <MissingPage title="Event" result={result} />;
  }
  return (
    <Page title={<>Event <span className="mono">{event.type}</span></>} subtitle={<span className="mono">{event.id}</span>}>
      <dl className="facts">
        <div>
          <dt>Occurred</dt>
          <dd>
            <Time value={event.occurredAt} />
          </dd>
        </div>
        <div>
          <dt>Accepted</dt>
          <dd>
            <Time value={event.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Deliveries</dt>
          <dd>{event.deliveries.length}</dd>
        </div>
      </dl>
      <Section title="Event">
        <div className="two-columns">
          <div>
            <h3>Data</h3>
            <Json value={event.data} />
          </div>
          <div>
            <h3>Context</h3>
            <Json value={event.context} />
          </div>
        </div>
      </Section>
      <Section title="Deliveries">
        <DeliveryTable rows={event.deliveries} empty="No webhook got this event." />
      </Section>
      <WhyMatch eventId={event.id} />
    </Page>
  );
}

/** "Why did / didn't it match?": explainMatch for a webhook picked from the list. */
function WhyMatch({ eventId }: { eventId: string }) {
  const webhooks = useWebhookChoices();
  const [webhookId, setWebhookId] = useState('');
  const [result] = useQuery({ query: ExplainMatch, variables: { eventId, webhookId }, pause: !webhookId, requestPolicy: 'network-only' });
  const explanation = webhookId ? result.data?.explainMatch : undefined;
  return (
    <Section title="Why did / didn't it match?">
      <div className="toolbar">
        <Field label="Webhook">
          {(id) => <WebhookSelect id={id} webhooks={webhooks} value={webhookId} onChange={setWebhookId} emptyLabel="Choose a webhook…" />}
        </Field>
      </div>
      <ErrorNotice error={webhookId ? result.error : undefined} />
      {explanation && <ExplanationView explanation={explanation} />}
    </Section>
  );
}

const Check = ({ ok }: { ok: boolean }) => (
  <span className={`check ${ok ? 'good' : 'bad'}`} aria-label={ok ? 'holds' : 'fails'}>
    {ok ? '✓' : '✗'}
  </span>
);

const show = (value: unknown) => (value === null || value === undefined ? '—' : JSON.stringify(value));

function ExplanationView({ explanation: x }: { explanation: Explanation }) {
  return (
    <div className="explanation" data-testid="match-explanation" data-matched={x.matched} data-would-deliver={x.wouldDeliver}>
      <p className={`notice ${x.wouldDeliver ? 'info' : 'warn'}`} role="status">
        {x.summary}
      </p>
      <table className="table">
        <thead>
          <tr>
            <th>Rule</th>
            <th>Expected</th>
            <th>Event has</th>
            <th>Holds</th>
          </tr>
        </thead>
        <tbody>
          <tr data-rule="webhook-state">
            <td>Webhook state</td>
            <td>ACTIVE</td>
            <td>
              <Badge value={x.webhookState} />
            </td>
            <td>
              <Check ok={x.webhookState === 'ACTIVE'} />
            </td>
          </tr>
          <RuleRow
            rule="for-login"
            label="For login (context.login)"
            expected={x.forLogin.expected === null ? 'any' : show(x.forLogin.expected)}
            actual={show(x.forLogin.actual)}
            ok={x.forLogin.matched}
          />
          {x.triggers.map((t, i) => (
            <TriggerRows key={t.trigger.id} index={i} check={t} />
          ))}
          {x.endpoints.map((e) => (
            <tr key={e.endpoint.id} data-rule="endpoint">
              <td>Endpoint {endpointLabel(e.endpoint)}</td>
              <td>ACTIVE</td>
              <td>
                <Badge value={e.state} />
              </td>
              <td>
                <Check ok={e.allowed} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {x.triggers.length === 0 && <p className="muted small">The webhook has no triggers.</p>}
      {x.endpoints.length === 0 && <p className="muted small">The webhook has no endpoints.</p>}
    </div>
  );
}

/** A rule that compares a value: what the webhook expects and what the event has (both as written), and whether it holds. */
function RuleRow({ rule, path, label, expected, actual, ok, indent = false }: {
  rule: string;
  path?: string;
  label: ReactNode;
  expected: string;
  actual: string;
  ok: boolean;
  /** A part of the trigger row above. */
  indent?: boolean;
}) {
  return (
    <tr data-rule={rule} data-path={path}>
      <td className={indent ? 'indent' : undefined}>{label}</td>
      <td className="mono">{expected}</td>
      <td className="mono">{actual}</td>
      <td>
        <Check ok={ok} />
      </td>
    </tr>
  );
}

function TriggerRows({ index, check }: { index: number; check: Explanation['triggers'][number] }) {
  const label = `Trigger ${index + 1} (${check.trigger.eventType})`;
  return (
    <>
      <tr data-rule="trigger" data-matched={check.matched} className="rule-group">
        <td>
          <strong>{label}</strong>
        </td>
        <td colSpan={2} className="muted small">
          {check.matched ? 'matches' : 'does not match'}
        </td>
        <td>
          <Check ok={check.matched} />
        </td>
      </tr>
      <RuleRow indent rule="resource" label="resource" expected={check.resource.expected as string} actual={check.resource.actual as string} ok={check.resource.matched} />
      <RuleRow indent rule="event" label="event" expected={check.event.expected as string} actual={check.event.actual as string} ok={check.event.matched} />
      {check.filter.map((f) => (
        <RuleRow
          key={f.path}
          indent
          rule="filter"
          path={f.path}
          label={<>filter <span className="mono">{f.path}</span></>}
          expected={show(f.expected)}
          actual={f.found ? show(f.actual) : 'not present'}
          ok={f.matched}
        />
      ))}
    </>
  );
}
