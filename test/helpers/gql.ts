export interface GraphqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

export interface GraphqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: GraphqlError[];
}

export interface GraphqlClient {
  <T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphqlResponse<T>>;
  /** The same client with another token (null: no Authorization header). */
  as(token: string | null): GraphqlClient;
  /** Like calling the client, but throws on any error and returns data. */
  ok<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

/** GraphQL over HTTP with fetch, as any client would send it. */
export function graphqlClient(endpoint: string, token: string | null): GraphqlClient {
  const call = async (query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as GraphqlResponse;
    return { status: response.status, data: body.data, errors: body.errors };
  };
  const client = call as GraphqlClient;
  client.as = (other) => graphqlClient(endpoint, other);
  client.ok = async (query, variables) => {
    const result = await call(query, variables);
    if (result.errors?.length) {
      throw new Error(`GraphQL errors: ${JSON.stringify(result.errors, null, 2)}`);
    }
    return result.data;
  };
  return client;
}
