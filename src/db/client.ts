import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';

export type Sql = postgres.Sql;
export type Db = PostgresJsDatabase;

export interface Database {
  sql: Sql;
  db: Db;
  close(timeoutSeconds?: number): Promise<void>;
}

export interface DatabaseOptions {
  max?: number;
  /** Called for every statement sent; tests use it to count queries. */
  onQuery?: (query: string) => void;
  applicationName?: string;
}

/** One postgres.js pool and a drizzle client on top of it. */
export function connectDatabase(url: string, options: DatabaseOptions = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'hookline' },
    debug: options.onQuery ? (_conn, query) => options.onQuery!(query) : undefined,
    // Numeric bigint counts (event_count) fit in a JS number for any realistic catalogue.
    types: { bigint: postgres.BigInt },
  });
  const db = drizzle({ client: sql });
  return {
    sql,
    db,
    close: (timeoutSeconds = 5) => sql.end({ timeout: timeoutSeconds }),
  };
}
