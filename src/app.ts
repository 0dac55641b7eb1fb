import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ensureAdminToken, tokenAuthenticator } from './auth/tokens.js';
import type { Config } from './config.js';
import { connectDatabase, isDatabaseUnavailable, type Database } from './db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrateUnderLock } from './db/migrate.js';
import { DeliveryWorker } from './delivery/loop.js';
import { DeliveryMetrics } from './delivery/metrics.js';
import { Sender } from './delivery/send.js';
import type { Services } from './graphql/context.js';
import { attachGraphqlWs } from './graphql/ws.js';
import { createGraphqlServer, type Yoga } from './graphql/yoga.js';
import { serveConsole } from './http/console.js';
import { feedHandler } from './feed/http.js';
import { createRequestHandler } from './http/routes.js';
import { createLogger } from './logger.js';
import { createMailer } from './mail/mailer.js';
import { Pruner } from './retention/prune.js';
import { ReplayJobRunner } from './replay-jobs/runner.js';
import { TargetPolicy, type HostResolver } from './security/targets.js';
import { prepareSecretsAtRest } from './webhooks/secrets-at-rest.sql.js';

export interface AppOptions {
  config: Config;
  logger?: Logger;
  /** DNS for endpoint host names; tests inject one so that nothing is looked up off this machine. */
  resolver?: HostResolver;
  /** Sees every SQL statement (tests count them). */
  onQuery?: (query: string) => void;
}

export interface StartedApp {
  url: string;
  /** Set only on a first start without HOOKLINE_ADMIN_TOKEN: the generated admin token. */
  generatedAdminToken?: string;
}

export interface App {
  start(): Promise<StartedApp>;
  stop(): Promise<void>;
  /** Available once start() has resolved. */
  readonly services: Services;
}

/**
 * One Hookline process: HTTP (health, metrics, GraphQL + graphql-ws and the console for api roles) on one port,
 * the database (embedded unless DATABASE_URL is set) migrated under a lock.
 */
