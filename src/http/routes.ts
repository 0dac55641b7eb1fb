import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { isDatabaseUnavailable } from '../db/client.js';
import type { Yoga } from '../graphql/yoga.js';

export interface RouteOptions {
  /** Only api processes serve GraphQL (and the console); until the server exists (start-up), /graphql is 503. */
  graphql?: () => Yoga | undefined;
  isReady(): Promise<boolean>;
  metrics: Registry;
  metricsToken?: string;
  maxBodyBytes: number;
  /** GET /feed/<token> (api processes); undefined until the database is ready (503 meanwhile). */
  feed?: () => ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  /** Serves `/` and static console files; undefined in worker processes. */
  console?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/** The process's HTTP surface: health, readiness, metrics, GraphQL and the console. */
export function createRequestHandler(options: RouteOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    try {
      if (path === '/healthz') return sendText(res, 200, 'ok\n');
      if (path === '/readyz') {
        const ready = await options.isReady();
        return sendText(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
      }
      if (path === '/metrics') {
        if (options.metricsToken && req.headers.authorization !== `Bearer ${options.metricsToken}`) {
          return sendText(res, 401, 'unauthorized\n');
        }
        res.writeHead(200, { 'content-type': options.metrics.contentType });
        return void res.end(await options.metrics.metrics());
      }
      if (options.graphql && path === '/graphql') {
        const yoga = options.graphql();
        if (!yoga) return notReadyYet(res);
        return await graphql(yoga, options.maxBodyBytes, req, res);
      }
      if (options.feed && path.startsWith('/feed/')) {
        const feed = options.feed();
        if (!feed) return notReadyYet(res);
        return await feed(req, res);
      }
      if (options.console && (await options.console(req, res))) return;
      sendText(res, 404, 'not found\n');
    } catch (err) {
      if (res.headersSent) res.destroy(err as Error);
      // A lost database is no server bug (the feed reads it on every request): tell the client to retry, as GraphQL does.
      else if (isDatabaseUnavailable(err)) sendJsonError(res, 503, 'SERVICE_UNAVAILABLE', 'the database is unavailable; retry later');
      else sendText(res, 500, 'internal error\n');
    }
  };
}

async function graphql(yoga: Yoga, maxBodyBytes: number, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) return tooLarge(req, res, maxBodyBytes);
    const body = await readBody(req, maxBodyBytes);
    if (!body) return tooLarge(req, res, maxBodyBytes);
    if (body.length === 0) return sendJsonError(res, 400, 'BAD_REQUEST', 'the request body is empty');
    // The stream is consumed; yoga's node adapter takes an already-read body from `req.body`.
    (req as IncomingMessage & { body?: unknown }).body = preParsed(req, body) ?? body;
  }
  await yoga.requestListener(req, res);
}

/**
 * A JSON request's body as the parsed object, which yoga's node adapter uses as is. Handing it the Buffer instead
 * costs O(body size) before parsing even starts: the adapter runs Object.keys() on it, one key per byte (27 ms and
 * a 1-million-entry array for a 1 MiB publishEvents batch). Anything but a JSON object with keys (malformed JSON,
 * arrays, other content types) goes through the Buffer as before, so yoga answers those exactly as it always did.
 */
function preParsed(req: IncomingMessage, body: Buffer): object | undefined {
  // Yoga's own test for a JSON POST (its request-parser/post-json): other content types keep their own parsers.
  const type = req.headers['content-type']?.split(',')[0] ?? '';
  if (!['application/json', 'application/graphql+json'].some((t) => type === t || type.startsWith(`${t};`))) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    return isObject && Object.keys(parsed).length > 0 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the whole body, or returns undefined as soon as it grows past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(req: IncomingMessage, res: ServerResponse, limit: number) {
  sendJsonError(res, 413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes (HOOKLINE_MAX_BODY_BYTES)`);
  req.resume();
}

/** /graphql and /feed/ before start-up has reached the database: try again shortly. */
const notReadyYet = (res: ServerResponse) =>
  sendJsonError(res, 503, 'SERVICE_UNAVAILABLE', 'Hookline is starting: the database is not ready yet');

export function sendJsonError(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

function sendText(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}
