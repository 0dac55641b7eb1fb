import { inArray } from 'drizzle-orm';
import { z } from 'zod';
import { events } from '../../schema/db/events.js';
import { isDatabaseUnavailable } from '../db/client.js';
import { insertDeliveries } from '../deliveries/outbox.js';
import { badInput, parseInput } from '../errors.js';
import type { Services, Viewer } from '../graphql/context.js';
import { newId } from '../ids.js';
import { countEventTypes, insertNewTypes } from './catalogue.js';
import { planDeliveries, splitEventType, type CandidateWebhook, type MatchableEvent } from './matching.js';

export type EventRow = typeof events.$inferSelect;

export interface PublishEventInput {
  type: string;
  /** Required by the GraphQL input type. */
  data?: unknown;
  context?: unknown;
  occurredAt?: Date | null;
  idempotencyKey?: string | null;
}

export interface PublishResult {
  event: EventRow;
  /** The input's idempotency key was seen before: `event` is the first event published with it. */
  duplicate: boolean;
}

export const MAX_BATCH = 1000;

const eventType = z
  .string()
  .max(200, 'at most 200 characters')
  .refine((type) => type.includes('.'), 'must be <resource>.<event>, e.g. contact.created')
  .refine((type) => splitEventType(type) !== null, 'each dot-separated segment may hold only letters, digits, _ and -')
  .refine((type) => splitEventType(type)?.resource.toLowerCase() !== 'hookline', 'hookline.* event types are reserved');

const publishInput = z.object({
  type: eventType,
  data: z.unknown(),
  context: z
    .unknown()
    .refine((v) => v == null || (typeof v === 'object' && !Array.isArray(v)), 'must be a JSON object or null')
    .optional()
    .transform((v) => (v ?? null) as Record<string, unknown> | null),
  occurredAt: z
    .date()
    .refine((d) => d.getUTCFullYear() >= 1, 'must be in year 1 or later')
    .nullish(),
  idempotencyKey: z
    .string()
    .min(1, 'must not be empty')
    .max(200, 'at most 200 characters')
    .refine((key) => !key.includes('\0'), 'must not contain NUL characters')
    .nullish(),
});

/**
 * PostgreSQL's jsonb cannot hold NUL characters or unpaired UTF-16 surrogates. JSON.stringify writes exactly
 * those as `\u0000` / `\udXXX` escapes (a backslash in the text itself comes out doubled), so they are found here.
 */
const UNSTORABLE_JSON = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

type ValidEvent = MatchableEvent & {
  id: string;
  type: string;
  occurredAt: Date;
  idempotencyKey: string | null;
  /** Serialised once here, for the size check and for the INSERT. */
  dataJson: string;
  contextJson: string | null;
};

/** Checks every input before anything is written; the first problem names its path (`inputs[3].type`). */
function validate(inputs: PublishEventInput[], path: (index: number) => string, maxBytes: number): ValidEvent[] {
  const now = new Date();
  return inputs.map((raw, index) => {
    const input = parseInput(publishInput, raw, path(index));
    const dataJson = JSON.stringify(input.data);
    const contextJson = input.context === null ? null : JSON.stringify(input.context);
    for (const [field, json] of [['data', dataJson], ['context', contextJson]] as const) {
      // Such text always holds a `\\u` escape: the usual text without one skips the regex.
      if (json !== null && json.includes('\\u') && UNSTORABLE_JSON.test(json)) {
        throw badInput(`${path(index)}.${field}`, 'contains a NUL character or an unpaired surrogate, which cannot be stored');
      }
    }
    const bytes = Buffer.byteLength(dataJson) + (contextJson === null ? 0 : Buffer.byteLength(contextJson));
    if (bytes > maxBytes) {
      throw badInput(`${path(index)}.data`, `data and context are ${bytes} bytes of JSON, more than the limit of ${maxBytes}`);
    }
    return {
      ...splitEventType(input.type)!,
      id: newId('Event'),
      type: input.type,
      data: input.data,
      context: input.context,
      occurredAt: input.occurredAt ?? now,
      idempotencyKey: input.idempotencyKey ?? null,
      dataJson,
      contextJson,
    };
  });
}

type PublishServices = Pick<Services, 'sql' | 'db' | 'config' | 'logger'>;

/** publishEvents: all inputs are validated first (all or nothing), then written in one transaction. */
export async function publishEvents(
  services: PublishServices,
  viewer: Viewer,
  inputs: PublishEventInput[],
  path: (index: number) => string,
): Promise<PublishResult[]> {
  if (inputs.length > MAX_BATCH) throw badInput('inputs', `at most ${MAX_BATCH} events per call`);
  const valid = validate(inputs, path, services.config.HOOKLINE_MAX_EVENT_BYTES);
  if (valid.length === 0) return [];
  return writeEvents(services, viewer, valid);
}

