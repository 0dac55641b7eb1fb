import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Until the console is built, `/` says where the API is. */
const FALLBACK = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hookline</title>
<link rel="icon" href="data:,"></head><body style="font:16px system-ui;margin:3rem;max-width:40rem">
<h1>Hookline</h1><p>The admin console is not built in this checkout. The GraphQL API and GraphiQL are at
<a href="/graphql">/graphql</a>; send <code>Authorization: Bearer &lt;token&gt;</code>.</p></body></html>`;

/**
 * Serves the built console (console/dist) for GET requests: files by path, and index.html for every other path
 * so that client-side routes survive a reload. Returns false for anything it does not serve.
 */
export async function serveConsole(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  const file = normalize(join(DIST, path));
  if (!file.startsWith(DIST)) return false;
  for (const candidate of path.endsWith('/') ? [join(file, 'index.html')] : [file, join(DIST, 'index.html')]) {
    try {
      const body = await readFile(candidate);
      const cache = candidate.includes(`${DIST}/assets/`) ? 'public, max-age=31536000, immutable' : 'no-cache';
      res.writeHead(200, { 'content-type': TYPES[extname(candidate)] ?? 'application/octet-stream', 'cache-control': cache });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    } catch {
      // next candidate
    }
  }
  if (path === '/favicon.ico') {
    res.writeHead(204).end();
    return true;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(FALLBACK);
  return true;
}
