import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let teamA: string;
let teamB: string;

beforeAll(async () => {
  t = await startTestApp();
  teamA = (await t.gql.ok('mutation { createTeam(name: "auth-a") { id } }')).createTeam.id;
  teamB = (await t.gql.ok('mutation { createTeam(name: "auth-b") { id } }')).createTeam.id;
});
afterAll(() => t?.stop());

async function createToken(role: string, teamId: string | null, name = `${role.toLowerCase()}-token`) {
  const data = await t.gql.ok(
    `mutation ($input: CreateApiTokenInput!) {
       createApiToken(input: $input) { token apiToken { id name role team { id } revokedAt } }
     }`,
    { input: { name, role, teamId } },
  );
  return data.createApiToken as { token: string; apiToken: { id: string; name: string; role: string; team: { id: string } | null } };
}

async function countTokens(): Promise<number> {
  const sql = postgres(t.database.url, { max: 1 });
  try {
    const [{ n }] = await sql`select count(*)::int as n from api_tokens`;
    return n;
  } finally {
    await sql.end();
  }
}

describe('authentication', () => {
  it('refuses a request without a token, even { __typename }', async () => {
    const result = await t.gql.as(null)('{ __typename }');
    expect(result.status).toBe(401);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong token and a malformed Authorization header', async () => {
    const wrong = await t.gql.as('hl_not-a-real-token')('{ __typename }');
    expect(wrong.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(wrong.data ?? null).toBeNull();
    const basic = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${t.adminToken}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    const body = await basic.json();
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('tells a token who it is (viewer)', async () => {
    const admin = await t.gql.ok('{ viewer { name role team { id } } }');
    expect(admin.viewer).toEqual({ name: 'admin', role: 'ADMIN', team: null });
    const { token } = await createToken('EDITOR', teamA, 'ci-bot');
    const editor = await t.gql.as(token).ok('{ viewer { name role team { id name } } }');
    expect(editor.viewer).toEqual({ name: 'ci-bot', role: 'EDITOR', team: { id: teamA, name: 'auth-a' } });
  });
});

describe('roles', () => {
  it('gives a VIEWER token FORBIDDEN on every mutation, and nothing changes', async () => {
    const { token } = await createToken('VIEWER', teamA);
    const viewer = t.gql.as(token);
    const attempt = await viewer('mutation { createTeam(name: "by-viewer") { id } }');
    expect(attempt.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(attempt.errors?.[0].message).toMatch(/createTeam/);
    const teams = await t.gql.ok('{ teams { name } }');
    expect(teams.teams.map((x: { name: string }) => x.name)).not.toContain('by-viewer');
    for (const mutation of [
      'mutation { createWebhook(input: { name: "by-viewer" }) { webhook { id } } }',
      'mutation { createApiToken(input: { name: "x", role: VIEWER }) { token } }',
      'mutation { revokeApiToken(id: "tok_x") { apiToken { id } } }',
    ]) {
      const result = await viewer(mutation);
      expect(result.errors?.[0].extensions?.code, mutation).toBe('FORBIDDEN');
    }
    const webhooks = await t.gql.ok('{ webhooks(search: "by-viewer") { edges { node { id } } } }');
    expect(webhooks.webhooks.edges).toEqual([]);
    // Reading is allowed: its own team only.
    const own = await viewer.ok('{ teams { id } }');
    expect(own.teams).toEqual([{ id: teamA }]);
  });

  it('lets only ADMIN create teams and tokens', async () => {
    const { token } = await createToken('EDITOR', teamA);
    const editor = t.gql.as(token);
    const before = await countTokens();
    const team = await editor('mutation { createTeam(name: "by-editor") { id } }');
    expect(team.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const created = await editor(
      'mutation { createApiToken(input: { name: "escalate", role: ADMIN }) { token } }',
    );
    expect(created.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(created.data?.createApiToken ?? null).toBeNull();
    expect(await countTokens()).toBe(before);
    const list = await editor('{ apiTokens { edges { node { id } } } }');
    expect(list.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('hides tokens from non-ADMIN tokens in node(id)', async () => {
    const { token, apiToken } = await createToken('EDITOR', teamA);
    const seen = await t.gql.as(token).ok('query ($id: ID!) { node(id: $id) { id } }', { id: apiToken.id });
    expect(seen.node).toBeNull();
    const asAdmin = await t.gql.ok('query ($id: ID!) { node(id: $id) { ... on ApiToken { name role } } }', {
      id: apiToken.id,
    });
    expect(asAdmin.node).toEqual({ name: apiToken.name, role: 'EDITOR' });
  });
});

describe('createApiToken', () => {
  it.each([
    ['an ADMIN token with a team', { role: 'ADMIN', teamId: 'TEAM_B' }, /input\.teamId: ADMIN tokens belong to no team/],
    ['an EDITOR token without a team', { role: 'EDITOR', teamId: null }, /input\.teamId: EDITOR tokens need a team/],
    ['a VIEWER token of a team that does not exist', { role: 'VIEWER', teamId: 'team_nope' }, /input\.teamId: no team/],
    ['an empty name', { role: 'ADMIN', teamId: null, name: '  ' }, /input\.name: must not be empty/],
  ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_what, input, message) => {
    const before = await countTokens();
    const result = await t.gql(
      'mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }',
      { input: { name: 'bad', ...input, teamId: input.teamId === 'TEAM_B' ? teamB : input.teamId } },
    );
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(message);
    expect(await countTokens()).toBe(before);
  });

  it('returns the token once, stores only its SHA-256 hash and never lists its value', async () => {
    const { token, apiToken } = await createToken('VIEWER', teamB, 'dashboard');
    expect(token).toMatch(/^hl_[A-Za-z0-9_-]{40,}$/);
    expect(apiToken).toMatchObject({ name: 'dashboard', role: 'VIEWER', team: { id: teamB }, revokedAt: null });

    const sql = postgres(t.database.url, { max: 1 });
    try {
      const rows = await sql`select * from api_tokens where id = ${apiToken.id}`;
      expect(rows[0].token_hash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(token);
    } finally {
      await sql.end();
    }

    const list = await t.gql.ok('{ apiTokens(first: 100) { edges { node { id name role team { name } } } } }');
    const listed = list.apiTokens.edges.map((e: { node: { id: string } }) => e.node);
    expect(listed).toContainEqual({ id: apiToken.id, name: 'dashboard', role: 'VIEWER', team: { name: 'auth-b' } });
    expect(JSON.stringify(list)).not.toContain(token);
    // There is no field to read a token's value back.
    const leak = await t.gql('{ apiTokens { edges { node { token } } } }');
    expect(leak.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('revokeApiToken', () => {
  it('makes a working token stop working (lookups are cached for at most 5 s)', async () => {
    const { token, apiToken } = await createToken('EDITOR', teamB, 'to-revoke');
    const client = t.gql.as(token);
    expect((await client.ok('{ viewer { name } }')).viewer.name).toBe('to-revoke');

    const revoked = await t.gql.ok('mutation ($id: ID!) { revokeApiToken(id: $id) { apiToken { id revokedAt } } }', {
      id: apiToken.id,
    });
    expect(revoked.revokeApiToken.apiToken.revokedAt).not.toBeNull();
    const revokedAt = Date.now();

    // The authenticator caches a lookup for 5 s; past that the token must be refused.
    let refusedAfter: number | undefined;
    while (Date.now() - revokedAt < 8_000) {
      const result = await client('{ viewer { name } }');
      if (result.errors?.[0].extensions?.code === 'UNAUTHENTICATED') {
        refusedAfter = Date.now() - revokedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(refusedAfter).toBeDefined();
    expect(refusedAfter!).toBeLessThanOrEqual(5_500);

    // Revoked tokens leave the default listing but can still be listed.
    const active = await t.gql.ok('{ apiTokens(first: 100) { edges { node { id } } } }');
    expect(active.apiTokens.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(apiToken.id);
    const all = await t.gql.ok('{ apiTokens(first: 100, includeRevoked: true) { edges { node { id } } } }');
    expect(all.apiTokens.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(apiToken.id);
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    const result = await t.gql('mutation { revokeApiToken(id: "tok_unknown") { apiToken { id } } }');
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(result.errors?.[0].message).toMatch(/^id: /);
  });

  it('refuses to revoke the last active ADMIN token', async () => {
    const self = (await t.gql.ok('{ viewer { tokenId } }')).viewer.tokenId;
    const { apiToken: second } = await createToken('ADMIN', null, 'second-admin');
    // With two admins, one can go.
    await t.gql.ok('mutation ($id: ID!) { revokeApiToken(id: $id) { apiToken { id } } }', { id: second.id });
    const last = await t.gql('mutation ($id: ID!) { revokeApiToken(id: $id) { apiToken { id } } }', { id: self });
    expect(last.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(last.errors?.[0].message).toMatch(/last active ADMIN token/);
    expect((await t.gql.ok('{ viewer { role } }')).viewer.role).toBe('ADMIN');
  });
});

describe('pagination of apiTokens', () => {
  it('pages newest first with first/after', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await createToken('VIEWER', teamA, `page-${i}`)).apiToken.id);
    const first = await t.gql.ok('{ apiTokens(first: 2) { edges { node { id } } pageInfo { hasNextPage endCursor } } }');
    expect(first.apiTokens.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([made[2], made[1]]);
    expect(first.apiTokens.pageInfo.hasNextPage).toBe(true);
    const next = await t.gql.ok('query ($after: String) { apiTokens(first: 1, after: $after) { edges { node { id } } } }', {
      after: first.apiTokens.pageInfo.endCursor,
    });
    expect(next.apiTokens.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([made[0]]);
  });
});
