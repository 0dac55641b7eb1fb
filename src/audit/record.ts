import { auditLog } from '../../schema/db/audit.js';
import type { Viewer } from '../graphql/context.js';
import { newId, type IdType } from '../ids.js';
import type { Executor } from '../webhooks/queries.js';

/** One change, as the mutation that made it describes it. */
export interface AuditChange {
  /** `<target>.<verb>`: `webhook.create`, `endpoint.state`, `webhook.rotate_secret`, `delivery.replay`, … */
  action: string;
  targetType: IdType;
  targetId: string;
  /** The team of the changed object (null: none, or an ADMIN-wide object such as a token): who may read the entry. */
  teamId: string | null;
  webhookId: string | null;
  /** Omit `before` for a creation and `after` for a deletion; with both, only the fields that differ are kept. */
  before?: object | null;
  after?: object | null;
}

/**
 * Writes the audit entry of a change. Call it with the transaction that makes the change, so that the change and
 * its entry commit or roll back together (a rejected mutation leaves no entry). Secrets are redacted here.
 */
export async function recordAudit(tx: Executor, viewer: Viewer | null, change: AuditChange): Promise<void> {
  let before = change.before ? plain(change.before) : null;
  let after = change.after ? plain(change.after) : null;
  if (before && after) ({ before, after } = changedFields(before, after));
  await tx.insert(auditLog).values({
    id: newId('AuditEntry'),
    actorTokenId: viewer?.tokenId ?? null,
    actor: viewer?.name ?? null,
    teamId: change.teamId,
    action: change.action,
    targetType: change.targetType,
    targetId: change.targetId,
    webhookId: change.webhookId,
    before: before && redact(before),
    after: after && redact(after),
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

export const REDACTED = '[redacted]';

/**
 * Fields that hold a secret wherever they appear: the webhook's signing secrets, the endpoint's credentials (its
 * `auth`), a token's value or hash. Matched by name at any depth, so an encrypted form (`enc:v1:…`) is hidden too.
 */
const SECRET_FIELDS = new Set(['secret', 'previousSecret', 'apiKey', 'bearerToken', 'basicPassword', 'token', 'tokenHash']);

/** Custom headers whose name says they carry a credential (`Authorization`, `X-Api-Key`, …): their value is hidden. */
const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|secret|passw|cookie|signature/i;

/**
 * The value with every secret replaced by "[redacted]" (a secret that is not set stays null, so the entry still
 * tells whether there was one). A changed secret therefore shows as a changed field without its value.
 */
export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redact) as T;
  if (value === null || typeof value !== 'object') return value;
  const object = value as JsonObject;
  if (typeof object.key === 'string' && 'value' in object && CREDENTIAL_HEADER.test(object.key)) {
    return { ...object, value: REDACTED } as T;
  }
  return Object.fromEntries(
    Object.entries(object).map(([key, v]) => [key, SECRET_FIELDS.has(key) && v != null ? REDACTED : redact(v)]),
  ) as T;
}
