import type { KeyValue } from '../../schema/db/enums.js';
import type { Sql } from '../db/client.js';
import type { DeliveryJob } from './job.js';
import { DELIVERY_UPDATED_CHANNEL, notifyDeliveryUpdated, PER_NOTIFICATION } from './notify.sql.js';

/** A delivery this worker holds the lease on, with everything needed to send it. */
export interface ClaimedDelivery extends DeliveryJob {
  deliveryId: string;
  /** Unique per claim: settling or releasing checks it, so a worker whose lease was taken over cannot. */
  leaseOwner: string;
}

/** How many more endpoints than wanted are tried, so that concurrent claimers find different ones to lock. */
const LOOKAHEAD = 2;

/** The first key of the per-endpoint advisory locks taken while claiming (the second is hashtext(endpoint id)). */
const CLAIM_LOCK_SPACE = 0x486b6c63;

/** Transaction-local setting through which the lock step hands the endpoints it locked to the claim step. */
const LOCKED_SETTING = 'hookline.claim_endpoints';

/** What one claim got, and what it tells the worker about when to claim again. */
export interface ClaimResult {
  claims: ClaimedDelivery[];
  /** Endpoints of these claims that are at their maxConcurrency with more due: claim again when one is settled. */
  saturated: string[];
  /** When the earliest rate window that held back due deliveries closes (ms from now), or null. */
  resumeInMs: number | null;
}

/**
 * Claims up to `limit` deliveries: due ones (PENDING/RETRYING, next_attempt_at <= now) and ones whose lease ran out
 * (SENDING, lease_expires_at < now: the worker that held them died), oldest due first, only for ACTIVE endpoints
 * of ACTIVE webhooks. Deliveries of other endpoints are held: never looked at, never lost.
 *
 * Caps, across every worker process: an endpoint never has more than max_concurrency live leases (SENDING rows
 * whose lease has not run out), and never starts more than rate_limit_per_second attempts in one one-second window
 * (rate_window_started_at/rate_window_count on the endpoint, opened by the first claim after the last one closed).
 * So a hanging endpoint holds at most its cap of the workers' slots, and the others keep flowing.
 *
 * Locking, in two statements of one transaction:
 * 1. The endpoints with due work that look under their caps, oldest due first, are locked with transaction-scoped
 *    advisory try-locks (never waiting: an endpoint another worker is claiming for right now is skipped). Advisory,
 *    not row locks, so settling (which locks endpoint rows) and claiming never wait for each other. Their ids go
 *    into a transaction-local setting (LOCKED_SETTING), not back to the client.
 * 2. The claim, restricted to the endpoints in that setting. Its snapshot is taken when it starts, after the first
 *    statement ended with the locks granted, and a lock is released only after its holder committed, so it sees
 *    every lease and window count the previous claimer for the same endpoint wrote: the caps are counted exactly.
 *    (In one statement it would not be: the snapshot would predate the lock.) Candidate rows are then locked with
 *    FOR UPDATE SKIP LOCKED, which re-checks the WHERE clause on the newest row version, so a row settled or
 *    released meanwhile is dropped. The claimed rows become SENDING with lease_owner and lease_expires_at = now +
 *    the endpoint's timeout + leaseMarginMs, the rate windows of the endpoints claimed from are advanced (their rows
 *    are locked for that; the advisory lock already orders it), and the status changes are NOTIFYed.
 * As the second statement needs nothing from the first's answer, both are sent at once (pipelined): with BEGIN and
 * COMMIT, a claim is three round trips.
 *
 * Speed: per ACTIVE endpoint a few index probes (deliveries_endpoint_due_idx for the oldest due row, and
 * deliveries_endpoint_idx for its SENDING rows), reading at most allowance + 1 due rows of a locked endpoint, where
 * allowance is at most `limit` (no other claimer competes for a locked endpoint's rows), so neither a backlog held
 * for a stopped endpoint, nor one an endpoint at its cap cannot take, nor rows due later are scanned. With many
 * endpoints due at once that would still be up to `limit` rows each for `limit` claimed in all, so a cutoff bounds
 * it: see `sampled`. A claim of 100 over 50 busy endpoints reads ~250 rows, not ~5,000.
 */
