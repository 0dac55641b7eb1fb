import type postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from './app.js';
import type { GraphqlClient } from './gql.js';
import { createWebhook, openSql } from './webhook-fixtures.js';

/**
 * Fixtures for the publishing and delivery API tests. The app runs as HOOKLINE_ROLE=api, so no worker changes a
 * delivery behind the test's back: what the tests see is what publishing and replaying wrote. LOG_LEVEL=error:
 * an unexpected error, which clients only see as "Unexpected error.", shows its cause in the test output.
 * Started before the calling file's tests and stopped after them, with a SQL client on its database.
 */
export function useApiApp(env: Record<string, string> = {}): { t: TestApp; sql: postgres.Sql } {
  // Filled in by beforeAll: the tests read the fields, which do not exist before it runs.
  const app = {} as { t: TestApp; sql: postgres.Sql };
  beforeAll(async () => {
    app.t = await startTestApp({ HOOKLINE_ROLE: 'api', LOG_LEVEL: 'error', ...env });
    app.sql = openSql(app.t.database.url);
  });
  afterAll(async () => {
    await app.sql?.end();
    await app.t?.stop();
  });
  return app;
}

export interface Hook {
  id: string;
  endpointIds: string[];
}

/** A webhook with `endpoints` HTTP endpoints on 127.0.0.1 (never called: no worker runs) and these triggers. */
export async function hook(
  gql: GraphqlClient,
  triggers: { resource: string; event: string; filter?: unknown }[],
  options: { endpoints?: number; state?: string; forLogin?: string; teamId?: string; name?: string } = {},
): Promise<Hook> {
  const { endpoints = 1, name = 'hook', ...rest } = options;
  const { webhook } = await createWebhook(gql, {
    name,
    ...rest,
    triggers,
    endpoints: Array.from({ length: endpoints }, (_, i) => ({ url: `http://127.0.0.1:9/receiver/${i}` })),
  });
  return { id: webhook.id, endpointIds: webhook.endpoints.map((e: { id: string }) => e.id) };
}

export const PUBLISH = `mutation ($input: PublishEventInput!) {
  publishEvent(input: $input) {
    duplicate
    event { id type occurredAt context data }
    deliveries { id status replayOf { id } event { id } webhook { id } endpoint { id } }
  }
}`;

export const PUBLISH_MANY = `mutation ($inputs: [PublishEventInput!]!) {
  publishEvents(inputs: $inputs) {
    results { duplicate event { id type data } deliveries { id endpoint { id } } }
  }
}`;

export interface Published {
  duplicate: boolean;
  event: { id: string; type: string; occurredAt: string; context: unknown; data: unknown };
  deliveries: { id: string; status: string; replayOf: { id: string } | null; event: { id: string }; webhook: { id: string }; endpoint: { id: string } }[];
}

export async function publish(gql: GraphqlClient, input: Record<string, unknown>): Promise<Published> {
  return (await gql.ok(PUBLISH, { input })).publishEvent;
}

/** The endpoint ids an event's deliveries go to, sorted. */
export const endpointsOf = (published: { deliveries: { endpoint: { id: string } }[] }) =>
  published.deliveries.map((d) => d.endpoint.id).sort();

/** A new team and a token of it with this role. */
export async function teamToken(gql: GraphqlClient, team: string, role: 'EDITOR' | 'VIEWER' = 'EDITOR') {
  const teamId = (await gql.ok('mutation ($name: String!) { createTeam(name: $name) { id } }', { name: team })).createTeam.id;
  return { teamId, token: await tokenOf(gql, teamId, role) };
}

export async function tokenOf(gql: GraphqlClient, teamId: string, role: 'EDITOR' | 'VIEWER') {
  const data = await gql.ok('mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }', {
    input: { name: `${role.toLowerCase()}-${teamId}`, role, teamId },
  });
  return data.createApiToken.token as string;
}

export async function countRows(sql: postgres.Sql) {
  const [row] = await sql<{ events: number; deliveries: number; types: number }[]>`
    select (select count(*)::int from events) as events,
           (select count(*)::int from deliveries) as deliveries,
           (select count(*)::int from event_types) as types`;
  return { ...row };
}
