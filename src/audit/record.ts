import { auditLog } from '../../schema/db/audit.js';
import type { Db } from '../db/client.js';
import type { Viewer } from '../graphql/context.js';
import { idType, newId } from '../ids.js';
import { isCredentialName, REDACTED } from '../security/redact.js';
import type { Executor } from '../webhooks/queries.js';

/**
 * The changed object as far as the audit trail cares: its id (whose prefix gives its type), the team that owns it
 * (null: no team, or an ADMIN-wide object such as a token; it decides who may read the entry) and its webhook
 * (a webhook's is itself).
 */
export interface AuditTarget {
  id: string;
  teamId: string | null;
  webhookId?: string | null;
}

/** One change, as the mutation that made it describes it. */
export interface AuditChange {
  /** `<target>.<verb>`: `webhook.create`, `endpoint.state`, `webhook.rotate_secret`, `delivery.replay`, … */
  action: string;
  target: AuditTarget;
  /** Omit `before` for a creation and `after` for a deletion; with both, only the fields that differ are kept. */
  before?: object | null;
  after?: object | null;
}

/**
 * Writes the audit entry of a change. Call it with the transaction that makes the change, so that the change and
 * its entry commit or roll back together (a rejected mutation leaves no entry). Secrets are redacted here.
 */
export async function recordAudit(tx: Executor, viewer: Viewer | null, change: AuditChange): Promise<void> {
  const { target } = change;
  const targetType = idType(target.id) ?? 'Unknown';
  let before = change.before ? plain(change.before) : null;
  let after = change.after ? plain(change.after) : null;
  if (before && after) ({ before, after } = changedFields(before, after));
  await tx.insert(auditLog).values({
    id: newId('AuditEntry'),
    actorTokenId: viewer?.tokenId ?? null,
    actor: viewer?.name ?? null,
    teamId: target.teamId,
    action: change.action,
    targetType,
    targetId: target.id,
    webhookId: target.webhookId ?? (targetType === 'Webhook' ? target.id : null),
    before: before && redact(before),
    after: after && redact(after),
  });
}

/** Creates an object and records it, in one transaction; the entry's `after` is the row `create` returns. */
export function auditedCreate<T extends AuditTarget>(
  db: Db,
  viewer: Viewer | null,
  action: string,
  create: (tx: Executor) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const row = await create(tx);
    await recordAudit(tx, viewer, { action, target: row, after: row });
    return row;
  });
}

/**
 * Changes one object and records it, in one transaction. `lock` reads the object locked (SELECT … FOR UPDATE), so
 * that `before` is exactly what the change replaced even when another update races it; `change` writes and
 * returns the new row. Null, with nothing written, when `lock` or `change` finds no object.
 */
export function auditedUpdate<T extends AuditTarget>(
  db: Db,
  viewer: Viewer | null,
  action: string,
  lock: (tx: Executor) => PromiseLike<T[]>,
  change: (tx: Executor) => Promise<T | null>,
): Promise<T | null> {
  return db.transaction(async (tx) => {
    const [before] = await lock(tx);
    const after = before ? await change(tx) : null;
    if (!after) return null;
    await recordAudit(tx, viewer, { action, target: after, before, after });
    return after;
  });
}

/** Deletes one object and records it whole (as `lock` read it, locked), in one transaction. False: no object. */
export function auditedDelete<T extends AuditTarget>(
  db: Db,
  viewer: Viewer | null,
  action: string,
  lock: (tx: Executor) => PromiseLike<T[]>,
  remove: (tx: Executor) => Promise<boolean>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [before] = await lock(tx);
    if (!before || !(await remove(tx))) return false;
    await recordAudit(tx, viewer, { action, target: before, before });
    return true;
  });
}

type JsonObject = Record<string, unknown>;

/** As JSON will store it (dates as ISO strings, no undefined, plain prototypes), so that comparing is exact. */
const plain = (value: object): JsonObject => JSON.parse(JSON.stringify(value)) as JsonObject;

/** Bookkeeping that every update touches: the entry's own `at` and `actor` say it already. */
const BOOKKEEPING = new Set(['updatedAt', 'updatedBy']);

/** Only the top-level fields whose values differ, on both sides (a field absent on one side shows as null). */
export function changedFields(before: JsonObject, after: JsonObject): { before: JsonObject; after: JsonObject } {
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (key) => !BOOKKEEPING.has(key) && JSON.stringify(before[key] ?? null) !== JSON.stringify(after[key] ?? null),
  );
  return {
    before: Object.fromEntries(changed.map((key) => [key, before[key] ?? null])),
    after: Object.fromEntries(changed.map((key) => [key, after[key] ?? null])),
  };
}

/**
 * Fields that hold a secret wherever they appear: the webhook's signing secrets, the endpoint's credentials (its
 * `auth`), a token's value or hash. Matched by name at any depth, so an encrypted form (`enc:v1:…`) is hidden too.
 */
const SECRET_FIELDS = new Set(['secret', 'previousSecret', 'apiKey', 'bearerToken', 'basicPassword', 'token', 'tokenHash']);

/**
 * Custom headers whose name says they carry a credential: the names attempts and logs redact (security/redact.ts:
 * `Authorization`, `X-Api-Key`, `Ocp-Apim-Subscription-Key`, …), and a static `*-Signature` header too.
 */
const isCredentialHeader = (name: string) => isCredentialName(name) || /signature/i.test(name);

/**
 * The value with every secret replaced by "[redacted]" (a secret that is not set stays null, so the entry still
 * tells whether there was one). A changed secret therefore shows as a changed field without its value.
 */
export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redact) as T;
  if (value === null || typeof value !== 'object') return value;
  const object = value as JsonObject;
  if (typeof object.key === 'string' && 'value' in object && isCredentialHeader(object.key)) {
    return { ...object, value: REDACTED } as T;
  }
  return Object.fromEntries(
    Object.entries(object).map(([key, v]) => [key, SECRET_FIELDS.has(key) && v != null ? REDACTED : redact(v)]),
  ) as T;
}
