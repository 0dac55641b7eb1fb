import { buildApp } from './app.js';
import { ConfigError, configFromProcess, type Config } from './config.js';
import { createLogger } from './logger.js';

/** `hookline serve`: one process, configured from the environment, stopped by SIGTERM/SIGINT. */
export async function serve(): Promise<void> {
  let config: Config;
  try {
    config = configFromProcess();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hookline: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  const app = buildApp({ config, logger });
  const starting = app.start();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A hard deadline in case something refuses to close within the grace period.
    setTimeout(() => {
      logger.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.HOOKLINE_SHUTDOWN_GRACE + 2000).unref();
    // During start-up too: stop() cuts a wait for the database short and lets the start unwind first.
    app
      .stop()
      .then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'error while stopping');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    const started = await starting;
    const lines = [`Hookline is running (${config.HOOKLINE_ROLE})`];
    if (config.HOOKLINE_ROLE !== 'worker') {
      lines.push(`  console:  ${started.url}/`, `  GraphQL:  ${started.url}/graphql`);
    }
    lines.push(`  health:   ${started.url}/healthz  ${started.url}/readyz  ${started.url}/metrics`);
    if (started.generatedAdminToken) {
      lines.push(
        '',
        `  Admin API token (shown once; also saved to ${config.HOOKLINE_DATA_DIR}/admin-token):`,
        `    ${started.generatedAdminToken}`,
      );
    }
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    logger.fatal({ err }, 'hookline failed to start');
    if (stopping) return; // the shutdown under way stops what did start, and exits
    await app.stop().catch(() => {});
    process.exit(1);
  }
}
