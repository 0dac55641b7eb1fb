import { useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql.js';
import { Link, navigate } from '../router.js';
import { HealthFields, SuccessRate } from '../health.js';
import { Badge, ConfirmDialog, Empty, ErrorNotice, Loading, Page, useSettled } from '../ui.js';

const PAGE_SIZE = 20;

const WebhooksQuery = graphql(
  `
  query Webhooks($first: Int, $after: String, $state: State, $search: String) {
    webhooks(first: $first, after: $after, state: $state, search: $search) {
      edges {
        node {
          id name description ownerLogin forLogin state
          team { id name }
          endpoints { id state }
          health { ...HealthNumbers }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [HealthFields],
);

export const DeleteWebhook = graphql(`
  mutation DeleteWebhook($id: ID!) {
    deleteWebhook(id: $id) { deletedId }
  }
`);

type WebhookRow = ResultOf<typeof WebhooksQuery>['webhooks']['edges'][number]['node'];


export function WebhooksPage() {
  const [search, setSearch] = useState('');
  const [state, setState] = useState<'' | 'ACTIVE' | 'STOPPED' | 'TOO_MANY_ERRORS'>('');
  const query = useSettled(search.trim(), 250);
  // The cursors of the pages up to this one ("Previous" pops one), for the filter they were made under: a new
  // search or state starts again from the first page.
  const filterKey = `${state}|${query}`;
  const [paging, setPaging] = useState({ filterKey, cursors: [undefined] as (string | undefined)[] });
  const cursors = paging.filterKey === filterKey ? paging.cursors : [undefined];
  const setCursors = (next: (string | undefined)[]) => setPaging({ filterKey, cursors: next });
  const [result] = useQuery({
    query: WebhooksQuery,
    variables: { first: PAGE_SIZE, after: cursors.at(-1), state: state || undefined, search: query || undefined },
    // An empty list names no Webhook type: this still lets a created or deleted webhook refresh it.
    context: useMemo(() => ({ additionalTypenames: ['Webhook'] }), []),
  });
  const [deleting, setDeleting] = useState<WebhookRow>();
  const [, deleteWebhook] = useMutation(DeleteWebhook);
  const page = result.data?.webhooks;

  return (
    <Page
      title="Webhooks"
      subtitle="Where events go: each webhook sends the events its triggers match to its endpoints."
      actions={
        <Link to="/webhooks/new" className="button primary">
          Add webhook
        </Link>
      }
    >
      <div className="toolbar">
        <input
          type="search"
          aria-label="Search webhooks"
          placeholder="Search name, description or login…"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <select aria-label="State" value={state} onChange={(e) => setState(e.target.value as typeof state)}>
          <option value="">Any state</option>
          <option value="ACTIVE">Active</option>
          <option value="STOPPED">Stopped</option>
          <option value="TOO_MANY_ERRORS">Too many errors</option>
        </select>
      </div>
      <ErrorNotice error={result.error} />
      {!page && result.fetching ? (
        <Loading />
      ) : page && page.edges.length === 0 ? (
        <Empty>
          {query || state ? 'No webhook matches.' : <>No webhooks yet. <Link to="/webhooks/new">Add the first one</Link>.</>}
        </Empty>
      ) : (
        page && (
          <table className="table clickable">
            <thead>
              <tr>
                <th>ID</th>
                <th>Name</th>
                <th>Description</th>
                <th>Login</th>
                <th>For login</th>
                <th>Team</th>
                <th>State</th>
                <th className="num">Endpoints</th>
                <th className="num">Success (1 h)</th>
                <th aria-label="Delete" />
              </tr>
            </thead>
            <tbody>
              {page.edges.map(({ node: webhook }) => (
                <tr key={webhook.id} onClick={() => navigate(`/webhooks/${webhook.id}`)}>
                  <td className="mono small">{webhook.id}</td>
                  <td className="nowrap">
                    <Link to={`/webhooks/${webhook.id}`} onClick={(e) => e.stopPropagation()}>
                      {webhook.name}
                    </Link>
                  </td>
                  <td className="clip" title={webhook.description ?? undefined}>
                    {webhook.description}
                  </td>
                  <td className="nowrap">{webhook.ownerLogin}</td>
                  <td className="nowrap">{webhook.forLogin}</td>
                  <td className="nowrap">{webhook.team?.name ?? <span className="muted">admin only</span>}</td>
                  <td>
                    <Badge value={webhook.state} />
                  </td>
                  <td className="num">
                    <EndpointCount endpoints={webhook.endpoints} />
                  </td>
                  <td className="num">
                    <SuccessRate webhookId={webhook.id} initial={webhook.health} />
                  </td>
                  <td className="row-action">
                    <button
                      type="button"
                      className="icon"
                      title="Delete webhook"
                      aria-label={`Delete ${webhook.name}`}
                      onClick={(e) => {
                        e.stopPropagation();
                        setDeleting(webhook);
                      }}
                    >
                      ×
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
      {page && (cursors.length > 1 || page.pageInfo.hasNextPage) && (
        <div className="pager">
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous
          </button>
          <span className="muted">Page {cursors.length}</span>
          <button
            type="button"
            disabled={!page.pageInfo.hasNextPage}
            onClick={() => setCursors([...cursors, page.pageInfo.endCursor ?? undefined])}
          >
            Next
          </button>
        </div>
      )}
      <ConfirmDialog
        open={Boolean(deleting)}
        title="Delete webhook?"
        confirmLabel="Delete"
        danger
        onClose={() => setDeleting(undefined)}
        onConfirm={async () =>
          (await deleteWebhook({ id: deleting!.id }, { additionalTypenames: ['Webhook', 'Delivery'] })).error
        }
      >
        <p>
          <strong>{deleting?.name}</strong> will be deleted with its endpoints, triggers and delivery history. This
          cannot be undone.
        </p>
      </ConfirmDialog>
    </Page>
  );
}

function EndpointCount({ endpoints }: { endpoints: readonly { state: string }[] }) {
  const down = endpoints.filter((e) => e.state !== 'ACTIVE').length;
  return (
    <span title={down ? `${down} not active` : undefined}>
      {endpoints.length}
      {down > 0 && <span className="muted"> ({down} off)</span>}
    </span>
  );
}
