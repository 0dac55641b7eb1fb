import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type postgres from 'postgres';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/db.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { createWebhook, openSql } from '../helpers/webhook-fixtures.js';

/* Every command runs as a child process, `node bin/hookline.js <command>`, as a user runs it. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; done: Promise<Run> } {
  const child = spawn(process.execPath, ['bin/hookline.js', ...args], {
    cwd: ROOT,
    // Nothing from the runner's environment but PATH and HOME: no HOOKLINE_TOKEN or DATABASE_URL leaks in.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, output: () => stdout, done };
}

const run = (args: string[], env: Record<string, string> = {}) => start(args, env).done;

let t: TestApp;
let sql: postgres.Sql;
let receiver: Receiver;
let api: Record<string, string>;

beforeAll(async () => {
  t = await startTestApp({ LOG_LEVEL: 'error', HOOKLINE_POLL_INTERVAL: '200ms' });
  sql = openSql(t.database.url);
  receiver = await startReceiver();
  api = { HOOKLINE_URL: t.url, HOOKLINE_TOKEN: t.adminToken };
});
afterAll(async () => {
  await receiver?.close();
  await sql?.end();
  await t?.stop();
});

describe('hookline CLI', () => {
  it('--help lists the commands, and every command has its own --help with an example', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    const commands = ['serve', 'migrate', 'token', 'publish', 'replay', 'listen'];
    for (const name of commands) expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const helps = await Promise.all(commands.map((name) => run([name, '--help'])));
    helps.forEach((help, i) => {
      expect(help.code, commands[i]).toBe(0);
      expect(help.stdout).toContain(`Usage: hookline ${commands[i]}`);
      expect(help.stdout).toMatch(/Examples?:\n  .*hookline /);
    });
    // No escape codes when the output is not a terminal.
    expect(top.stdout).not.toContain('\u001b[');
  });

  it('an unknown command or flag is a usage error (exit 2) that says what was wrong', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const flag = await run(['publish', 'order.created', '--colour', 'red'], api);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--colour/);
    expect(flag.stderr).toContain('hookline publish --help');
  });

  it('serve takes --port, --host and --role, and stops on SIGTERM', async () => {
    const db = await createTestDatabase();
    const serving = start(['serve', '--port', '0', '--host', '127.0.0.1', '--role', 'worker'], { DATABASE_URL: db.url });
    try {
      const url = await eventually(async () => /health:\s+(http:\/\/127\.0\.0\.1:\d+)\/healthz/.exec(serving.output())?.[1], 60_000);
      expect(serving.output()).toContain('Hookline is running (worker)');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // A worker serves no API.
      expect((await fetch(`${url}/graphql`, { method: 'POST' })).status).toBe(404);
    } finally {
      serving.child.kill('SIGTERM');
    }
    expect((await serving.done).code).toBe(0);
    await db.drop();

    const bad = await run(['serve', '--role', 'boss'], { DATABASE_URL: db.url });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('HOOKLINE_ROLE');
  });

  it('migrate applies every migration to an empty database, then finds nothing to do', async () => {
    const empty = await createTestDatabase({ migrated: false });
    try {
      const env = { DATABASE_URL: empty.url };
      const first = await run(['migrate'], env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const applied = Number(/(\d+) migrations? applied/.exec(first.stdout)?.[1]);
      expect(applied).toBeGreaterThan(0);
      const check = openSql(empty.url);
      try {
        const [row] = await check`select to_regclass('public.replay_jobs') is not null as ok`;
        expect(row.ok).toBe(true);
      } finally {
        await check.end();
      }
      const again = await run(['migrate'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(`0 migrations applied; the database is up to date (${applied} in all)`);
    } finally {
      await empty.drop();
    }
  });

  it('token create prints a token that works, with the role and team asked for', async () => {
    const { createTeam } = await t.gql.ok('mutation { createTeam(name: "cli-team") { id } }');
    const created = await run(['token', 'create', '--name', 'cli-viewer', '--role', 'viewer', '--team', createTeam.id], api);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^\S{20,}$/);
    // A VIEWER of that team: reads work, mutations are forbidden.
    const viewer = t.gql.as(token);
    expect((await viewer('{ webhooks(first: 1) { edges { node { id } } } }')).errors).toBeUndefined();
    const write = await viewer('mutation { createTeam(name: "nope") { id } }');
    expect(write.errors?.[0].extensions?.code).toBe('FORBIDDEN');

    // Without --team an EDITOR token is refused by the API; the message reaches the user, exit 1.
    const refused = await run(['token', 'create', '--name', 'x', '--role', 'EDITOR'], api);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('BAD_USER_INPUT');
  });

  it('publish sends --data from a file or inline, prints the event and its deliveries; bad input says why', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'cli publish',
      endpoints: [{ url: `${receiver.url}/published` }],
      triggers: [{ resource: 'clipub', event: 'created' }],
    });
    const dir = await mkdtemp(join(tmpdir(), 'hookline-cli-'));
    await writeFile(join(dir, 'order.json'), JSON.stringify({ orderId: 42, lines: [{ sku: 'A' }] }));
    const fromFile = await run(['publish', 'clipub.created', '--data', `@${join(dir, 'order.json')}`, '--idempotency-key', 'cli-1'], api);
    expect(fromFile.code).toBe(0);
    const eventId = /published (evt_\S+)/.exec(fromFile.stdout)?.[1];
    expect(eventId).toBeDefined();
    const [delivery] = await sql`select id, endpoint_id from deliveries where event_id = ${eventId!}`;
    expect(delivery.endpoint_id).toBe(webhook.endpoints[0].id);
    expect(fromFile.stdout).toContain(delivery.id);
    const [event] = await sql`select data, idempotency_key from events where id = ${eventId!}`;
    expect(event).toEqual({ data: { orderId: 42, lines: [{ sku: 'A' }] }, idempotency_key: 'cli-1' });

    const inline = await run(['publish', 'clipub.created', '--data', '{"orderId": 43}', '--context', '{"login": "ann"}'], api);
    expect(inline.code).toBe(0);
    const inlineId = /published (evt_\S+)/.exec(inline.stdout)![1];
    const [stored] = await sql`select data, context from events where id = ${inlineId}`;
    expect(stored).toEqual({ data: { orderId: 43 }, context: { login: 'ann' } });

    const badJson = await run(['publish', 'clipub.created', '--data', '{oops'], api);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--data: not valid JSON');
    const badType = await run(['publish', 'nodot', '--data', '{}'], api);
    expect(badType.code).toBe(1);
    expect(badType.stderr).toMatch(/input\.type.*BAD_USER_INPUT/);
    const badToken = await run(['publish', 'clipub.created'], { ...api, HOOKLINE_TOKEN: 'hl_not_a_token_at_all' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('UNAUTHENTICATED');
  });

  it('replay sends a delivery again and prints the new one', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'cli replay',
      endpoints: [{ url: `${receiver.url}/replayed` }],
      triggers: [{ resource: 'clirep', event: '*' }],
    });
    const { publishEvent } = await t.gql.ok(
      'mutation { publishEvent(input: { type: "clirep.done", data: {} }) { deliveries { id } } }',
    );
    const original = publishEvent.deliveries[0].id;
    const replayed = await run(['replay', original], api);
    expect(replayed.code).toBe(0);
    const newId = /as (dlv_\S+)/.exec(replayed.stdout)?.[1];
    const [row] = await sql`select replay_of, endpoint_id from deliveries where id = ${newId!}`;
    expect(row).toEqual({ replay_of: original, endpoint_id: webhook.endpoints[0].id });

    const missing = await run(['replay', 'dlv_doesnotexist'], api);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');
  });

  it('listen forwards each new delivery exactly as Hookline sends it to a local server and prints its answer', async () => {
    const local = await startReceiver({ status: 202, body: 'thanks' });
    const { webhook, secret } = await createWebhook(t.gql, {
      name: 'laptop',
      headers: [{ key: 'x-team', value: 'billing' }],
      endpoints: [{ url: `${receiver.url}/real` }],
      triggers: [{ resource: 'clilisten', event: '*' }],
    });
    const listening = start(['listen', '--webhook', webhook.id, '--forward-to', `${local.url}/hooks`], api);
    try {
      await eventually(async () => listening.output().includes('Ready!'), 30_000);
      // The subscription is live shortly after "Ready!": publish until one is forwarded.
      const published: string[] = [];
      await eventually(async () => {
        const { publishEvent } = await t.gql.ok(
          'mutation { publishEvent(input: { type: "clilisten.ping", data: { hello: "laptop" } }) { event { id } } }',
        );
        published.push(publishEvent.event.id);
        return local.requests.length > 0 || (await new Promise((r) => setTimeout(r, 1_000)), local.requests.length > 0);
      }, 30_000);

      const [forwarded] = local.requests;
      expect(forwarded.method).toBe('POST');
      expect(forwarded.url).toBe('/hooks');
      const eventId = forwarded.headers['webhook-id'] as string;
      expect(published).toContain(eventId);
      expect(forwarded.headers['x-team']).toBe('billing');
      expect(forwarded.headers['content-type']).toBe('application/json');
      // Signed with the webhook's secret: a receiver verifies it as it would the real delivery.
      const body = new Webhook(secret).verify(forwarded.body, forwarded.headers as Record<string, string>);
      expect(body).toMatchObject({ event_id: eventId, event_type: 'clilisten.ping', data: { hello: 'laptop' } });
      // The same body the real endpoint got.
      const real = await eventually(async () => receiver.requests.find((r) => r.headers['webhook-id'] === eventId));
      expect(forwarded.body).toBe(real.body);

      await eventually(async () => new RegExp(`clilisten\\.ping ${eventId} → 202 \\d+ ms`).test(listening.output()));
    } finally {
      listening.child.kill('SIGINT');
      await local.close();
    }
    const ended = await listening.done;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toMatch(/Summary: \d+ deliver(y|ies) forwarded, \d+ answered 2xx, 0 failed/);
  });

  it('listen refuses a webhook the token cannot see', async () => {
    const result = await run(['listen', '--webhook', 'wh_nope', '--forward-to', 'http://127.0.0.1:9/x'], api);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--webhook: no webhook "wh_nope"');
  });
});
