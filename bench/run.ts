/**
 * `npm run bench` (`-- --quick` ≈ 1 minute, `-- --profile` writes a CPU profile of the Hookline process): Hookline
 * and graphile-worker 0.17.3 (best setting), one after the other in one run, each in a fresh database on the same
 * Postgres, against one sink process. Workloads (sizes as ../shared/bench-peers): W1 burst, W2 steady, W3 flaky
 * (20 % 500s, immediate retries), fan-out; then for Hookline alone: subscriptions (bench/subscriptions.ts) and
 * GraphQL reads (bench/reads.ts). Prints a table and, last, one JSON line; writes bench/results/<date>.json.
 * `--hookline-only` runs Hookline's part alone (experiments); BENCH_HOOKLINE_ENV='{"HOOKLINE_DB_POOL_SIZE":"20"}'
 * passes settings to the Hookline processes. Last, Hookline alone: isolation between endpoints (bench/isolation.ts)
 * and a held backlog's drain (bench/backlog.ts); `--only isolation,backlog` runs just those (rows and JSON).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { graphileSystem, GRAPHILE_SETTING } from './graphile-worker.js';
import { measureBacklog } from './backlog.js';
import { hooklineSystem } from './hookline.js';
import { measureIsolation } from './isolation.js';
import {
  cpuBusyPct,
  cpuSample,
  freshDatabase,
  messages,
  nowMs,
  profile,
  quick,
  resetSink,
  ROOT,
  round,
  settings,
  sinkStats,
  sleep,
  startSink,
  waitForUnique,
  type Message,
  type SinkStats,
  type System,
} from './lib.js';
import { measureReads } from './reads.js';
import { measureStatements } from './statements.js';

const log = (line: string) => process.stderr.write(line + '\n');
let runTag = Date.now().toString(36);

/** Enqueues in chunks of 1,000, one call in flight; each message's enqueued_at = the start of its chunk's call. */
async function burst(system: System, msgs: Message[], type?: string) {
  const t0 = nowMs();
  for (let i = 0; i < msgs.length; i += settings.chunk) {
    const part = msgs.slice(i, i + settings.chunk);
    const t = nowMs();
    for (const m of part) m.data.enqueued_at = t;
    await system.enqueueBatch(part, type);
  }
  return { t0, enqueueS: (nowMs() - t0) / 1000 };
}

function burstFigures(st: SinkStats, expected: number, t0: number, enqueueS: number) {
  const complete = st.uniqueOk >= expected;
  const spanS = ((complete ? st.lastFirstOk! : nowMs()) - t0) / 1000;
  return {
    expected,
    delivered: st.uniqueOk,
    complete,
    lost: expected - st.uniqueOk,
    spanS: round(spanS, 2),
    enqueueS: round(enqueueS, 2),
    deliveriesPerS: round(st.uniqueOk / spanS, 0),
    latencyMs: st.latencyMs,
    requests: st.requests,
    failedResponses: st.failed,
    duplicates: st.duplicatesOk,
    webhookIdChanged: st.headerIdChanged,
    sigChecked: st.sigChecked,
    sigBad: st.sigBad,
  };
}

async function runBurst(system: System, prefix: string, n: number, failRate: number, type?: string, copies = 1) {
  const msgs = messages(prefix, n);
  await resetSink(failRate, prefix);
  const { t0, enqueueS } = await burst(system, msgs, type);
  await waitForUnique(n * copies, t0);
  await sleep(settings.graceMs); // late duplicates
  return burstFigures(await sinkStats(), n * copies, t0, enqueueS);
}