export function buildApp(options: AppOptions): App {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const servesApi = config.HOOKLINE_ROLE !== 'worker';
  const runsWorker = config.HOOKLINE_ROLE !== 'api';
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  let embedded: EmbeddedDatabase | undefined;
  let database: Database | undefined;
  let services: Services | undefined;
  let yoga: Yoga | undefined;
  let feed: ReturnType<typeof feedHandler> | undefined;
  let ready = false;
  let server: Server | undefined;
  let closeWs: (() => Promise<void>) | undefined;
  let worker: DeliveryWorker | undefined;
  let pruner: Pruner | undefined;
  let replayRunner: ReplayJobRunner | undefined;
  let starting: Promise<StartedApp> | undefined;
  let stopRequested = false;
  let wakeStart: (() => void) | undefined;

  async function isReady(): Promise<boolean> {
    if (!ready || !database) return false;
    try {
      await Promise.race([
        database.sql`select 1`,
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000)),
      ]);
      return true;
    } catch {
      return false;
    }
  }

  function start(): Promise<StartedApp> {
    starting ??= startOnce();
    return starting;
  }

  /**
   * HTTP first, so that /healthz answers while the process runs and /readyz (503) and /graphql (503) say it is not
   * ready yet; then the database, waited for with backoff when it is not reachable yet; then the rest.
   */
  async function startOnce(): Promise<StartedApp> {
    server = createServer(
      createRequestHandler({
        graphql: servesApi ? () => yoga : undefined,
        isReady,
        metrics,
        metricsToken: config.HOOKLINE_METRICS_TOKEN,
        maxBodyBytes: config.HOOKLINE_MAX_BODY_BYTES,
        feed: servesApi ? () => feed : undefined,
        console: servesApi ? serveConsole : undefined,
      }),
    );
    await new Promise<void>((resolveListen, reject) => {
      server!.once('error', reject);
      server!.listen(config.PORT, config.HOST, () => resolveListen());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;

    const dataDir = resolve(config.HOOKLINE_DATA_DIR);
    let url = config.DATABASE_URL;
    if (!url) {
      embedded = await startEmbeddedPostgres({ dataDir, logger });
      url = embedded.url;
    }
    const generatedAdminToken = await migrateWhenReachable(url);
    if (generatedAdminToken) {
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'admin-token'), generatedAdminToken + '\n', { mode: 0o600 });
    }
    const db = database!;
    const targets = new TargetPolicy(config.HOOKLINE_ALLOW_PRIVATE_TARGETS, config.HOOKLINE_ALLOWED_CIDRS, options.resolver);
    const mailer = createMailer(config);
    services = {
      config,
      db: db.db,
      sql: db.sql,
      logger,
      targets,
      sender: new Sender(targets, mailer, config.HOOKLINE_ENCRYPTION_KEY),
      mailer,
      authenticate: tokenAuthenticator(db.db),
    };
    const deliveryMetrics = new DeliveryMetrics(metrics, db.sql, logger);
    if (runsWorker) {
      const { sql, sender } = services;
      worker = new DeliveryWorker({ config, sql, logger, sender, mailer, metrics: deliveryMetrics });
      await worker.start();
      pruner = new Pruner({ config, sql, logger, registry: metrics });
      pruner.start();
      replayRunner = new ReplayJobRunner({
        sql,
        db: services.db,
        logger,
        leaseMs: config.HOOKLINE_LEASE_MARGIN,
        pollMs: config.HOOKLINE_POLL_INTERVAL,
      });
      await replayRunner.start();
    }
    if (servesApi) {
      yoga = createGraphqlServer(services);
      feed = feedHandler(services);
      closeWs = attachGraphqlWs(server, yoga, services).close;
    }
    ready = true;
    logger.info({ role: config.HOOKLINE_ROLE, port, embedded: Boolean(embedded) }, 'hookline started');
    return { url: `http://${host}:${port}`, generatedAdminToken };
  }

  /**
   * Connects and migrates; returns the admin token generated on a first start, if any. A database that is not
   * reachable yet (a container starting beside this one, a server restarting) is waited for with capped, jittered
   * backoff; any other error (bad credentials, a failed migration) ends the start at once.
   */
  async function migrateWhenReachable(url: string): Promise<string | undefined> {
    for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
      if (stopRequested) throw new Error('stopped while waiting for the database');
      database = connectDatabase(url, { max: config.HOOKLINE_DB_POOL_SIZE, onQuery: options.onQuery });
      try {
        let generated: string | undefined;
        await migrateUnderLock(database.sql, async () => {
          generated = await ensureAdminToken(database!.db, config.HOOKLINE_ADMIN_TOKEN);
          await prepareSecretsAtRest(database!.sql, config.HOOKLINE_ENCRYPTION_KEY, logger);
        });
        return generated;
      } catch (err) {
        await database.close(1).catch(() => {});
        database = undefined;
        if (!isDatabaseUnavailable(err)) throw err;
        const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
        logger.warn({ err: String(err), retryInMs: wait }, 'the database is not reachable yet; waiting for it');
        await new Promise<void>((r) => {
          const timer = setTimeout(r, wait);
          wakeStart = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
    }
  }

  /** Stop accepting, let in-flight requests finish (within the grace period), then close the pool and database. */
  async function stop(): Promise<void> {
    ready = false;
    // A start still under way ends first (a wait for the database is cut short), so nothing it starts is left.
    stopRequested = true;
    wakeStart?.();
    await starting?.catch(() => {});
    const deadline = Date.now() + config.HOOKLINE_SHUTDOWN_GRACE;
    // The worker finishes or releases its deliveries while HTTP closes; both before the pool closes.
    const workerStopped = Promise.all([worker?.stop(deadline - 1000), replayRunner?.stop()]);
    if (server) {
      const closed = new Promise<void>((r) => server!.close(() => r()));
      server.closeIdleConnections();
      await closeWs?.();
      const forced = setTimeout(() => server?.closeAllConnections(), Math.max(0, deadline - Date.now() - 1000));
      await closed;
      clearTimeout(forced);
    }
    await workerStopped;
    await pruner?.stop();
    await services?.sender.close();
    services?.mailer.close();
    await database?.close(Math.max(1, Math.floor((deadline - Date.now()) / 1000)));
    await embedded?.stop();
    logger.info('hookline stopped');
  }

  return {
    start,
    stop,
    get services() {
      if (!services) throw new Error('the app has not started');
      return services;
    },
  };
}
