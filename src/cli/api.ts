import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { CliEnv } from '../config.js';

/** Where the API commands talk to, and as whom. */
export interface ApiTarget {
  /** Base URL, e.g. http://127.0.0.1:4000 (no /graphql). */
  url: string;
  token: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    /** 2: the command line was wrong; 1: anything else. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const API_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

export const API_HELP = `Connection (every command but serve and migrate):
  --url <url>      Hookline's address (default: $HOOKLINE_URL, else http://127.0.0.1:4000)
  --token <token>  an API token (default: $HOOKLINE_TOKEN, else <data dir>/admin-token of a local
                   \`hookline serve\`, the admin token it generated on its first start)`;

/** Flags first, then the environment, then what a local `hookline serve` left behind. */
export function apiTarget(flags: { url?: string; token?: string }, env: CliEnv): ApiTarget {
  const url = (flags.url ?? env.HOOKLINE_URL ?? 'http://127.0.0.1:4000').replace(/\/+(graphql)?\/?$/, '');
  if (!/^https?:\/\/[^/]+/.test(url)) throw new CliError(`--url: "${url}" is not an http(s) URL`, 2);
  const token = flags.token ?? env.HOOKLINE_TOKEN ?? readLocalAdminToken(env.HOOKLINE_DATA_DIR);
  if (!token) throw new CliError('no API token: pass --token or set HOOKLINE_TOKEN', 2);
  return { url, token };
}

function readLocalAdminToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'admin-token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

interface GraphqlError {
  message: string;
  extensions?: { code?: string };
}

/** One GraphQL request over HTTP; GraphQL errors become a CliError with their message and code. */
export async function graphql<T>(target: ApiTarget, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${target.token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw new CliError(`cannot reach Hookline at ${target.url}: ${causeOf(err)}`);
  }
  let body: { data?: T; errors?: GraphqlError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new CliError(`${target.url}/graphql answered ${response.status} without a GraphQL response`);
  }
  if (body.errors?.length) throw new CliError(describeErrors(body.errors));
  if (!body.data) throw new CliError(`${target.url}/graphql answered ${response.status} without data`);
  return body.data;
}

export function describeErrors(errors: readonly GraphqlError[]): string {
  return errors.map((e) => (e.extensions?.code ? `${e.message} (${e.extensions.code})` : e.message)).join('; ');
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, …) in its cause. */
export function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** A graphql-ws client on the same /graphql, with the token in connectionParams. */
export function liveClient(target: ApiTarget, on: { connected?: () => void; closed?: (event: unknown) => void } = {}): Client {
  return createClient({
    url: `${target.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${target.token}` },
    // A laptop's connection comes and goes: keep trying, and the subscription resumes when it is back.
    retryAttempts: Infinity,
    on,
  });
}