export async function claimDue(
  sql: Sql,
  options: { leaseOwner: string; limit: number; leaseMarginMs: number },
): Promise<ClaimResult> {
  const { leaseOwner, limit, leaseMarginMs } = options;
  const scan = limit * LOOKAHEAD;
  return sql.begin(async (tx) => {
    const lock = tx<{ full: string[]; rateResumeInMs: number | null }[]>`
      with due as (
        select e.id, e.max_concurrency, e.rate_limit_per_second, e.rate_window_started_at, e.rate_window_count,
               least((select d.next_attempt_at
                        from deliveries d
                       where d.endpoint_id = e.id
                         and d.status in ('PENDING', 'RETRYING')
                         and d.next_attempt_at <= now()
                       order by d.next_attempt_at
                       limit 1),
                     (select min(d.next_attempt_at)
                        from deliveries d
                       where d.endpoint_id = e.id and d.status = 'SENDING' and d.lease_expires_at < now())) as due_at
          from endpoints e
          join webhooks w on w.id = e.webhook_id and w.state = 'ACTIVE'
         where e.state = 'ACTIVE'
      ),
      waiting as (
        select id, due_at, max_concurrency,
               (select count(*)
                  from deliveries s
                 where s.endpoint_id = due.id and s.status = 'SENDING' and s.lease_expires_at >= now()) as live,
               case when rate_limit_per_second is not null and rate_window_started_at > now() - interval '1 second'
                         and rate_window_count >= rate_limit_per_second
                    then rate_window_started_at + interval '1 second' end as rate_reopens_at
          from due
         where due_at is not null
      ),
      open as (
        select id, due_at
          from waiting
         where rate_reopens_at is null and live < max_concurrency
         order by due_at
         limit ${scan}
      )
      /*
       * Also answered: the endpoints whose due work waits for a slot (at max_concurrency) and when the first closed
       * rate window reopens. Nothing else would make this worker claim for them again before its next poll: a
       * settled lease of such an endpoint, or that time, must.
       */
      select set_config(${LOCKED_SETTING}, coalesce(array_agg(id), '{}')::text, true),
             (select coalesce(array_agg(id), '{}') from waiting where live >= max_concurrency) as "full",
             (select greatest(0, min(extract(epoch from rate_reopens_at - now()) * 1000)) from waiting)::float8
               as "rateResumeInMs"
        from (select id from open where pg_try_advisory_xact_lock(${CLAIM_LOCK_SPACE}, hashtext(id)) limit ${limit}) l`;
    const claim = tx<ClaimRow[]>`
      with ep as (
        select e.id,
               e.max_concurrency - (select count(*)::int
                                      from deliveries s
                                     where s.endpoint_id = e.id and s.status = 'SENDING'
                                       and s.lease_expires_at >= now()) as free_slots,
               case when e.rate_limit_per_second is null then null
                    when e.rate_window_started_at > now() - interval '1 second'
                      then e.rate_limit_per_second - e.rate_window_count
                    else e.rate_limit_per_second end as rate_left
          from endpoints e
          join webhooks w on w.id = e.webhook_id and w.state = 'ACTIVE'
         where e.id = any(coalesce(nullif(current_setting(${LOCKED_SETTING}, true), ''), '{}')::text[])
           and e.state = 'ACTIVE'
      ),
      allowed as (
        select id, free_slots, rate_left, greatest(0, least(free_slots, rate_left, ${limit})) as allowance,
               ceil(${limit}::numeric / count(*) over ())::int as share
          from ep
      ),
      /*
       * sampled: each endpoint's oldest least(allowance, limit / endpoints) allowed rows. They are allowed rows, so
       * the limit-th oldest of them (cutoff) is due no earlier than the limit-th oldest allowed row of all: every
       * row this claim can take is due by the cutoff. Endpoints whose caps cannot bind in this claim (more than
       * limit free slots and rate left) then read only rows due by the cutoff; the others read allowance + 1
       * whatever it is, as they must tell whether more is due than they took. One endpoint: no cutoff needed.
       * cutoff is materialized: it is read once per endpoint below.
       */
      sampled as (
        select s.due_at
          from allowed a
          cross join lateral (
            select u.due_at
              from ((select d.next_attempt_at as due_at
                       from deliveries d
                      where d.endpoint_id = a.id
                        and d.status in ('PENDING', 'RETRYING')
                        and d.next_attempt_at <= now()
                      order by d.next_attempt_at
                      limit least(a.allowance, a.share))
                    union all
                    (select d.next_attempt_at
                       from deliveries d
                      where d.endpoint_id = a.id and d.status = 'SENDING' and d.lease_expires_at < now()
                      order by d.next_attempt_at
                      limit least(a.allowance, a.share))) u
             order by u.due_at
             limit least(a.allowance, a.share)
          ) s
      ),
      cutoff as materialized (
        select case when (select count(*) from allowed) > 1
                    then coalesce((select due_at from sampled order by due_at offset ${limit - 1} limit 1), 'infinity')
                    else 'infinity' end as due_at
      ),
      candidates as (
        -- One row more than allowed, to tell whether more is due than the caps let through.
        select c.id, c.due_at, c.n, a.id as endpoint_id, a.allowance
          from allowed a
          cross join lateral (
            select case when least(a.free_slots, a.rate_left) <= ${limit} then 'infinity' else cutoff.due_at end
                     as due_at
              from cutoff
          ) cut
          cross join lateral (
            select u.id, u.due_at, row_number() over (order by u.due_at) as n
              from ((select d.id, d.next_attempt_at as due_at
                       from deliveries d
                      where d.endpoint_id = a.id
                        and d.status in ('PENDING', 'RETRYING')
                        and d.next_attempt_at <= now()
                        and d.next_attempt_at <= cut.due_at
                      order by d.next_attempt_at
                      limit a.allowance + 1)
                    union all
                    (select d.id, d.next_attempt_at
                       from deliveries d
                      where d.endpoint_id = a.id and d.status = 'SENDING' and d.lease_expires_at < now()
                        and d.next_attempt_at <= cut.due_at
                      order by d.next_attempt_at
                      limit a.allowance + 1)) u
             order by u.due_at
             limit a.allowance + 1
          ) c
      ),
      picked as (
        -- The oldest allowed candidates first, cut to twice the limit before they are joined and locked (rows
        -- skipped as locked are rare: the endpoint is ours), so the join does not grow with the number of endpoints.
        select d.id
          from (select id, due_at from candidates where n <= allowance order by due_at limit ${scan}) c
          join deliveries d on d.id = c.id
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
        returning d.id, d.event_id, d.webhook_id, d.endpoint_id, d.attempt_count, d.next_attempt_at
      ),
      found as (
        select endpoint_id, count(*)::int as found from candidates group by endpoint_id
      ),
      per_endpoint as (
        select a.id, a.free_slots, a.rate_left, count(c.id)::int as taken, f.found > count(c.id) as more
          from allowed a
          join found f on f.endpoint_id = a.id
          left join claimed c on c.endpoint_id = a.id
         group by a.id, a.free_slots, a.rate_left, f.found
      ),
      windows as (
        update endpoints e
           set rate_window_started_at = case when e.rate_window_started_at > now() - interval '1 second'
                                             then e.rate_window_started_at else now() end,
               rate_window_count = case when e.rate_window_started_at > now() - interval '1 second'
                                        then e.rate_window_count else 0 end + p.taken
          from per_endpoint p
         where e.id = p.id and p.taken > 0 and e.rate_limit_per_second is not null
        returning e.id, e.rate_window_started_at
      ),
      -- One notification per PER_NOTIFICATION claimed deliveries (payloads must stay under 8000 bytes); read by the
      -- main query, else a SELECT in WITH would not run. Listeners hear them only at commit.
      notified as (
        select pg_notify(${DELIVERY_UPDATED_CHANNEL},
                         json_build_object('deliveries', json_agg(json_build_object('id', id, 'status', 'SENDING')
                                                                  order by n))::text)
          from (select id, row_number() over (order by next_attempt_at, id) - 1 as n from claimed) c
         group by n / ${PER_NOTIFICATION}
      )
      select c.id as "deliveryId", c.attempt_count + 1 as "attemptNumber",
             (select count(*) from notified) as "notifications",
             p.more and p.free_slots - p.taken <= 0 as "endpointSaturated",
             case when p.more and p.rate_left - p.taken <= 0
                  then greatest(0, extract(epoch from wn.rate_window_started_at + interval '1 second' - now()) * 1000)
             end::float8 as "rateResumeInMs",
             ev.id as "eventId", ev.type as "eventType", ev.occurred_at as "occurredAt", ev.context, ev.data,
             w.id as "webhookId", w.name as "webhookName", w.headers as "webhookHeaders", w.properties,
             w.secret, w.previous_secret as "previousSecret",
             w.previous_secret_expires_at as "previousSecretExpiresAt",
             e.id as "endpointId", e.kind, e.url, e.method, e.query_params as "queryParams",
             e.headers as "endpointHeaders", e.content_type as "contentType", e.body_template as "bodyTemplate",
             e.auth, e.timeout_ms as "timeoutMs", e.email_to as "emailTo"
        from claimed c
        join per_endpoint p on p.id = c.endpoint_id
        left join windows wn on wn.id = c.endpoint_id
        join events ev on ev.id = c.event_id
        join webhooks w on w.id = c.webhook_id
        join endpoints e on e.id = c.endpoint_id
       order by c.next_attempt_at, c.id`;
    const [[waits], rows] = await Promise.all([lock, claim]);
    const saturated = new Set<string>(waits.full);
    let resumeInMs: number | null = waits.rateResumeInMs;
    for (const r of rows) {
      if (r.endpointSaturated) saturated.add(r.endpointId);
      if (r.rateResumeInMs !== null) resumeInMs = Math.min(resumeInMs ?? Infinity, r.rateResumeInMs);
    }
    const claims = rows.map((r): ClaimedDelivery => ({
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
    return { claims, saturated: [...saturated], resumeInMs };
  });
}

type ClaimRow = {
  deliveryId: string;
  attemptNumber: number;
  endpointSaturated: boolean;
  rateResumeInMs: number | null;
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
