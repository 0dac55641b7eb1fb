import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** The API process alone (no worker polling), so every statement recorded comes from the request under test. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ HOOKLINE_ROLE: 'api' });
  const teams: string[] = [];
  for (const name of ['red', 'green', 'blue']) teams.push((await t.gql.ok(`mutation { createTeam(name: "${name}") { id } }`)).createTeam.id);
  const CREATE = `mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }`;
  for (let i = 0; i < 100; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        t.gql.ok(CREATE, {
          input: {
            name: `hook ${i + j}`,
            teamId: teams[(i + j) % teams.length],
            endpoints: [{ url: `http://127.0.0.1:9/${i + j}/a` }, { kind: 'EMAIL', emailTo: ['ops@example.com'] }],
            triggers: [{ resource: 'order', event: 'created' }, { resource: '*', event: 'deleted' }],
          },
        }),
      ),
    );
  }
});
afterAll(() => t?.stop());

const PAGE = `query ($first: Int) { webhooks(first: $first) { edges { node {
  id name team { id name }
  endpoints { id url emailTo webhook { id name } }
  triggers { id eventType webhook { id } }
} } pageInfo { hasNextPage } } }`;

/** Runs the page query and returns the SQL statements it cost. */
async function statementsFor(first: number) {
  t.queries.length = 0;
  const { webhooks } = await t.gql.ok(PAGE, { first });
  // Not the token lookup: it is cached for a few seconds, so whether one falls inside a count is a matter of timing.
  const statements = t.queries.filter((q) => !q.includes('"api_tokens"'));
  return { webhooks, statements };
}

describe('listing webhooks', () => {
  it('costs the same few statements for 10 and for 100 webhooks', async () => {
    const ten = await statementsFor(10);
    const hundred = await statementsFor(100);
    expect(ten.webhooks.edges).toHaveLength(10);
    expect(hundred.webhooks.edges).toHaveLength(100);
    for (const { node } of hundred.webhooks.edges) {
      expect(node.endpoints).toHaveLength(2);
      expect(node.triggers).toHaveLength(2);
      expect(node.team.name).toMatch(/^(red|green|blue)$/);
      expect(node.endpoints[0].webhook).toEqual({ id: node.id, name: node.name });
    }
    expect(hundred.statements.length, hundred.statements.join('\n')).toBe(ten.statements.length);
    expect(hundred.statements.length, hundred.statements.join('\n')).toBeLessThanOrEqual(5);
  });
});
