/** `npx tsx bench/summary.ts bench/results/*.json`: one markdown table row per run (for bench/README.md). */
import { readFileSync } from 'node:fs';

const lat = (l: { p50?: number; p95?: number; p99?: number }) => `${l.p50} / ${l.p95} / ${l.p99}`;
process.stdout.write(
  '| run (UTC) | system | W1 deliveries/s | W1 p50 / p95 / p99 ms | W2 p50 / p95 / p99 ms | W2 kept up (enq/s) | W3 all accepted s (requests, lost, dup) | fan-out deliveries/s | W1 ratio H/gw | W2 p99 ratio H/gw |\n' +
    '|---|---|---:|---|---|---|---|---:|---:|---:|\n',
);
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  for (const [name, s] of [['Hookline', r.hookline], ['graphile-worker', r.graphileWorker]] as const) {
    const row = [
      name === 'Hookline' ? r.at.slice(0, 19).replace('T', ' ') : '',
      name,
      s.w1.deliveriesPerS,
      lat(s.w1.latencyMs),
      lat(s.w2.latencyMs),
      `${s.w2.keptUp ? 'yes' : 'no'} (${s.w2.enqueueRate})`,
      `${s.w3.spanS} (${s.w3.requests}, ${s.w3.lost}, ${s.w3.duplicates})`,
      s.fanOut.deliveriesPerS,
      name === 'Hookline' ? r.ratios.w1DeliveriesPerS : '',
      name === 'Hookline' ? r.ratios.w2P99 : '',
    ];
    process.stdout.write(`| ${row.join(' | ')} |\n`);
  }
}
