import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery, useSubscription, type CombinedError } from 'urql';
import { DeliveryRowFields } from '../deliveryFeed.js';
import { endpointLabel } from '../deliveryTable.js';
import { formatDuration, prettyBody } from '../format.js';
import { graphql, type ResultOf } from '../graphql.js';
import { Link, navigate } from '../router.js';
import { Badge, Empty, ErrorNotice, Json, KeyValues, MissingPage, Page, Section, Time } from '../ui.js';

const DeliveryDetails = graphql(
  `
  query DeliveryDetails($id: ID!) {
    node(id: $id) {
      ... on Delivery {
        ...DeliveryRow
        event { id type occurredAt context data }
        endpoint { id state method }
        attempts {
          number startedAt durationMs error
          requestUrl requestHeaders { key value } requestBody
          responseStatus responseHeaders { key value } responseBody
        }
      }
    }
  }
`,
  [DeliveryRowFields],
);

const DeliveryChanged = graphql(`
  subscription DeliveryChanged {
    deliveryUpdated { id updatedAt }
  }
`);

const UNFINISHED = ['PENDING', 'SENDING', 'RETRYING'];

const ReplayDelivery = graphql(`
  mutation ReplayDelivery($id: ID!) {
    replayDelivery(id: $id) { delivery { id } }
  }
`);

type Attempt = NonNullable<Extract<ResultOf<typeof DeliveryDetails>['node'], { attempts: unknown }>>['attempts'][number];

export function DeliveryPage({ id }: { id: string }) {
  const [result, refetch] = useQuery({ query: DeliveryDetails, variables: { id }, requestPolicy: 'network-only' });
  const delivery = result.data?.node && 'attempts' in result.data.node ? result.data.node : undefined;
  // While it is open, a change to this delivery (a new attempt, a new status) reloads it. The subscription starts
  // with the page, not after the first load, so that it is listening by the time the delivery is first sent.
  const [changed] = useSubscription({ query: DeliveryChanged });
  const change = changed.data?.deliveryUpdated;
  useEffect(() => {
    if (change?.id === id) refetch({ requestPolicy: 'network-only' });
  }, [change?.id, change?.updatedAt]);
  // A backstop for a change made before the subscription was listening: look again now and then until it ends.
  const unfinished = Boolean(delivery && UNFINISHED.includes(delivery.status));
  useEffect(() => {
    if (!unfinished) return;
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), 5000);
    return () => clearInterval(timer);
  }, [unfinished]);
  const [replay, replayDelivery] = useMutation(ReplayDelivery);
  const [replayError, setReplayError] = useState<CombinedError>();

  if (!delivery) {
    return <MissingPage title="Delivery" result={result} />;
  }
  const doReplay = async () => {
    const outcome = await replayDelivery({ id }, { additionalTypenames: ['Delivery'] });
    if (outcome.data) navigate(`/deliveries/${outcome.data.replayDelivery.delivery.id}`);
    else setReplayError(outcome.error);
  };
  return (
    <Page
      title={
        <>
          Delivery <Badge value={delivery.status} />
        </>
      }
      subtitle={<span className="mono">{delivery.id}</span>}
      actions={
        <button type="button" className="primary" onClick={doReplay} disabled={replay.fetching}>
          Replay
        </button>
      }
    >
      <ErrorNotice error={replayError} />
      <dl className="facts">
        <div>
          <dt>Webhook</dt>
          <dd>
            <Link to={`/webhooks/${delivery.webhook.id}`}>{delivery.webhook.name}</Link>
          </dd>
        </div>
        <div className="span-2">
          <dt>Endpoint</dt>
          <dd className="mono small">
            {delivery.endpoint.kind === 'HTTP' && `${delivery.endpoint.method} `}
            {endpointLabel(delivery.endpoint)} {delivery.endpoint.state !== 'ACTIVE' && <Badge value={delivery.endpoint.state} />}
          </dd>
        </div>
        <div className="span-2">
          <dt>Event</dt>
          <dd className="mono small">
            <Link to={`/events/${delivery.event.id}`}>
              {delivery.event.type} · {delivery.event.id}
            </Link>
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <Time value={delivery.createdAt} />
          </dd>
        </div>
        <div>
          <dt>{delivery.completedAt ? 'Completed' : 'Next attempt'}</dt>
          <dd>
            <Time value={delivery.completedAt ?? delivery.nextAttemptAt} />
          </dd>
        </div>
        {delivery.replayOf && (
          <div>
            <dt>Replay of</dt>
            <dd>
              <Link to={`/deliveries/${delivery.replayOf.id}`} className="mono small">
                {delivery.replayOf.id}
              </Link>
            </dd>
          </div>
        )}
      </dl>
      <Section title={`Attempts (${delivery.attempts.length})`}>
        {delivery.attempts.length === 0 ? (
          <Empty>No attempt yet.</Empty>
        ) : (
          [...delivery.attempts].reverse().map((attempt) => <AttemptCard key={attempt.number} attempt={attempt} method={delivery.endpoint.method} />)
        )}
      </Section>
      <Section title="Event">
        <div className="two-columns">
          <div>
            <h3>Data</h3>
            <Json value={delivery.event.data} />
          </div>
          <div>
            <h3>Context</h3>
            <Json value={delivery.event.context} />
          </div>
        </div>
      </Section>
    </Page>
  );
}

export function AttemptCard({ attempt, method, title }: { attempt: Attempt; method: string; title?: string }) {
  const ok = attempt.responseStatus != null && attempt.responseStatus >= 200 && attempt.responseStatus < 300;
  const body = useMemo(() => prettyBody(attempt.responseBody), [attempt.responseBody]);
  return (
    <article className={`attempt ${ok ? 'ok' : 'failed'}`} data-testid="attempt">
      <header>
        <strong>{title ?? `Attempt ${attempt.number}`}</strong>
        <Time value={attempt.startedAt} />
        <span>{formatDuration(attempt.durationMs)}</span>
        {attempt.responseStatus != null ? (
          <span className={`status-code ${ok ? 'good' : 'bad'}`}>HTTP {attempt.responseStatus}</span>
        ) : (
          <span className="status-code bad">no response</span>
        )}
      </header>
      {attempt.error && <p className="attempt-error">{attempt.error}</p>}
      <div className="two-columns">
        <div>
          <h3>Request</h3>
          <p className="mono small break">
            {method} {attempt.requestUrl}
          </p>
          <KeyValues pairs={attempt.requestHeaders} />
          {attempt.requestBody ? <pre className="code">{prettyBody(attempt.requestBody)}</pre> : <p className="muted small">No body</p>}
        </div>
        <div>
          <h3>Response</h3>
          {attempt.responseHeaders ? <KeyValues pairs={attempt.responseHeaders} /> : <p className="muted small">No response</p>}
          {body ? <pre className="code">{body}</pre> : attempt.responseHeaders && <p className="muted small">Empty body</p>}
        </div>
      </div>
    </article>
  );
}
