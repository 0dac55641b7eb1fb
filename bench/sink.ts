/**
 * The bench's receiver, its own process (forked by bench/lib.ts): node:http on 127.0.0.1. For every POST it records
 * the arrival time and the message id (`data.msg_id` of the JSON body; Hookline's webhook-id is its own event id),
 * answers 200 (or 500 with the reset's failure rate) and verifies every 64th accepted signature with the
 * standardwebhooks package. A message is "path + msg_id", so fan-out copies to different webhooks count apart.
 *   POST /__reset?fail=0.2&prefix=w1_  clear; set the failure rate and the id prefix that counts
 *   GET  /__stats                      counts, duplicates, latency (first accepted arrival − data.enqueued_at)
 * Same accounting as ../shared/bench-peers/src/sink.mjs (body-id mode).
 */
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { summarize } from './lib.js';

const now = () => performance.timeOrigin + performance.now();
const verifier = new Webhook(process.env.WEBHOOK_SECRET!);

function fresh(failRate = 0, prefix = '') {
  return {
    failRate,
    prefix,
    cpu: process.cpuUsage(),
    requests: 0,
    ok: 0,
    failed: 0,
    duplicatesOk: 0,
    firstOk: new Set<string>(),
    headerIds: new Map<string, string | undefined>(),
    headerIdChanged: 0,
    idMissing: 0,
    latency: [] as number[],
    firstArrival: null as number | null,
    lastFirstOk: null as number | null,
    sigChecked: 0,
    sigBad: 0,
  };
}
let s = fresh();

function hook(req: http.IncomingMessage, res: http.ServerResponse, t: number) {
  const status = s.failRate > 0 && Math.random() < s.failRate ? 500 : 200;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.statusCode = status;
    res.end();
    const body = Buffer.concat(chunks).toString('utf8');
    let parsed: { data?: { msg_id?: unknown; enqueued_at?: unknown } } | undefined;
    try {
      parsed = JSON.parse(body);
    } catch {
      /* counted below as idMissing */
    }
    const msgId = parsed?.data?.msg_id;
    if (typeof msgId !== 'string') return void s.idMissing++;
    if (!msgId.startsWith(s.prefix)) return;
    const key = `${req.url} ${msgId}`;
    // Standard Webhooks: the webhook-id stays the same on every retry of a message.
    const headerId = req.headers['webhook-id'] as string | undefined;
    if (!s.headerIds.has(key)) s.headerIds.set(key, headerId);
    else if (s.headerIds.get(key) !== headerId) s.headerIdChanged++;
    s.requests++;
    s.firstArrival ??= t;
    if (status !== 200) return void s.failed++;
    s.ok++;
    if ((s.ok & 63) === 1) {
      s.sigChecked++;
      try {
        verifier.verify(body, req.headers as Record<string, string>);
      } catch {
        s.sigBad++;
      }
    }
    if (s.firstOk.has(key)) return void s.duplicatesOk++;
    s.firstOk.add(key);
    s.lastFirstOk = t;
    const enq = parsed?.data?.enqueued_at;
    if (typeof enq === 'number' && enq > 0) s.latency.push(t - enq);
  });
}

const server = http.createServer((req, res) => {
  const t = now();
  if (!req.url!.startsWith('/__')) return hook(req, res, t);
  const url = new URL(req.url!, 'http://x');
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (url.pathname === '/__reset') {
      s = fresh(Number(url.searchParams.get('fail') ?? 0), url.searchParams.get('prefix') ?? '');
      return res.end('{"ok":true}');
    }
    if (url.pathname === '/__stats') {
      const cpu = process.cpuUsage(s.cpu);
      const { firstOk, headerIds, latency, cpu: _, ...counts } = s;
      return res.end(
        JSON.stringify({ ...counts, uniqueOk: firstOk.size, latencyMs: summarize(latency), cpuMs: (cpu.user + cpu.system) / 1000 }),
      );
    }
    res.statusCode = 404;
    res.end('{}');
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.({ ready: true }));
const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500).unref();
process.on('SIGTERM', stop);
process.on('disconnect', stop);
