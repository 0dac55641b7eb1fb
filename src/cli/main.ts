import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { cliEnvFromProcess, ConfigError, configFromProcess, type CliEnv } from '../config.js';
import { connectDatabase, type Sql } from '../db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { migrateUnderLock } from '../db/migrate.js';
import { createLogger } from '../logger.js';
import { API_HELP, API_OPTIONS, apiTarget, CliError, graphql } from './api.js';
import { listen } from './listen.js';
import { painter, type Painter } from './output.js';

/**
 * `hookline <command>`: serve and migrate work on the database directly (configured like the server, by
 * environment variables); the other commands are clients of a running Hookline's GraphQL API.
 */

interface Io {
  env: CliEnv;
  paint: Painter;
  out: NodeJS.WriteStream;
}

interface Command {
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Resolves with the exit code (serve never resolves: it exits on a signal). */
  run(values: Record<string, string | boolean | undefined>, positionals: string[], io: Io): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'start Hookline (the same as npm start)',
    help: `Usage: hookline serve [--port <n>] [--host <address>] [--role all|api|worker]

Starts Hookline: API, console and delivery worker (by role), configured by environment variables (see README);
the flags set PORT, HOST and HOOKLINE_ROLE. Stops on Ctrl-C or SIGTERM.

Examples:
  hookline serve
  hookline serve --port 8080 --host 0.0.0.0
  DATABASE_URL=postgres://hookline@db/hookline hookline serve --role worker`,
    options: { port: { type: 'string' }, host: { type: 'string' }, role: { type: 'string' } },
    async run(values) {
      // serve() reads its whole configuration (and checks these) from the environment, like npm start.
      if (values.port !== undefined) process.env.PORT = String(values.port);
      if (values.host !== undefined) process.env.HOST = String(values.host);
      if (values.role !== undefined) process.env.HOOKLINE_ROLE = String(values.role);
      const { serve } = await import('../main.js');
      await serve();
      return new Promise<number>(() => {}); // runs until a signal ends the process
    },
  },

  migrate: {
    summary: 'apply pending database migrations and exit',
    help: `Usage: hookline migrate

Applies the pending migrations to DATABASE_URL (or to the embedded database in HOOKLINE_DATA_DIR) and exits.
Safe while other Hookline processes start or run: migrations are applied under a PostgreSQL advisory lock.
Hookline also migrates at every start; this is for deploy pipelines that migrate first.

Examples:
  DATABASE_URL=postgres://hookline:secret@db:5432/hookline hookline migrate
  HOOKLINE_DATA_DIR=./.hookline hookline migrate`,
    options: {},
    async run(_values, _positionals, { out, paint }) {
      const config = configFromProcess();
      const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
      let embedded: EmbeddedDatabase | undefined;
      const url = config.DATABASE_URL ?? (embedded = await startEmbeddedPostgres({ dataDir: resolve(config.HOOKLINE_DATA_DIR), logger })).url;
      const database = connectDatabase(url, { max: 2, applicationName: 'hookline migrate' });
      try {
        const before = await appliedMigrations(database.sql);
        await migrateUnderLock(database.sql);
        const after = await appliedMigrations(database.sql);
        out.write(
          `${paint('green', '✔')} ${after - before} migration${after - before === 1 ? '' : 's'} applied; ` +
            `the database is up to date (${after} in all)\n`,
        );
        return 0;
      } finally {
        await database.close();
        await embedded?.stop();
      }
    },
  },

  token: {
    summary: 'create an API token (token create)',
    help: `Usage: hookline token create --name <name> --role ADMIN|EDITOR|VIEWER [--team <teamId>]

Creates an API token (needs an ADMIN token) and prints it on stdout; it is shown only this once.
EDITOR and VIEWER tokens belong to a team (--team); ADMIN tokens to none.

${API_HELP}

Examples:
  hookline token create --name billing-service --role EDITOR --team team_01h…
  TOKEN=$(hookline token create --name ci --role VIEWER --team team_01h…)`,
    options: { ...API_OPTIONS, name: { type: 'string' }, role: { type: 'string' }, team: { type: 'string' } },
    async run(values, positionals, { env, out, paint }) {
      if (positionals[0] !== 'create') throw new CliError('token: the only subcommand is "create"; see hookline token --help', 2);
      const name = required(values, 'name');
      const role = required(values, 'role').toUpperCase();
      const target = apiTarget(values, env);
      const { createApiToken } = await graphql<{ createApiToken: { token: string } }>(
        target,
        'mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }',
        { input: { name, role, teamId: values.team ?? null } },
      );
      out.write(createApiToken.token + '\n');
      process.stderr.write(paint('dim', `created ${role} token "${name}"; it is not shown again\n`));
      return 0;
    },
  },

  publish: {
    summary: 'publish an event',
    help: `Usage: hookline publish <type> [--data @file.json | --data '<json>'] [--context <json>] [--idempotency-key <key>]

Publishes one event of <type> (<resource>.<event>) and prints its id and the deliveries it made.
--data and --context take JSON, or @path to read it from a file (@- : standard input). Default data: {}.

${API_HELP}

Examples:
  hookline publish order.created --data '{"orderId": 42, "total": 99.5}'
  hookline publish order.created --data @order.json --idempotency-key order-42`,
    options: { ...API_OPTIONS, data: { type: 'string' }, context: { type: 'string' }, 'idempotency-key': { type: 'string' } },
    async run(values, positionals, { env, out, paint }) {
      const [type] = positionals;
      if (!type) throw new CliError('publish: give the event type, e.g. hookline publish order.created --data @order.json', 2);
      const input = {
        type,
        data: values.data === undefined ? {} : await jsonArgument('--data', String(values.data)),
        context: values.context === undefined ? null : await jsonArgument('--context', String(values.context)),
        idempotencyKey: values['idempotency-key'] ?? null,
      };
      const { publishEvent } = await graphql<{
        publishEvent: { duplicate: boolean; event: { id: string }; deliveries: { id: string; endpoint: { url: string | null } }[] };
      }>(
        apiTarget(values, env),
        `mutation ($input: PublishEventInput!) {
          publishEvent(input: $input) { duplicate event { id } deliveries { id endpoint { url } } }
        }`,
        { input },
      );
      const { event, deliveries, duplicate } = publishEvent;
      out.write(`${paint('green', '✔')} ${duplicate ? 'already published as' : 'published'} ${paint('bold', event.id)} (${type})\n`);
      for (const d of deliveries) out.write(`  → ${d.id} ${paint('dim', d.endpoint.url ?? '(e-mail)')}\n`);
      if (deliveries.length === 0) out.write(paint('yellow', '  no webhook matched it: no deliveries\n'));
      return 0;
    },
  },

  replay: {
    summary: 'send a delivery again',
    help: `Usage: hookline replay <deliveryId>

Sends the delivery's event to its endpoint again: a new delivery (replayOf the old one) with the same
webhook-id. Prints the new delivery's id.

${API_HELP}

Example:
  hookline replay dlv_01h…`,
    options: { ...API_OPTIONS },
    async run(values, positionals, { env, out, paint }) {
      const [id] = positionals;
      if (!id) throw new CliError('replay: give the delivery id, e.g. hookline replay dlv_01h…', 2);
      const { replayDelivery } = await graphql<{ replayDelivery: { delivery: { id: string; status: string } } }>(
        apiTarget(values, env),
        'mutation ($id: ID!) { replayDelivery(id: $id) { delivery { id status } } }',
        { id },
      );
      out.write(`${paint('green', '✔')} replaying ${id} as ${paint('bold', replayDelivery.delivery.id)} (${replayDelivery.delivery.status})\n`);
      return 0;
    },
  },

  listen: {
    summary: 'forward a webhook\'s deliveries to a local server',
    help: `Usage: hookline listen --webhook <id> --forward-to <url> [--endpoint <id>]

Receives webhooks on a machine Hookline cannot reach (a laptop, no public URL): subscribes to the webhook's
deliveries over graphql-ws and sends each new one, exactly as Hookline builds it (method, headers with the
Standard Webhooks signature, body), to --forward-to. Prints a line per delivery with the local answer, and a
summary on Ctrl-C. The deliveries themselves still go to their endpoints as usual; --endpoint narrows the
forwarding to one endpoint's deliveries (a webhook with several endpoints has one delivery per endpoint).

${API_HELP}

Example:
  hookline listen --webhook wh_01h… --forward-to http://localhost:3000/hooks`,
    options: { ...API_OPTIONS, webhook: { type: 'string' }, endpoint: { type: 'string' }, 'forward-to': { type: 'string' } },
    async run(values, _positionals, { env, out, paint }) {
      const webhookId = required(values, 'webhook');
      const forwardTo = required(values, 'forward-to');
      let url: URL;
      try {
        url = new URL(forwardTo);
      } catch {
        throw new CliError(`--forward-to: "${forwardTo}" is not a URL`, 2);
      }
      if (!['http:', 'https:'].includes(url.protocol)) throw new CliError('--forward-to: must be an http(s) URL', 2);
      const endpointId = values.endpoint === undefined ? undefined : String(values.endpoint);
      return listen(apiTarget(values, env), { webhookId, endpointId, forwardTo: url, out, paint });
    },
  },
};

