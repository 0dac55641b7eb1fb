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
<h1>Hookline</h1><p>The admin console is not built in this checkout (<code>npm run build</code> builds it). The
GraphQL API and GraphiQL are at <a href="/graphql">/graphql</a>; send <code>Authorization: Bearer &lt;token&gt;</code>.
</p></body></html>`;

/**
 * Serves the built console (console/dist) for GET requests. Paths without an extension are client-side routes and
 * get index.html, so that they survive a reload; a file path that does not exist (an asset of an older build) is
 * a 404. `/favicon.ico` is the console's SVG icon. Returns false for anything it does not serve.
 */
export async function serveConsole(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    return false; // malformed %-escapes
  }
  const route = !extname(path);
  const file = path === '/favicon.ico' ? join(DIST, 'favicon.svg') : route ? join(DIST, 'index.html') : normalize(join(DIST, path));
  if (!file.startsWith(DIST)) return false;
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    if (route) {
      res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : FALLBACK);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
    return true;
  }
  // Built assets have content hashes in their names: cached for good. Everything else is checked each time.
  const cache = file.startsWith(join(DIST, 'assets/')) ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': cache });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
