import { createClient as createWsClient } from 'graphql-ws';
import { cacheExchange, Client, fetchExchange, mapExchange, subscriptionExchange } from 'urql';

export interface Connection {
  client: Client;
  /** Whether the live (graphql-ws) connection is open; `onChange` is told when that changes. */
  live(): boolean;
  onLiveChange(listener: () => void): () => void;
  close(): void;
}

/** Who a token belongs to, asked over plain HTTP: nothing else is opened for a token not yet known to work. */
export function probeClient(token: string): Client {
  return new Client({
    url: '/graphql',
    exchanges: [fetchExchange],
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
  });
}

/**
 * One urql client per signed-in token: queries and mutations over HTTP with the document cache (a mutation
 * refetches the cached queries that returned the types it touches), subscriptions over graphql-ws on the same
 * /graphql path, opened at sign-in (the sidebar shows whether it is up) and reopened after a drop.
 */
export function connect(token: string, onUnauthenticated: () => void): Connection {
  let open = false;
  const listeners = new Set<() => void>();
  const setOpen = (value: boolean) => {
    open = value;
    for (const listener of listeners) listener();
  };
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    on: { connected: () => setOpen(true), closed: () => setOpen(false) },
  });
  const client = new Client({
    url: '/graphql',
    requestPolicy: 'cache-and-network',
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    exchanges: [
      // A token revoked while signed in: back to the sign-in page.
      mapExchange({
        onError(error) {
          if (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) onUnauthenticated();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return {
    client,
    live: () => open,
    onLiveChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => void ws.dispose(),
  };
}
