import postgres from 'postgres';
import type { GraphqlClient } from './gql.js';

/** What the webhook tests read back: every field of a webhook with its endpoints and triggers. */
export const WEBHOOK_FIELDS = `
  id name description state headers { key value } properties ownerLogin forLogin notifyEmail
  createdAt createdBy updatedAt updatedBy team { id name }
  endpoints { id kind state url method queryParams { key value } headers { key value } contentType bodyTemplate
              timeoutMs emailTo hasAuth webhook { id } }
  triggers { id resource event eventType filter webhook { id } }
`;

export const CREATE_WEBHOOK = `mutation ($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { ${WEBHOOK_FIELDS} } }
}`;

/** Creates a webhook (throws on any error) and returns `{ secret, webhook }`. */
export async function createWebhook(gql: GraphqlClient, input: Record<string, unknown>) {
  const data = await gql.ok(CREATE_WEBHOOK, { input });
  return data.createWebhook as { secret: string; webhook: any };
}

/** Direct SQL on a test database, for checking what was (not) written. */
export function openSql(url: string) {
  return postgres(url, { max: 2, onnotice: () => {} });
}

/** Row counts of the tables a webhook mutation writes. */
export async function rowCounts(sql: postgres.Sql) {
  const [row] = await sql<{ webhooks: number; endpoints: number; triggers: number }[]>`
    select (select count(*)::int from webhooks) as webhooks,
           (select count(*)::int from endpoints) as endpoints,
           (select count(*)::int from triggers) as triggers`;
  return { ...row };
}

/** Everything the webhook mutations could write, as one fingerprint: any insert, update or delete changes it. */
export async function tablesFingerprint(sql: postgres.Sql): Promise<string> {
  const [row] = await sql`select
    (select coalesce(md5(string_agg(w::text, '|' order by w.id)), '') from webhooks w) ||
    (select coalesce(md5(string_agg(e::text, '|' order by e.id)), '') from endpoints e) ||
    (select coalesce(md5(string_agg(g::text, '|' order by g.id)), '') from triggers g) as f`;
  return row.f;
}
