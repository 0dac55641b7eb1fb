import { createHash, randomBytes } from 'node:crypto';
import { eq, and, isNull } from 'drizzle-orm';
import { apiTokens } from '../../schema/db/auth.js';
import type { Role } from '../../schema/db/enums.js';
import type { Db } from '../db/client.js';
import type { Viewer } from '../graphql/context.js';
import { newId } from '../ids.js';
import type { Executor } from '../webhooks/queries.js';

/** A new token: `hl_` (API tokens; `hlf_` for feed tokens) + 32 random bytes. Only its hash is stored. */
export function generateToken(prefix = 'hl'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function insertToken(
  db: Executor,
  input: { name: string; role: Role; teamId: string | null; createdBy: string | null },
  token = generateToken(),
): Promise<{ id: string; token: string }> {
  const id = newId('ApiToken');
  await db.insert(apiTokens).values({ id, ...input, tokenHash: hashToken(token) });
  return { id, token };
}

const CACHE_MS = 5_000;

/**
 * Turns an Authorization header into a Viewer. Lookups are cached for a few seconds per token hash so that a
 * busy producer does not pay one SQL query per request; a revoked token stops working within CACHE_MS.
 */
export function tokenAuthenticator(db: Db) {
  const cache = new Map<string, { viewer: Viewer | null; until: number }>();
  return async function authenticate(authorization: string | null | undefined): Promise<Viewer | null> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return null;
    const hash = hashToken(match[1]);
    const now = Date.now();
    const hit = cache.get(hash);
    if (hit && hit.until > now) return hit.viewer;
    const [row] = await db
      .select({ id: apiTokens.id, name: apiTokens.name, role: apiTokens.role, teamId: apiTokens.teamId })
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, hash), isNull(apiTokens.revokedAt)));
    const viewer = row ? { tokenId: row.id, name: row.name, role: row.role, teamId: row.teamId } : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, { viewer, until: now + CACHE_MS });
    return viewer;
  };
}

/**
 * Makes sure an admin can sign in. With HOOKLINE_ADMIN_TOKEN, a token with exactly that value exists. Without it,
 * on the first start (no admin token at all) one is generated and returned so the caller can print and save it.
 */
export async function ensureAdminToken(db: Db, configured: string | undefined): Promise<string | undefined> {
  if (configured) {
    // "Ensured": the configured value is an active ADMIN token afterwards, even if it had been revoked or demoted.
    await db
      .insert(apiTokens)
      .values({ id: newId('ApiToken'), name: 'admin', role: 'ADMIN', teamId: null, tokenHash: hashToken(configured) })
      .onConflictDoUpdate({ target: apiTokens.tokenHash, set: { role: 'ADMIN', teamId: null, revokedAt: null } });
    return undefined;
  }
  const [existing] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.role, 'ADMIN'), isNull(apiTokens.revokedAt)))
    .limit(1);
  if (existing) return undefined;
  const { token } = await insertToken(db, { name: 'admin', role: 'ADMIN', teamId: null, createdBy: 'hookline' });
  return token;
}