function usage(paint: Painter): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${paint('bold', name.padEnd(width))}  ${c.summary}`);
  return `Usage: hookline <command> [options]   (hookline <command> --help for each)

Commands:
${lines.join('\n')}

Examples:
  hookline serve --port 4000
  hookline publish order.created --data @order.json
  hookline listen --webhook wh_01h… --forward-to http://localhost:3000/hooks
`;
}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new CliError(`--${name} is required`, 2);
  return value;
}

/** JSON given inline, or @file (@- for stdin). */
async function jsonArgument(flag: string, value: string): Promise<unknown> {
  let text = value;
  if (value.startsWith('@')) {
    const path = value.slice(1);
    try {
      text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
    } catch (err) {
      throw new CliError(`${flag}: cannot read ${path}: ${(err as Error).message}`, 2);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${flag}: not valid JSON (${(err as Error).message})`, 2);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs a command line (without `node hookline.js`); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const env = cliEnvFromProcess();
  const out = process.stdout;
  const paint = painter(out, env.NO_COLOR);
  const errPaint = painter(process.stderr, env.NO_COLOR);
  const [name = 'serve', ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    out.write(usage(paint));
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`hookline: unknown command "${name}"\n\n${usage(errPaint)}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      out.write(command.help + '\n');
      return 0;
    }
    return await command.run(values, positionals, { env, paint, out });
  } catch (err) {
    if (err instanceof CliError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const exitCode = err instanceof CliError ? err.exitCode : 2;
      process.stderr.write(`${errPaint('red', 'hookline:')} ${(err as Error).message}\n`);
      if (exitCode === 2) process.stderr.write(`see: hookline ${name} --help\n`);
      return exitCode;
    }
    throw err;
  }
}

/** Migrations recorded by drizzle (0 on an empty database, where its table does not exist yet). */
async function appliedMigrations(sql: Sql): Promise<number> {
  const [{ exists }] = await sql<{ exists: boolean }[]>`select to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
  if (!exists) return 0;
  const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
  return n;
}
