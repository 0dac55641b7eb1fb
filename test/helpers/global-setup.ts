import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrateUnderLock } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on the test server from which any database may be created or dropped. */
    pgAdminUrl: string;
    /** The migrated template every test database is cloned from. */
    pgTemplate: string;
  }
}

/**
 * Tests run on a real PostgreSQL: the server at DATABASE_URL when it is set, else an embedded one started here.
 * The schema is migrated once into a template database; each test file clones its own database from it.
 */
export default async function setup(project: TestProject) {
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = await mkdtemp(join(tmpdir(), 'hookline-test-pg-'));
    embedded = await startEmbeddedPostgres({
      dataDir,
      database: 'postgres',
      // A throwaway cluster: durability is not needed, speed is.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    });
    adminUrl = embedded.adminUrl;
  }
  const template = `hookline_template_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${template}" with (force)`);
  await admin.unsafe(`create database "${template}"`);
  const templateSql = postgres(withDatabase(adminUrl, template), { max: 4, onnotice: () => {} });
  await migrateUnderLock(templateSql);
  await templateSql.end();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);
  process.stdout.write(`test database server: ${embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}\n`);

  return async () => {
    const leftovers = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like ${`hookline_t_${process.pid}_%`} or datname = ${template}`;
    for (const { datname } of leftovers) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin.end();
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
