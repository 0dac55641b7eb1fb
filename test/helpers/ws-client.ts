import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GraphqlError } from './gql.js';

/** One graphql-ws subscription, as a client sees it. */
export interface LiveSubscription<T> {
  /** Every value received, in order (`pick` applied to each result's data). */
  readonly values: T[];
  /** Date.now() when each value arrived. */
  readonly receivedAt: number[];
  /** Errors from results, error messages or a closed connection. */
  readonly errors: GraphqlError[];
  /** Resolves when the server completes the subscription, ends it with an error, or the connection closes. */
  readonly done: Promise<void>;
  /** Resolves with the values once `check(values)` holds; rejects after `timeoutMs` (or when done first). */
  until(check: (values: T[]) => boolean, timeoutMs?: number): Promise<T[]>;
  unsubscribe(): void;
}

export interface WsClient {
  subscribe<T = any>(query: string, variables?: Record<string, unknown>, pick?: (data: any) => T): LiveSubscription<T>;
  close(): Promise<void>;
}

/**
 * A real graphql-ws client (the `ws` package as its WebSocket) on the server's /graphql, with the token in
 * connectionParams as the contract says (null: no connectionParams at all). No retries: a refused or lost
 * connection shows up as an error on its subscriptions.
 */
export function wsClient(httpUrl: string, token: string | null): WsClient {
  const client: Client = createClient({
    url: httpUrl.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: token === null ? undefined : { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
  return {
    subscribe<T>(query: string, variables?: Record<string, unknown>, pick: (data: any) => T = (data) => data): LiveSubscription<T> {
      const values: T[] = [];
      const receivedAt: number[] = [];
      const errors: GraphqlError[] = [];
      const waiters = new Set<() => void>();
      const wake = () => waiters.forEach((w) => w());
      let finished = false;
      let unsubscribe: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        const finish = () => {
          finished = true;
          wake();
          resolve();
        };
        unsubscribe = client.subscribe(
          { query, variables },
          {
            next: (result) => {
              if (result.errors) errors.push(...(result.errors as GraphqlError[]));
              if (result.data) {
                values.push(pick(result.data));
                receivedAt.push(Date.now());
              }
              wake();
            },
            error: (err) => {
              errors.push(...asErrors(err));
              finish();
            },
            complete: finish,
          },
        );
      });
      return {
        values,
        receivedAt,
        errors,
        done,
        until(check, timeoutMs = 15_000) {
          return new Promise<T[]>((resolve, reject) => {
            const look = () => {
              if (check(values)) {
                stop();
                resolve(values.slice());
              } else if (finished) {
                stop();
                reject(new Error(`subscription ended first; errors: ${JSON.stringify(errors)}; values: ${JSON.stringify(values)}`));
              }
            };
            const timer = setTimeout(() => {
              stop();
              reject(new Error(`not within ${timeoutMs} ms; errors: ${JSON.stringify(errors)}; values: ${JSON.stringify(values)}`));
            }, timeoutMs);
            const stop = () => {
              clearTimeout(timer);
              waiters.delete(look);
            };
            waiters.add(look);
            look();
          });
        },
        unsubscribe: () => unsubscribe(),
      };
    },
    close: () => client.dispose() as Promise<void>,
  };
}

/** graphql-ws reports GraphQL errors as an array, a closed socket as a CloseEvent, anything else as an Error. */
function asErrors(err: unknown): GraphqlError[] {
  if (Array.isArray(err)) return err as GraphqlError[];
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    const { code, reason } = err as { code: number; reason: string };
    return [{ message: `connection closed (${code}) ${reason}`.trim() }];
  }
  return [{ message: err instanceof Error ? err.message : String(err) }];
}
