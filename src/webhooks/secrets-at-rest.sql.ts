import type { Logger } from 'pino';
import type { EndpointAuth } from '../../schema/db/webhooks.js';
import { ConfigError } from '../config.js';
import type { Sql } from '../db/client.js';
import type { Keyring } from '../security/crypto.js';
import { AUTH_SECRET_FIELDS, decryptAuth, encryptAuth } from './secret.js';

/** Rows re-encrypted per statement: short transactions, little memory. */
const BATCH = 200;

const AUTH_FIELDS = [...AUTH_SECRET_FIELDS];

/**
 * Start-up work on the stored secrets (webhook signing secrets, endpoint credentials), run under the migration lock
 * so that one process at a time does it:
 * 1. without HOOKLINE_ENCRYPTION_KEY, a warning (once per start) that they are stored in plaintext;
 * 2. rotated-out signing secrets whose overlap has ended are deleted: they never sign again;
 * 3. the stored values are counted per key id: any whose key id is not configured stops the start with an error
 *    listing them (a key removed too early), rather than failing deliveries one by one;
 * 4. values in plaintext or under an older key are re-encrypted with the current (first) key.
 */
export async function prepareSecretsAtRest(sql: Sql, keyring: Keyring, logger: Logger): Promise<void> {
  if (keyring.currentKeyId === undefined) {
    logger.warn(
      'HOOKLINE_ENCRYPTION_KEY is not set: webhook secrets and receiver credentials are stored in plaintext',
    );
  }
  await sql`
    update webhooks set previous_secret = null, previous_secret_expires_at = null
     where previous_secret is not null and previous_secret_expires_at <= now()`;

  const counts = await countByKeyId(sql);
  const unreadable = [...counts].filter(([keyId]) => keyId !== null && !keyring.has(keyId));
  if (unreadable.length > 0) {
    const list = unreadable.map(([keyId, n]) => `"${keyId}" (${n} values)`).join(', ');
    throw new ConfigError(
      `HOOKLINE_ENCRYPTION_KEY: stored secrets are encrypted with key ids it does not hold: ${list}. ` +
        'Add those keys back (after the current one) to read them.',
    );
  }
  if (keyring.currentKeyId === undefined) return;
  const stale = [...counts].filter(([keyId]) => keyId !== keyring.currentKeyId);
  if (stale.length === 0) return;
  const webhooks = await reencryptWebhooks(sql, keyring);
  const endpoints = await reencryptEndpoints(sql, keyring);
  logger.info(
    { keyId: keyring.currentKeyId, webhooks, endpoints, before: Object.fromEntries(stale.map(([k, n]) => [k ?? 'plaintext', n])) },
    're-encrypted stored secrets with the current key',
  );
}

/**
 * How many stored secret values there are per key id (null: plaintext). Empty basic passwords are no secret and
 * stay empty, so they are not counted.
 */
async function countByKeyId(sql: Sql): Promise<Map<string | null, number>> {
  const rows = await sql<{ keyId: string | null; n: number }[]>`
    with stored(value) as (
      select secret from webhooks
      union all
      select previous_secret from webhooks where previous_secret is not null
      union all
      select f.value from endpoints e, jsonb_each_text(e.auth) f
       where e.auth is not null and f.key = any(${AUTH_FIELDS}::text[]) and f.value <> ''
    )
    select case when value like 'enc:v1:%' then split_part(value, ':', 3) end as "keyId", count(*)::int as n
      from stored group by 1`;
  return new Map(rows.map((r) => [r.keyId, r.n]));
}

/**
 * Re-encrypts webhook secrets not under the current key, in id order, a batch at a time. Each row is updated only
 * if its secrets are still what was read (compare-and-set): a secret rotated meanwhile by an api process is already
 * encrypted by that process and is left alone. Returns how many rows changed.
 */
async function reencryptWebhooks(sql: Sql, keyring: Keyring): Promise<number> {
  const prefix = keyring.currentPrefix!;
  const reseal = (value: string) => (keyring.isCurrent(value) ? value : keyring.encrypt(keyring.decrypt(value)));
  let changed = 0;
  for (let after = ''; ; ) {
    const rows = await sql<{ id: string; secret: string; previousSecret: string | null }[]>`
      select id, secret, previous_secret as "previousSecret" from webhooks
       where id > ${after}
         and (not starts_with(secret, ${prefix}) or not starts_with(previous_secret, ${prefix}))
       order by id limit ${BATCH}`;
    if (rows.length === 0) return changed;
    after = rows[rows.length - 1].id;
    const result = await sql`
      update webhooks w set secret = u.new_secret, previous_secret = u.new_previous
        from unnest(${rows.map((r) => r.id)}::text[],
                    ${rows.map((r) => r.secret)}::text[], ${rows.map((r) => reseal(r.secret))}::text[],
                    ${rows.map((r) => r.previousSecret)}::text[],
                    ${rows.map((r) => (r.previousSecret === null ? null : reseal(r.previousSecret)))}::text[])
             as u(id, old_secret, new_secret, old_previous, new_previous)
       where w.id = u.id and w.secret = u.old_secret and w.previous_secret is not distinct from u.old_previous`;
    changed += result.count;
  }
}

/** Re-encrypts endpoint credentials not under the current key, like reencryptWebhooks (compare-and-set on auth). */
async function reencryptEndpoints(sql: Sql, keyring: Keyring): Promise<number> {
  const prefix = keyring.currentPrefix!;
  let changed = 0;
  for (let after = ''; ; ) {
    const rows = await sql<{ id: string; auth: EndpointAuth }[]>`
      select e.id, e.auth from endpoints e
       where e.id > ${after} and e.auth is not null
         and exists (select 1 from jsonb_each_text(e.auth) f
                      where f.key = any(${AUTH_FIELDS}::text[]) and f.value <> '' and not starts_with(f.value, ${prefix}))
       order by e.id limit ${BATCH}`;
    if (rows.length === 0) return changed;
    after = rows[rows.length - 1].id;
    const result = await sql`
      update endpoints e set auth = u.new_auth::jsonb
        from unnest(${rows.map((r) => r.id)}::text[],
                    ${rows.map((r) => JSON.stringify(r.auth))}::text[],
                    ${rows.map((r) => JSON.stringify(encryptAuth(keyring, decryptAuth(keyring, r.auth))))}::text[])
             as u(id, old_auth, new_auth)
       where e.id = u.id and e.auth = u.old_auth::jsonb`;
    changed += result.count;
  }
}
