import { useCallback, useEffect, useState } from 'react';
import { useClient, type CombinedError } from 'urql';
import { graphql, type ResultOf } from './graphql.js';

export const DeliveryRowFields = graphql(`
  fragment DeliveryRow on Delivery {
    id status attemptCount createdAt updatedAt completedAt nextAttemptAt lastResponseStatus lastError
    replayOf { id }
    event { id type }
    webhook { id name }
    endpoint { id kind url emailTo }
  }
`);

export type DeliveryRow = ResultOf<typeof DeliveryRowFields>;
export type DeliveryStatus = DeliveryRow['status'];

export const DELIVERY_STATUSES: DeliveryStatus[] = ['PENDING', 'SENDING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

const FeedQuery = graphql(
  `
  query DeliveryFeed($first: Int, $after: String, $webhookId: ID, $status: [DeliveryStatus!], $since: DateTime, $until: DateTime) {
    deliveries(first: $first, after: $after, webhookId: $webhookId, status: $status, since: $since, until: $until) {
      edges { node { ...DeliveryRow } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [DeliveryRowFields],
);

const FeedUpdates = graphql(
  `
  subscription DeliveryFeedUpdates($webhookId: ID) {
    deliveryUpdated(webhookId: $webhookId) { ...DeliveryRow }
  }
`,
  [DeliveryRowFields],
);

export interface FeedFilter {
  webhookId?: string;
  status?: DeliveryStatus[];
  /** ISO instants: createdAt ≥ since and < until, as the API filters. */
  since?: string;
  until?: string;
}

interface FeedState {
  rows: DeliveryRow[];
  /** Ids of the latest rows that appeared through the subscription after the first page had loaded. */
  arrived: ReadonlySet<string>;
  endCursor?: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error?: CombinedError;
  liveError?: CombinedError;
}

function matches(row: DeliveryRow, filter: FeedFilter): boolean {
  const created = Date.parse(row.createdAt);
  return (
    (!filter.webhookId || row.webhook.id === filter.webhookId) &&
    (!filter.status?.length || filter.status.includes(row.status)) &&
    (!filter.since || created >= Date.parse(filter.since)) &&
    (!filter.until || created < Date.parse(filter.until))
  );
}

/** A feed left open all day keeps this many rows; older ones are dropped and can be loaded again. */
const MAX_ROWS = 500;

/**
 * Merges rows into the list, newest first (ids sort by creation time). A row seen twice keeps its latest version
 * (by updatedAt); a row that no longer matches the filter leaves. A row older than the loaded window is not
 * added while older pages remain unloaded: it would sit out of order at the bottom.
 */
function merge(state: FeedState, incoming: readonly DeliveryRow[], filter: FeedFilter): Pick<FeedState, 'rows' | 'hasNextPage' | 'endCursor'> {
  const byId = new Map(state.rows.map((row) => [row.id, row]));
  const oldest = state.rows.at(-1)?.id;
  for (const row of incoming) {
    const known = byId.get(row.id);
    if (known && Date.parse(known.updatedAt) > Date.parse(row.updatedAt)) continue;
    if (!matches(row, filter)) byId.delete(row.id);
    else if (known || !state.hasNextPage || !oldest || row.id > oldest) byId.set(row.id, row);
  }
  const rows = [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  if (rows.length <= MAX_ROWS) return { rows, hasNextPage: state.hasNextPage, endCursor: state.endCursor };
  // The connection's cursor is the row id (keyset pagination, src/graphql/common.ts): "Load older" resumes here.
  const kept = rows.slice(0, MAX_ROWS);
  return { rows: kept, hasNextPage: true, endCursor: kept.at(-1)!.id };
}

/**
 * A page of deliveries kept current: the first page is queried, then every status change pushed by
 * `deliveryUpdated` updates its row in place, and new deliveries that match the filter appear at the top.
 */
export function useDeliveryFeed(filter: FeedFilter, pageSize = 25) {
  const client = useClient();
  const [state, setState] = useState<FeedState>({ rows: [], arrived: new Set(), hasNextPage: false, loading: true });
  const key = JSON.stringify(filter);

  useEffect(() => {
    let current = true;
    setState({ rows: [], arrived: new Set(), hasNextPage: false, loading: true });
    // Subscribe before querying, so that nothing changing in between is missed; merge() keeps the newer version.
    const live = client.subscription(FeedUpdates, { webhookId: filter.webhookId }).subscribe((result) => {
      if (!current) return;
      if (result.error) setState((s) => ({ ...s, liveError: result.error }));
      const row = result.data?.deliveryUpdated;
      if (!row) return;
      setState((s) => {
        const merged = merge(s, [row], filter);
        const isNew = !s.loading && !s.rows.some((r) => r.id === row.id) && merged.rows.some((r) => r.id === row.id);
        return { ...s, ...merged, liveError: undefined, arrived: isNew ? new Set([...s.arrived, row.id].slice(-50)) : s.arrived };
      });
    });
    void client
      .query(FeedQuery, { first: pageSize, ...filter }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (!current) return;
        const page = result.data?.deliveries;
        setState((s) => {
          const loaded: FeedState = {
            rows: [],
            arrived: s.arrived,
            loading: false,
            error: result.error,
            liveError: s.liveError,
            hasNextPage: page?.pageInfo.hasNextPage ?? false,
            endCursor: page?.pageInfo.endCursor,
          };
          // Rows pushed while the page loaded are merged in: they may be newer than the page's copy.
          return { ...loaded, ...merge(loaded, [...(page?.edges.map((e) => e.node) ?? []), ...s.rows], filter) };
        });
      });
    return () => {
      current = false;
      live.unsubscribe();
    };
  }, [client, key, pageSize]);

  const loadMore = useCallback(async () => {
    if (!state.endCursor) return;
    setState((s) => ({ ...s, loading: true }));
    const result = await client
      .query(FeedQuery, { first: pageSize, after: state.endCursor, ...filter }, { requestPolicy: 'network-only' })
      .toPromise();
    const page = result.data?.deliveries;
    setState((s) => ({
      ...s,
      loading: false,
      error: result.error,
      rows: [...s.rows, ...(page?.edges.map((e) => e.node).filter((row) => !s.rows.some((r) => r.id === row.id)) ?? [])],
      hasNextPage: page?.pageInfo.hasNextPage ?? s.hasNextPage,
      endCursor: page?.pageInfo.endCursor ?? s.endCursor,
    }));
  }, [client, key, pageSize, state.endCursor]);

  return { ...state, loadMore };
}