/** W2: one single enqueue per message at `rate`/s, paced on a 1 ms timer, at most 256 calls in flight. */
async function runSteady(system: System, prefix: string) {
  const n = Math.round(settings.w2Rate * settings.w2Seconds);
  const period = 1000 / settings.w2Rate;
  const msgs = messages(prefix, n);
  await resetSink(0, prefix);
  let inflight = 0;
  let errors = 0;
  const t0 = nowMs() + 20;
  let i = 0;
  while (i < n) {
    const now = nowMs();
    while (i < n && t0 + i * period <= now && inflight < settings.w2MaxInflight) {
      const m = msgs[i++];
      m.data.enqueued_at = nowMs();
      inflight++;
      system.enqueueOne(m).then(
        () => inflight--,
        (e) => {
          inflight--;
          if (errors++ < 3) log(`enqueue error: ${(e as Error).message}`);
        },
      );
    }
    await sleep(1);
  }
  const enqueueRate = n / ((nowMs() - t0) / 1000);
  while (inflight > 0) await sleep(1);
  let st = await waitForUnique(n, t0);
  await sleep(settings.graceMs);
  st = await sinkStats();
  const complete = st.uniqueOk >= n;
  const endLagMs = (complete ? st.lastFirstOk! : nowMs()) - (t0 + (n - 1) * period);
  const keptUp =
    complete && errors === 0 && enqueueRate >= 0.98 * settings.w2Rate && endLagMs <= 1000 && (st.latencyMs.p99 ?? Infinity) <= 1000;
  return {
    expected: n,
    delivered: st.uniqueOk,
    keptUp,
    enqueueRate: round(enqueueRate, 0),
    enqueueErrors: errors,
    endLagMs: round(endLagMs, 0),
    latencyMs: st.latencyMs,
    duplicates: st.duplicatesOk,
    sigChecked: st.sigChecked,
    sigBad: st.sigBad,
  };
}

async function runSystem(name: 'hookline' | 'graphile-worker', sinkUrl: string, profileDir?: string) {
  const db = await freshDatabase(name.replace('-', '_'));
  const cpu0 = cpuSample();
  const system = name === 'hookline' ? await hooklineSystem(db.url, sinkUrl, profileDir) : await graphileSystem(db.url, sinkUrl);
  const out: Record<string, unknown> = {};
  try {
    const warm = await runBurst(system, `wu_${runTag}_`, settings.warmup, 0);
    if (!warm.complete) throw new Error(`${name}: warm-up incomplete (${warm.delivered}/${warm.expected})`);
    await sleep(300);
    out.w1 = await runBurst(system, `w1_${runTag}_`, settings.w1Messages, 0);
    log(`${name} W1 ${JSON.stringify(out.w1)}`);
    out.w2 = await runSteady(system, `w2_${runTag}_`);
    log(`${name} W2 ${JSON.stringify(out.w2)}`);
    out.w3 = await runBurst(system, `w3_${runTag}_`, settings.w3Messages, settings.w3FailRate);
    log(`${name} W3 ${JSON.stringify(out.w3)}`);
    const fan = await system.prepareFanOut(settings.fanWebhooks);
    out.fanOut = await runBurst(system, `fo_${runTag}_`, settings.fanEvents, 0, fan.eventType, fan.paths.length);
    log(`${name} fan-out ${JSON.stringify(out.fanOut)}`);
  } finally {
    const { cpuMs } = await system.stop();
    out.processCpuS = round(cpuMs / 1000, 1);
    out.machineCpuPct = cpuBusyPct(cpu0, cpuSample());
  }
  if (name === 'hookline') {
    out.reads = await measureReads(db.url); // with the workloads' ~50,000 deliveries in the last 24 h
    const empty = await freshDatabase('reads');
    out.readsNoHistory = await measureReads(empty.url);
    await empty.drop();
    log(`hookline reads, no delivery history ${JSON.stringify(out.readsNoHistory)}`);
    log(`hookline reads ${JSON.stringify(out.reads)}`);
    out.sqlStatements = await measureStatements(db.url, sinkUrl);
    log(`hookline SQL statements ${JSON.stringify(out.sqlStatements)}`);
  }
  await db.drop();
  return out;
}

/** bench/subscriptions.ts as a child process; its summary lines parsed. */
async function runSubscriptions() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/subscriptions.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: settings.adminUrl,
      BENCH_SUBSCRIBERS: String(settings.subscribers),
      BENCH_UPDATES: String(settings.subscriptionUpdates),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.on('data', (c) => (text += c));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const all = /(\d+)\/(\d+) subscribers received all (\d+) updates; missing (\d+), duplicates (\d+), errors (\d+)/.exec(text);
  const lag = /p50 (\d+) ms, p99 (\d+) ms, max (\d+) ms/.exec(text);
  if (code !== 0 || !all || !lag) throw new Error(`bench/subscriptions.ts failed (exit ${code}):\n${text}`);
  return {
    subscribers: Number(all[2]),
    updates: Number(all[3]),
    subscribersComplete: Number(all[1]),
    missing: Number(all[4]),
    duplicates: Number(all[5]),
    errors: Number(all[6]),
    lagMs: { p50: Number(lag[1]), p99: Number(lag[2]), max: Number(lag[3]) },
  };
}