/**
 * publishEvent: validated on its own (a bad input fails only its own call), then written by group commit:
 * singles that arrive while a publish transaction of the same token name is in flight wait for it and are then
 * written together, in one transaction through writeEvents, each caller getting its own result once that
 * transaction has committed. A busy producer then pays one transaction (and one fsync) per group instead of per
 * event; an idle one waits for nothing.
 */
export async function publishEvent(services: PublishServices, viewer: Viewer, input: PublishEventInput): Promise<PublishResult> {
  const [event] = validate([input], () => 'input', services.config.HOOKLINE_MAX_EVENT_BYTES);
  let groups = committers.get(services.sql);
  if (!groups) committers.set(services.sql, (groups = new Map()));
  // Grouped per token name: it is the events' created_by, one value per transaction.
  let committer = groups.get(viewer.name);
  if (!committer) groups.set(viewer.name, (committer = new GroupCommit(services, viewer, () => groups.delete(viewer.name))));
  return committer.add(event);
}

type Waiting = { event: ValidEvent; resolve: (result: PublishResult) => void; reject: (err: unknown) => void };

const committers = new WeakMap<PublishServices['sql'], Map<string, GroupCommit>>();

class GroupCommit {
  private queue: Waiting[] = [];
  private running = false;

  constructor(
    private readonly services: PublishServices,
    private readonly viewer: Viewer,
    private readonly idle: () => void,
  ) {}

  add(event: ValidEvent): Promise<PublishResult> {
    const result = new Promise<PublishResult>((resolve, reject) => this.queue.push({ event, resolve, reject }));
    if (this.queue.length === 1 && !this.running) void this.run();
    return result;
  }

  /** One transaction in flight; whatever queued meanwhile is the next group, started as soon as that one commits. */
  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_BATCH);
      await new Promise<void>((next) => {
        let committed = false;
        const onCommit = () => {
          committed = true;
          next();
        };
        writeEvents(this.services, this.viewer, group.map((w) => w.event), onCommit)
          .then(
            (results) => group.forEach((w, i) => w.resolve(results[i])),
            (err: unknown) => {
              // Failed after the commit (reading results back), or the connection broke, perhaps during COMMIT: the
              // events may be stored, so they are not written again; callers retry with their idempotency keys.
              if (committed || group.length === 1 || isDatabaseUnavailable(err)) return group.forEach((w) => w.reject(err));
              // Inputs are checked before they are queued, so this is rare (a lost connection…); to be sure that one
              // caller's event cannot fail the others, each is then written on its own and gets its own outcome.
              for (const w of group) writeEvents(this.services, this.viewer, [w.event]).then(([r]) => w.resolve(r), w.reject);
            },
          )
          .finally(next);
      });
    }
    this.running = false;
    this.idle();
  }
}

/**
 * Writes validated events: the one code path behind publishEvent and publishEvents. One transaction stores the
 * events and, for each new one, a delivery per ACTIVE endpoint of every ACTIVE webhook it matches (the outbox),
 * announced at commit to workers (hookline_work) and to live subscribers (hookline_delivery_updated, as PENDING).
 * Statements per batch are constant: the work is set-based (unnest).
 */
