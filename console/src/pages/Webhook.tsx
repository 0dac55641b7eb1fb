import { useState } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { AuditLog } from '../auditLog.js';
import { useDeliveryFeed } from '../deliveryFeed.js';
import { DeliveryTable, endpointLabel } from '../deliveryTable.js';
import { FeedTokensSection } from '../feedTokens.js';
import { graphql, type ResultOf } from '../graphql.js';
import { HealthNumbers, useWebhookHealth, type Health } from '../health.js';
import { Link, navigate } from '../router.js';
import { SendHistoryDialog } from '../replayJobs.js';
import { revealSecret, takeSecret } from '../secrets.js';
import { Badge, ConfirmDialog, Empty, ErrorNotice, Json, KeyValues, Loading, MissingPage, Page, Section, ShownOnce, Time } from '../ui.js';
import { AttemptCard } from './Delivery.js';
import { DeleteWebhook } from './Webhooks.js';

const WebhookDetails = graphql(`
  query WebhookDetails($id: ID!) {
    node(id: $id) {
      ... on Webhook {
        id name description state ownerLogin forLogin notifyEmail properties
        createdAt createdBy updatedAt updatedBy previousSecretExpiresAt
        team { id name }
        headers { key value }
        endpoints {
          id kind state updatedAt url method contentType timeoutMs emailTo consecutiveFailures hasAuth bodyTemplate
          queryParams { key value }
          headers { key value }
        }
        triggers { id resource event eventType filter }
      }
    }
  }
`);

const SetWebhookState = graphql(`
  mutation SetWebhookState($id: ID!, $state: State!) {
    setWebhookState(id: $id, state: $state) { id state }
  }
`);

const SetEndpointState = graphql(`
  mutation SetEndpointState($id: ID!, $state: State!) {
    setEndpointState(id: $id, state: $state) { id state updatedAt consecutiveFailures }
  }
`);

const TestEndpoint = graphql(`
  mutation TestEndpoint($id: ID!) {
    testEndpoint(id: $id) {
      number startedAt durationMs error
      requestUrl requestHeaders { key value } requestBody
      responseStatus responseHeaders { key value } responseBody
    }
  }
`);

const RotateSecret = graphql(`
  mutation RotateSecret($id: ID!) {
    rotateWebhookSecret(id: $id) { secret webhook { id previousSecretExpiresAt } }
  }
`);

type Webhook = Extract<NonNullable<ResultOf<typeof WebhookDetails>['node']>, { endpoints: unknown }>;
type Endpoint = Webhook['endpoints'][number];