type Fig = Record<string, any>;
type Row = [string, string, string, string];

/** The Hookline-only sections named (isolation, backlog), one after the other. */
async function runSections(names: string[], sinkUrl: string): Promise<Fig> {
  const out: Fig = {};
  for (const name of names) {
    if (name === 'isolation') out.isolation = await measureIsolation(sinkUrl);
    else if (name === 'backlog') out.backlog = await measureBacklog(sinkUrl);
    else throw new Error(`--only: unknown section ${name} (isolation, backlog)`);
    log(`hookline ${name} ${JSON.stringify(out[name])}`);
  }
  return out;
}

function sectionRows(f: Fig): Row[] {
  const rows: Row[] = [];
  const pct = (l: Fig) => `p50 ${l.p50} / p99 ${l.p99} ms`;
  if (f.isolation) {
    const i = f.isolation;
    rows.push([
      `isolation: other endpoints' latency without / with a hanging endpoint`,
      `${pct(i.without.latencyMs)} / ${pct(i.withHanging.latencyMs)} (${i.p99Ratio}× p99; it held ${i.hangingHeld} slots)`,
      '–',
      '',
    ]);
  }
  if (f.backlog) {
    const b = f.backlog;
    rows.push(
      [
        `backlog of ${b.backlog}: drain deliveries/s, worker RSS before / peak MB`,
        `${b.deliveriesPerS}/s${b.complete ? '' : ' (INCOMPLETE)'}, ${b.workerRssMb.beforeDrain} / ${b.workerRssMb.peak} MB, ${b.duplicates} duplicates`,
        '–',
        '',
      ],
      [`backlog: GraphQL webhooks page during the drain`, `${pct(b.webhooksPageDuringDrainMs)} (${b.webhooksPageDuringDrainMs.n} requests)`, '–', ''],
      [`backlog: drained in due order`, `at most ${b.order.maxDisplacement} places out of order`, '–', ''],
    );
  }
  return rows;
}
const signatures = (f: Fig) => {
  const parts = [f.w1, f.w2, f.w3, f.fanOut];
  return `${parts.reduce((n, p) => n + p.sigChecked, 0)} / ${parts.reduce((n, p) => n + p.sigBad, 0)}`;
};
function table(h: Fig, g: Fig, sub: Fig, extra: Row[]) {
  const lat = (l: Fig) => (l?.n ? `${l.p50} / ${l.p95} / ${l.p99}` : '–');
  const ratio = (a: number, b: number) => (a && b ? `${round(a / b, 2)}×` : '–');
  return render([
    ['W1 burst deliveries/s', `${h.w1.deliveriesPerS}`, `${g.w1.deliveriesPerS}`, ratio(h.w1.deliveriesPerS, g.w1.deliveriesPerS)],
    ['W1 latency p50/p95/p99 ms', lat(h.w1.latencyMs), lat(g.w1.latencyMs), ''],
    ['W1 lost / duplicates', `${h.w1.lost} / ${h.w1.duplicates}`, `${g.w1.lost} / ${g.w1.duplicates}`, ''],
    ['W2 latency p50/p95/p99 ms', lat(h.w2.latencyMs), lat(g.w2.latencyMs), ratio(h.w2.latencyMs.p99, g.w2.latencyMs.p99)],
    ['W2 kept up (enqueued/s)', `${h.w2.keptUp ? 'yes' : 'NO'} (${h.w2.enqueueRate})`, `${g.w2.keptUp ? 'yes' : 'NO'} (${g.w2.enqueueRate})`, ''],
    ['W3 all accepted after s', `${h.w3.spanS}`, `${g.w3.spanS}`, ''],
    ['W3 requests / lost / duplicates', `${h.w3.requests} / ${h.w3.lost} / ${h.w3.duplicates}`, `${g.w3.requests} / ${g.w3.lost} / ${g.w3.duplicates}`, ''],
    ['fan-out deliveries/s (complete)', `${h.fanOut.deliveriesPerS} (${h.fanOut.complete ? 'yes' : 'NO'})`, `${g.fanOut.deliveriesPerS} (${g.fanOut.complete ? 'yes' : 'NO'})`, ratio(h.fanOut.deliveriesPerS, g.fanOut.deliveriesPerS)],
    ['signatures checked / bad', signatures(h), signatures(g), ''],
    ['process CPU s (whole run) / machine busy %', `${h.processCpuS} / ${h.machineCpuPct}`, `${g.processCpuS} / ${g.machineCpuPct}`, ''],
    [`subscriptions: ${sub.subscribers} clients × ${sub.updates} updates`, `${sub.subscribersComplete} complete, missing ${sub.missing}, lag p99 ${sub.lagMs.p99} ms`, '–', ''],
    ['SQL statements: per event in a batch / per single publishEvent', `${h.sqlStatements.perEventInBatch} / ${h.sqlStatements.perPublishEventSingle}`, '–', ''],
    ['SQL statements per delivery: batch / singles', `${h.sqlStatements.perDeliveryInBatch} / ${h.sqlStatements.perDeliveryOfSingles}`, '–', ''],
    [`GraphQL reads: webhooks page (${h.reads.webhooks}), after the workloads`, `${h.reads.requestsPerS} req/s, ${h.reads.sqlStatementsPerRequest} SQL/req, p99 ${h.reads.latencyMs.p99} ms`, '–', ''],
    [`GraphQL reads: same, no delivery history`, `${h.readsNoHistory.requestsPerS} req/s, ${h.readsNoHistory.sqlStatementsPerRequest} SQL/req, p99 ${h.readsNoHistory.latencyMs.p99} ms`, '–', ''],
    ...extra,
  ]);
}