async function writeEvents(
  services: PublishServices,
  viewer: Viewer,
  valid: ValidEvent[],
  onCommit?: () => void,
): Promise<PublishResult[]> {
  // Within the batch, a repeated idempotency key refers to its first input ("leader"); only leaders are inserted.
  const leaderOf = new Map<string, ValidEvent>();
  const leaders = valid.filter((e) => {
    if (e.idempotencyKey === null) return true;
    if (leaderOf.has(e.idempotencyKey)) return false;
    leaderOf.set(e.idempotencyKey, e);
    return true;
  });
  const leaderFor = (e: ValidEvent) => (e.idempotencyKey === null ? e : leaderOf.get(e.idempotencyKey)!);

  const resources = ['*', ...new Set(leaders.map((e) => e.resource))];
  const eventNames = ['*', ...new Set(leaders.map((e) => e.event))];

  const { createdAt: inserted, typeCounts } = await services.sql.begin(async (tx) => {
    /*
     * Pipelined: the events INSERT and the two candidate SELECTs go out together. ON CONFLICT on the unique
     * idempotency index makes concurrent publishes with one key safe: the later one waits for the first to commit,
     * then inserts nothing and reports a duplicate. FOR KEY SHARE keeps the matched webhooks and endpoints from
     * being deleted before the deliveries referencing them are written (state changes are not blocked).
     * Timestamps travel as ISO text: drizzle turns postgres.js's timestamp serialisers off on this pool.
     */
    const [insertedRows, triggerRows, endpointRows] = await Promise.all([
      tx<{ id: string; createdAt: string }[]>`
        insert into events (id, type, occurred_at, context, data, idempotency_key, created_by)
        select id, type, occurred_at, context, coalesce(data, 'null'), key, ${viewer.name}::text
        from jsonb_to_recordset(${eventsDocument(leaders)}::jsonb)
          as u(id text, type text, occurred_at timestamptz, context jsonb, data jsonb, key text)
        on conflict (idempotency_key) do nothing
        returning id, created_at as "createdAt"`,
      tx<{ webhookId: string; forLogin: string | null; resource: string; event: string; filter: Record<string, unknown> | null }[]>`
        select t.webhook_id as "webhookId", w.for_login as "forLogin", t.resource, t.event, t.filter
        from triggers t join webhooks w on w.id = t.webhook_id
        where w.state = 'ACTIVE' and t.resource = any(${resources}::text[]) and t.event = any(${eventNames}::text[])
        for key share of w`,
      tx<{ id: string; webhookId: string }[]>`
        select e.id, e.webhook_id as "webhookId"
        from endpoints e join webhooks w on w.id = e.webhook_id
        where e.state = 'ACTIVE' and w.state = 'ACTIVE' and exists (
          select 1 from triggers t where t.webhook_id = e.webhook_id
            and t.resource = any(${resources}::text[]) and t.event = any(${eventNames}::text[]))
        order by e.id
        for key share of e`,
    ]);

    const createdAt = new Map(insertedRows.map((r) => [r.id, new Date(r.createdAt)]));
    const fresh = leaders.filter((e) => createdAt.has(e.id));
    const planned = planDeliveries(fresh, groupCandidates(triggerRows, endpointRows));

    const typeCounts = new Map<string, number>();
    for (const e of fresh) typeCounts.set(e.type, (typeCounts.get(e.type) ?? 0) + 1);

    await Promise.all([
      insertDeliveries(tx, planned.map((p) => ({ ...p, eventId: fresh[p.eventIndex].id }))),
      // Sorted: two batches inserting the same new types wait for each other in one order, never in a cycle.
      typeCounts.size > 0 && insertNewTypes(tx, [...typeCounts.keys()].sort()),
    ]);
    return { createdAt, typeCounts };
  });
  onCommit?.();

  // Leaders that were not inserted conflicted with a committed event of the same key: that one is the result.
  const conflictingKeys = leaders.filter((e) => !inserted.has(e.id)).map((e) => e.idempotencyKey!);
  const [existingRows] = await Promise.all([
    conflictingKeys.length > 0 ? services.db.select().from(events).where(inArray(events.idempotencyKey, conflictingKeys)) : [],
    typeCounts.size > 0 && countEventTypes(services.sql, services.logger, typeCounts),
  ]);
  const existing = new Map(existingRows.map((row) => [row.idempotencyKey!, row]));

  return valid.map((input) => {
    const leader = leaderFor(input);
    const createdAt = inserted.get(leader.id);
    if (createdAt) {
      const event: EventRow = {
        id: leader.id,
        type: leader.type,
        occurredAt: leader.occurredAt,
        context: leader.context,
        data: leader.data,
        idempotencyKey: leader.idempotencyKey,
        createdAt,
        createdBy: viewer.name,
      };
      return { event, duplicate: leader !== input };
    }
    const event = existing.get(leader.idempotencyKey!);
    if (!event) throw new Error(`event with idempotency key ${leader.idempotencyKey} vanished while publishing`);
    return { event, duplicate: true };
  });
}

/**
 * The rows to insert as one JSON array, spliced from the texts serialised during validation. One document rather
 * than a text array per column: postgres.js escapes every element of an array parameter character by character
 * in JavaScript (1 KB of data per event), while a string parameter goes out as it is. Parsed as jsonb, once:
 * the jsonb columns are then copied out of it (as `json`, each value was parsed a second time, into its jsonb
 * column: publishEvents of 900 took 76–117 ms against 57–78 ms as jsonb). A JSON null in a jsonb column comes out
 * as SQL NULL, hence the coalesce above.
 */
function eventsDocument(leaders: ValidEvent[]): string {
  const rows = leaders.map(
    (e) =>
      `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"occurred_at":"${e.occurredAt.toISOString()}",` +
      `"context":${e.contextJson ?? 'null'},"data":${e.dataJson},"key":${JSON.stringify(e.idempotencyKey)}}`,
  );
  return `[${rows.join(',')}]`;
}

function groupCandidates(
  triggerRows: { webhookId: string; forLogin: string | null; resource: string; event: string; filter: Record<string, unknown> | null }[],
  endpointRows: { id: string; webhookId: string }[],
): CandidateWebhook[] {
  const byId = new Map<string, CandidateWebhook>();
  for (const t of triggerRows) {
    let webhook = byId.get(t.webhookId);
    if (!webhook) byId.set(t.webhookId, (webhook = { id: t.webhookId, forLogin: t.forLogin, triggers: [], endpointIds: [] }));
    webhook.triggers.push({ resource: t.resource, event: t.event, filter: t.filter });
  }
  for (const e of endpointRows) byId.get(e.webhookId)?.endpointIds.push(e.id);
  return [...byId.values()].filter((w) => w.endpointIds.length > 0);
}