export function WebhookPage({ id }: { id: string }) {
  const [result] = useQuery({ query: WebhookDetails, variables: { id } });
  const webhook = result.data?.node && 'endpoints' in result.data.node ? result.data.node : undefined;
  const [secret, setSecret] = useState(() => takeSecret(id));
  const [confirming, setConfirming] = useState<'delete' | 'rotate'>();
  const [, setWebhookState] = useMutation(SetWebhookState);
  const [, deleteWebhook] = useMutation(DeleteWebhook);
  const [, rotateSecret] = useMutation(RotateSecret);
  const [stateError, setStateError] = useState<CombinedError>();
  const health = useWebhookHealth(id);

  if (!webhook) {
    return <MissingPage title="Webhook" result={result} />;
  }
  const toggle = async () => {
    const outcome = await setWebhookState({ id, state: webhook.state === 'ACTIVE' ? 'STOPPED' : 'ACTIVE' });
    setStateError(outcome.error);
  };
  return (
    <Page
      title={
        <>
          {webhook.name} <Badge value={webhook.state} />
        </>
      }
      subtitle={webhook.description ?? <span className="mono">{webhook.id}</span>}
      actions={
        <>
          <button type="button" onClick={toggle}>
            {webhook.state === 'ACTIVE' ? 'Stop' : 'Start'}
          </button>
          <button type="button" onClick={() => setConfirming('rotate')}>
            Rotate secret
          </button>
          <button type="button" className="danger" onClick={() => setConfirming('delete')}>
            Delete
          </button>
        </>
      }
    >
      <ErrorNotice error={stateError} />
      {secret && (
        <ShownOnce title="Signing secret." value={secret} testId="secret" onHide={() => setSecret(undefined)}>
          Receivers verify the <code>webhook-signature</code> header with it.
        </ShownOnce>
      )}
      {webhook.previousSecretExpiresAt && (
        <p className="notice info">
          The previous secret still signs deliveries too until <Time value={webhook.previousSecretExpiresAt} />.
        </p>
      )}
      <HealthNumbers health={health} />
      <Section title={`Endpoints (${webhook.endpoints.length})`}>
        {webhook.endpoints.length === 0 ? (
          <Empty>No endpoints: this webhook sends nothing.</Empty>
        ) : (
          webhook.endpoints.map((endpoint) => <EndpointCard key={endpoint.id} endpoint={endpoint} health={health} />)
        )}
      </Section>
      <Section title={`Triggers (${webhook.triggers.length})`}>
        {webhook.triggers.length === 0 ? (
          <Empty>No triggers: no event reaches this webhook.</Empty>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Event type</th>
                <th>Filter</th>
              </tr>
            </thead>
            <tbody>
              {webhook.triggers.map((trigger) => (
                <tr key={trigger.id}>
                  <td className="mono">{trigger.eventType}</td>
                  <td className="mono small">{trigger.filter ? JSON.stringify(trigger.filter) : <span className="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Settings">
        <div className="panel">
          <dl className="facts">
            <div>
              <dt>ID</dt>
              <dd className="mono small">{webhook.id}</dd>
            </div>
            <div>
              <dt>Team</dt>
              <dd>{webhook.team?.name ?? <span className="muted">none (admins only)</span>}</dd>
            </div>
            <div>
              <dt>Login</dt>
              <dd>{webhook.ownerLogin ?? <span className="muted">—</span>}</dd>
            </div>
            <div>
              <dt>For login</dt>
              <dd>{webhook.forLogin ?? <span className="muted">any</span>}</dd>
            </div>
            <div>
              <dt>Notify e-mail</dt>
              <dd>{webhook.notifyEmail ?? <span className="muted">—</span>}</dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>
                <Time value={webhook.createdAt} /> {webhook.createdBy && <span className="muted">by {webhook.createdBy}</span>}
              </dd>
            </div>
            <div>
              <dt>Updated</dt>
              <dd>
                <Time value={webhook.updatedAt} /> {webhook.updatedBy && <span className="muted">by {webhook.updatedBy}</span>}
              </dd>
            </div>
          </dl>
          <div className="two-columns">
            <div>
              <h3>Headers</h3>
              <KeyValues pairs={webhook.headers} />
            </div>
            <div>
              <h3>Properties</h3>
              <Json value={webhook.properties} />
            </div>
          </div>
        </div>
      </Section>
      <WebhookDeliveries webhookId={id} />
      <FeedTokensSection webhookId={id} />
      <AuditLog webhookId={id} />
      <ConfirmDialog
        open={confirming === 'delete'}
        title="Delete webhook?"
        confirmLabel="Delete"
        danger
        onClose={() => setConfirming(undefined)}
        onConfirm={async () => {
          const outcome = await deleteWebhook({ id }, { additionalTypenames: ['Webhook', 'Delivery'] });
          if (!outcome.error) navigate('/webhooks');
          return outcome.error;
        }}
      >
        <p>
          <strong>{webhook.name}</strong> will be deleted with its endpoints, triggers and delivery history. This cannot
          be undone.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirming === 'rotate'}
        title="Rotate the signing secret?"
        confirmLabel="Rotate"
        onClose={() => setConfirming(undefined)}
        onConfirm={async () => {
          const outcome = await rotateSecret({ id });
          if (outcome.data) {
            revealSecret(id, outcome.data.rotateWebhookSecret.secret);
            setSecret(takeSecret(id));
          }
          return outcome.error;
        }}
      >
        <p>
          A new secret is made and shown once. For a while deliveries carry signatures with both the old and the new
          secret, so receivers can switch over.
        </p>
      </ConfirmDialog>
    </Page>
  );
}

/** The endpoint's state: as loaded, or as last pushed with the webhook's health when that is newer. */
function currentState(endpoint: Endpoint, health: Health | undefined): Endpoint['state'] {
  const pushed = health?.endpoints.find((e) => e.id === endpoint.id);
  return pushed && Date.parse(health!.updatedAt) > Date.parse(endpoint.updatedAt) ? pushed.state : endpoint.state;
}

function EndpointCard({ endpoint, health }: { endpoint: Endpoint; health: Health | undefined }) {
  const state = currentState(endpoint, health);
  const [, setEndpointState] = useMutation(SetEndpointState);
  const [test, testEndpoint] = useMutation(TestEndpoint);
  const [error, setError] = useState<CombinedError>();
  const [sendingHistory, setSendingHistory] = useState(false);
  const next = state === 'ACTIVE' ? 'STOPPED' : 'ACTIVE';
  const setState = async () => setError((await setEndpointState({ id: endpoint.id, state: next })).error);
  const runTest = async () => setError((await testEndpoint({ id: endpoint.id })).error);
  return (
    <article className="endpoint-card" data-testid="endpoint">
      <header>
        <div className="endpoint-title">
          {endpoint.kind === 'HTTP' && <span className="method">{endpoint.method}</span>}
          <span className="mono break">{endpointLabel(endpoint)}</span>
          <Badge value={state} />
        </div>
        <div className="actions">
          <button type="button" onClick={setState}>
            {state === 'ACTIVE' ? 'Stop' : state === 'STOPPED' ? 'Start' : 'Re-enable'}
          </button>
          <button type="button" onClick={runTest} disabled={test.fetching}>
            {test.fetching ? 'Testing…' : 'Test'}
          </button>
          <button type="button" onClick={() => setSendingHistory(true)} disabled={state !== 'ACTIVE'}>
            Send event history…
          </button>
        </div>
      </header>
      <p className="endpoint-meta small muted">
        {endpoint.kind === 'HTTP' && (
          <>
            {endpoint.contentType} · timeout {endpoint.timeoutMs} ms · {endpoint.hasAuth ? 'receiver auth set' : 'no receiver auth'}
            {endpoint.bodyTemplate ? ' · body template' : ' · default body'}
          </>
        )}
        {endpoint.consecutiveFailures > 0 && <> · {endpoint.consecutiveFailures} failures in a row</>}
      </p>
      {(endpoint.queryParams.length > 0 || endpoint.headers.length > 0) && (
        <div className="two-columns">
          <div>
            <h3>Query string</h3>
            <KeyValues pairs={endpoint.queryParams} />
          </div>
          <div>
            <h3>Headers</h3>
            <KeyValues pairs={endpoint.headers} />
          </div>
        </div>
      )}
      <ErrorNotice error={error} />
      {test.data && <AttemptCard attempt={test.data.testEndpoint} method={endpoint.method} title="Test (hookline.ping)" />}
      <SendHistoryDialog endpointId={endpoint.id} open={sendingHistory} onClose={() => setSendingHistory(false)} />
    </article>
  );
}

function WebhookDeliveries({ webhookId }: { webhookId: string }) {
  const feed = useDeliveryFeed({ webhookId }, 10);
  return (
    <Section
      title="Recent deliveries"
      actions={<Link to={`/deliveries?webhook=${encodeURIComponent(webhookId)}`}>All deliveries of this webhook →</Link>}
    >
      <ErrorNotice error={feed.error} />
      {feed.loading && !feed.rows.length ? (
        <Loading />
      ) : (
        <DeliveryTable rows={feed.rows.slice(0, 10)} arrived={feed.arrived} showWebhook={false} empty="No deliveries yet." />
      )}
    </Section>
  );
}
