import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import postgres from 'postgres';
import { inject } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { withDatabase } from './global-setup.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test's own, cloned from the template made in global setup. */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplate');
  const name = `hookline_t_${inject('pgTemplate').split('_').pop()}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(options.migrated === false ? `create database "${name}"` : `create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(adminUrl, name),
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    },
  };
}

/**
 * A port on 127.0.0.1 that refuses connections until `open()`, then forwards them to the real PostgreSQL; `close()`
 * cuts every connection and refuses again: the database as a process sees it when the network or server is away.
 */
export async function lateDatabase(target: URL) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let cutCommit: ((sentSinceLastCommit: string) => boolean) | undefined;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async open() {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        sockets.add(client).add(upstream);
        let cut = false;
        const end = () => {
          client.destroy();
          if (!cut) upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
        upstream.pipe(client);
        let sent = '';
        const commitStatements = new Set<string>();
        client.on('data', (chunk: Buffer) => {
          const text = chunk.toString('latin1');
          sent += text;
          // postgres.js sends COMMIT as a prepared statement: a Parse message ('P', length, name, "commit") the first
          // time, then only Bind messages ('B', length, portal, that name).
          const parsed = /P[\s\S]{4}([^\x00]*)\x00commit\x00/i.exec(text);
          if (parsed) commitStatements.add(parsed[1]);
          const commits =
            parsed !== null ||
            [...commitStatements].some((name) => name !== '' && new RegExp(`B[\\s\\S]{4}[^\\x00]*\\x00${name}\\x00`).test(text));
          if (cutCommit && commits && cutCommit(sent)) {
            // The COMMIT reaches the server and is carried out, but its answer never reaches the client.
            cutCommit = undefined;
            cut = true;
            upstream.end(chunk);
            client.destroy();
            return;
          }
          if (commits) sent = '';
          upstream.write(chunk);
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', () => resolve()));
    },
    /**
     * Cuts the connection that next sends COMMIT, once the COMMIT is on its way to the server, if `when` holds for
     * what that connection sent since its last COMMIT: the commit happens, but the client never learns of it.
     */
    cutAtCommit(when: (sentSinceLastCommit: string) => boolean) {
      cutCommit = when;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      if (server) await new Promise((resolve) => server!.close(resolve));
    },
  };
}