function render(rows: Row[]) {
  const head = ['', 'Hookline', 'graphile-worker 0.17.3', 'Hookline / gw'];
  const w = head.map((_, i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  return [line(head), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

async function main() {
  const started = new Date();
  const sink = await startSink();
  const sinkUrl = sink.url;
  const profileDir = profile ? join(ROOT, 'bench/results/profiles', started.toISOString().replace(/[:.]/g, '-')) : undefined;
  try {
    log(`bench${quick ? ' --quick' : ''}: graphile-worker ${JSON.stringify(GRAPHILE_SETTING)} then Hookline; sink ${sinkUrl}`);
    const onlyAt = process.argv.indexOf('--only');
    if (onlyAt >= 0) {
      const sections = await runSections((process.argv[onlyAt + 1] ?? '').split(','), sinkUrl);
      process.stdout.write(render(sectionRows(sections)) + '\n' + JSON.stringify(sections) + '\n');
      return;
    }
    if (process.argv.includes('--hookline-only')) {
      // For experiments: Hookline's delivery workloads alone, no table, no results file.
      process.stdout.write(JSON.stringify(await runSystem('hookline', sinkUrl, profileDir)) + '\n');
      return;
    }
    const graphile = await runSystem('graphile-worker', sinkUrl);
    runTag = Date.now().toString(36);
    const hookline = await runSystem('hookline', sinkUrl, profileDir);
    const subscriptions = await runSubscriptions();
    const sections = await runSections(['isolation', 'backlog'], sinkUrl);
    const h = hookline as Fig;
    const g = graphile as Fig;
    const result = {
      at: started.toISOString(),
      quick,
      durationS: round((Date.now() - started.getTime()) / 1000, 0),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg().map((x) => round(x, 2)) },
      settings,
      graphileSetting: GRAPHILE_SETTING,
      hookline,
      graphileWorker: graphile,
      subscriptions,
      ...sections,
      ratios: {
        w1DeliveriesPerS: round(h.w1.deliveriesPerS / g.w1.deliveriesPerS, 2),
        w2P99: round(h.w2.latencyMs.p99 / g.w2.latencyMs.p99, 3),
      },
      ...(profileDir ? { profileDir } : {}),
    };
    process.stdout.write(table(h, g, subscriptions, sectionRows(sections)) + '\n');
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    log(`written ${file}`);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await sink.stop();
  }
}

await main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
