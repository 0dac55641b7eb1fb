import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import type { Sql } from './client.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../schema/migrations', import.meta.url));

/** Arbitrary constant shared by every Hookline process: the key of the migration advisory lock. */
const MIGRATION_LOCK_KEY = 7_302_451_911;

/**
 * Applies pending drizzle-kit migrations. Several processes may start at once on a fresh database: each takes a
 * session-level advisory lock on one reserved connection, so exactly one applies the migrations while the others
 * wait, then find nothing left to do. The lock is released (and the connection returned) whatever happens.
 */
export async function migrateUnderLock(sql: Sql, thenWhileLocked?: () => Promise<void>): Promise<void> {
  const lockConnection = await sql.reserve();
  try {
    await lockConnection`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle({ client: sql }), { migrationsFolder: MIGRATIONS_FOLDER });
      // Start-up work that must not race between processes (e.g. generating the first admin token).
      await thenWhileLocked?.();
    } finally {
      await lockConnection`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    lockConnection.release();
  }
}
