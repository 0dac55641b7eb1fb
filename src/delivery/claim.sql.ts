import type { KeyValue } from '../../schema/db/enums.js';
import type { Sql } from '../db/client.js';
import type { DeliveryJob } from './job.js';
import { notifyDeliveryUpdated } from './notify.sql.js';

/** A delivery this worker holds the lease on, with everything needed to send it. */
export interface ClaimedDelivery extends DeliveryJob {
  deliveryId: string;
  /** Unique per claim: settling or releasing checks it, so a worker whose lease was taken over cannot. */
  leaseOwner: string;
}

/** How many more candidates than wanted are looked at, so that concurrent claimers find different rows. */
const LOOKAHEAD = 2;

/**
 * Claims up to `limit` deliveries: due ones (PENDING/RETRYING, next_attempt_at <= now) and ones whose lease ran out
 * (SENDING, lease_expires_at < now: the worker that held them died), oldest due first, only for ACTIVE endpoints
 * of ACTIVE webhooks. Deliveries of other endpoints are held: never looked at, never lost.
 *
 * Locking: candidates are read without locks, then locked with FOR UPDATE SKIP LOCKED, so two workers never get
 * the same row and never wait for each other; PostgreSQL re-checks the WHERE clause on the newest version of each
 * row it locks, so a row another worker claimed a moment ago (now SENDING with a fresh lease) is dropped. The
 * claimed rows become SENDING with lease_owner and lease_expires_at = now + the endpoint's timeout + leaseMarginMs.
 *
 * Speed: candidates are found per ACTIVE endpoint through deliveries_endpoint_due_idx (endpoint_id,
 * next_attempt_at, partial on PENDING/RETRYING), reading at most a few rows each, so neither a backlog held for a
 * stopped endpoint nor rows due later are scanned. Expired leases come from deliveries_lease_idx.
 */
export async function claimDue(
  sql: Sql,
  options: { leaseOwner: string; limit: number; leaseMarginMs: number },
): Promise<ClaimedDelivery[]> {
  const { leaseOwner, limit, leaseMarginMs } = options;
  const scan = limit * LOOKAHEAD;
  return sql.begin(async (tx) => {
    const rows = await tx<ClaimRow[]>`
      with candidates as (
        (select d.id, d.next_attempt_at as due_at
           from endpoints e
           join webhooks w on w.id = e.webhook_id and w.state = 'ACTIVE'
           cross join lateral (
             select d.id, d.next_attempt_at
               from deliveries d
              where d.endpoint_id = e.id
                and d.status in ('PENDING', 'RETRYING')
                and d.next_attempt_at <= now()
              order by d.next_attempt_at
              limit ${scan}
           ) d
          where e.state = 'ACTIVE'
          order by d.next_attempt_at
          limit ${scan})
        union all
        (select d.id, d.next_attempt_at
           from deliveries d
           join endpoints e on e.id = d.endpoint_id and e.state = 'ACTIVE'
           join webhooks w on w.id = e.webhook_id and w.state = 'ACTIVE'
          where d.status = 'SENDING' and d.lease_expires_at < now()
          order by d.lease_expires_at
          limit ${scan})
      ),
      picked as (
        select d.id
          from deliveries d
          join candidates c on c.id = d.id
         where (d.status in ('PENDING', 'RETRYING') and d.next_attempt_at <= now())
            or (d.status = 'SENDING' and d.lease_expires_at < now())
         order by c.due_at
         limit ${limit}
           for update of d skip locked
      ),
      claimed as (
        update deliveries d
           set status = 'SENDING',
               lease_owner = ${leaseOwner},
               lease_expires_at = now() + (e.timeout_ms + ${leaseMarginMs}) * interval '1 millisecond',
               updated_at = now()
          from picked p, endpoints e
         where d.id = p.id and e.id = d.endpoint_id
        returning d.id, d.event_id, d.webhook_id, d.endpoint_id, d.attempt_count
      )
      select c.id as "deliveryId", c.attempt_count + 1 as "attemptNumber",
             ev.id as "eventId", ev.type as "eventType", ev.occurred_at as "occurredAt", ev.context, ev.data,
             w.id as "webhookId", w.name as "webhookName", w.headers as "webhookHeaders", w.properties,
             w.secret, w.previous_secret as "previousSecret",
             w.previous_secret_expires_at as "previousSecretExpiresAt",
             e.id as "endpointId", e.kind, e.url, e.method, e.query_params as "queryParams",
             e.headers as "endpointHeaders", e.content_type as "contentType", e.body_template as "bodyTemplate",
             e.auth, e.timeout_ms as "timeoutMs", e.email_to as "emailTo"
        from claimed c
        join events ev on ev.id = c.event_id
        join webhooks w on w.id = c.webhook_id
        join endpoints e on e.id = c.endpoint_id`;
    await notifyDeliveryUpdated(
      tx,
      rows.map((r) => ({ id: r.deliveryId, status: 'SENDING' })),
    );
    return rows.map((r) => ({
      deliveryId: r.deliveryId,
      leaseOwner,
      attemptNumber: r.attemptNumber,
      event: { id: r.eventId, type: r.eventType, occurredAt: new Date(r.occurredAt), context: r.context, data: r.data },
      webhook: {
        id: r.webhookId,
        name: r.webhookName,
        headers: r.webhookHeaders,
        properties: r.properties,
        secret: r.secret,
        previousSecret: r.previousSecret,
        previousSecretExpiresAt: r.previousSecretExpiresAt ? new Date(r.previousSecretExpiresAt) : null,
      },
      endpoint: {
        id: r.endpointId,
        kind: r.kind,
        url: r.url,
        method: r.method,
        queryParams: r.queryParams,
        headers: r.endpointHeaders,
        contentType: r.contentType,
        bodyTemplate: r.bodyTemplate,
        auth: r.auth,
        timeoutMs: r.timeoutMs,
        emailTo: r.emailTo,
      },
    }));
  });
}

