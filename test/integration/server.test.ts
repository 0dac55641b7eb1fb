import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

describe('HTTP surface', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  });

  it('serves GraphiQL to a browser at /graphql', async () => {
    const response = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('GraphiQL');
  });

  it('runs a query with the admin token', async () => {
    const data = await t.gql.ok('{ __typename teams { id } }');
    expect(data.__typename).toBe('Query');
  });
});

describe('node(id)', () => {
  it('finds a team by id and returns null for an unknown id', async () => {
    const { createTeam } = await t.gql.ok('mutation { createTeam(name: "node-test") { id name } }');
    const found = await t.gql.ok('query ($id: ID!) { node(id: $id) { id ... on Team { name } } }', { id: createTeam.id });
    expect(found.node).toEqual({ id: createTeam.id, name: 'node-test' });
    const missing = await t.gql('query { node(id: "team_00000000000000000000000000") { id } }');
    expect(missing.errors).toBeUndefined();
    expect(missing.data?.node).toBeNull();
  });
});

describe('unstorable input', () => {
  it('reports a NUL character in an id as BAD_USER_INPUT, not as a masked server error', async () => {
    const result = await t.gql('query ($id: ID!) { node(id: $id) { id } }', { id: 'wh_\u0000' });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/NUL/);
  });
});
