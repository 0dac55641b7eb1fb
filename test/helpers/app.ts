import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { HostResolver } from '../../src/security/targets.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { graphqlClient, type GraphqlClient } from './gql.js';
import { startReceiver, type Receiver } from './receiver.js';

export interface TestApp {
  app: App;
  url: string;
  database: TestDatabase;
  adminToken: string;
  /** GraphQL as the admin; `.as(token)` for another token, `.as(null)` for none. */
  gql: GraphqlClient;
  /** SQL statements seen since the last reset. */
  queries: string[];
  stop(): Promise<void>;
}

/**
 * A real Hookline (HTTP, GraphQL, database) on a free port of 127.0.0.1 with its own database. Endpoint targets on
 * 127.0.0.1 are allowed (HOOKLINE_ALLOWED_CIDRS); host names resolve only through `resolver` (default: none).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: {
    resolver?: HostResolver;
    /** Where the app logs (tests capture its output); default: a logger per LOG_LEVEL on stdout. */
    logger?: Logger;
    /** Start on this database (another app's, e.g. to restart with other settings); it is not dropped at stop. */
    database?: TestDatabase;
  } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const adminToken = `hl_test_admin_${randomBytes(12).toString('hex')}`;
  const config = parseConfig({
    DATABASE_URL: database.url,
    PORT: '0',
    HOST: '127.0.0.1',
    HOOKLINE_ADMIN_TOKEN: adminToken,
    HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32',
    HOOKLINE_DATA_DIR: await mkdtemp(join(tmpdir(), 'hookline-test-data-')),
    LOG_LEVEL: 'silent',
    HOOKLINE_SHUTDOWN_GRACE: '5s',
    ...env,
  });
  const queries: string[] = [];
  const app = buildApp({
    config,
    logger: options.logger,
    onQuery: (q) => queries.push(q),
    resolver:
      options.resolver ??
      (async (host) => {
        throw Object.assign(new Error(`test resolver: no address for ${host}`), { code: 'ENOTFOUND' });
      }),
  });
  const { url } = await app.start();
  return {
    app,
    url,
    database,
    adminToken,
    gql: graphqlClient(`${url}/graphql`, adminToken),
    queries,
    async stop() {
      await app.stop();
      if (!options.database) await database.drop();
    },
  };
}

/**
 * A test app logging errors (an unexpected one shows its cause in the test output) and a receiver on 127.0.0.1,
 * started before the calling file's tests and stopped after them.
 */
export function useAppWithReceiver(): { t: TestApp; receiver: Receiver } {
  // Filled in by beforeAll: the tests read the fields, which do not exist before it runs.
  const ctx = {} as { t: TestApp; receiver: Receiver };
  beforeAll(async () => {
    [ctx.t, ctx.receiver] = await Promise.all([startTestApp({ LOG_LEVEL: 'error' }), startReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([ctx.t?.stop(), ctx.receiver?.close()]);
  });
  return ctx;
}