type ClaimRow = {
  deliveryId: string;
  attemptNumber: number;
  eventId: string;
  eventType: string;
  /** Timestamps arrive as text: the drizzle client on this pool turns off postgres.js's timestamp parsers. */
  occurredAt: string;
  context: DeliveryJob['event']['context'];
  data: unknown;
  webhookId: string;
  webhookName: string;
  webhookHeaders: KeyValue[];
  properties: DeliveryJob['webhook']['properties'];
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: string | null;
  endpointId: string;
  kind: DeliveryJob['endpoint']['kind'];
  url: string | null;
  method: DeliveryJob['endpoint']['method'];
  queryParams: KeyValue[];
  endpointHeaders: KeyValue[];
  contentType: string;
  bodyTemplate: string | null;
  auth: DeliveryJob['endpoint']['auth'];
  timeoutMs: number;
  emailTo: string[] | null;
};

/**
 * Gives back deliveries this worker claimed but will not finish (shutdown): due again at once, lease cleared, so
 * another worker takes them without waiting for the lease to run out. Only rows still leased to this claim change.
 */
export async function releaseClaims(sql: Sql, claims: { deliveryId: string; leaseOwner: string }[]): Promise<number> {
  if (claims.length === 0) return 0;
  return sql.begin(async (tx) => {
    const released = await tx<{ id: string; status: 'PENDING' | 'RETRYING' }[]>`
      update deliveries d
         set status = (case when d.attempt_count = 0 then 'PENDING' else 'RETRYING' end)::delivery_status,
             lease_owner = null, lease_expires_at = null, updated_at = now()
        from unnest(${claims.map((c) => c.deliveryId)}::text[], ${claims.map((c) => c.leaseOwner)}::text[])
             as mine(id, lease_owner)
       where d.id = mine.id and d.lease_owner = mine.lease_owner and d.status = 'SENDING'
      returning d.id, d.status`;
    await notifyDeliveryUpdated(tx, released.map((r) => ({ id: r.id, status: r.status })));
    return released.length;
  });
}
