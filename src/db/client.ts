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
    // Seconds before a connection that failed tries again, growing with the failures in a row, jittered (half to
    // all of it). postgres.js's own default reaches 20 s, so after a database restart a process (and its LISTEN)
    // could stay away that long; 4 s at most is still nothing for the server.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(2 ** retries / 10, 4),
  });
  const db = drizzle({ client: sql });
  return {
    sql,
    db,
    close: (timeoutSeconds = 5) => sql.end({ timeout: timeoutSeconds }),
  };
}

/**
 * Errors that mean the database is not there (not yet, or no longer) rather than that it refused something:
 * postgres.js connection errors, network errors, SQLSTATE class 08 (connection exception), 57P01–57P03 (shutting
 * down, crashed, starting up) and 53300 (too many connections). Wrapped errors are unwrapped (GraphQLError's
 * originalError, drizzle's DrizzleQueryError.cause).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; originalError?: unknown; cause?: unknown } | undefined; e && typeof e === 'object'; ) {
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}

const UNAVAILABLE_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
