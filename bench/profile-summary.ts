/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: where a `node --cpu-prof` profile's time went, as
 * self time per function and per source (a package under node_modules, a file of src/, node internals).
 */
import { readFileSync } from 'node:fs';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
const [file, topArg] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; startTime: number; endTime: number; samples: number[] };
const totalMs = (prof.endTime - prof.startTime) / 1000;
const perSample = totalMs / prof.samples.length;
const top = Number(topArg ?? 30);

const source = (url: string) => {
  if (!url) return '(native/vm)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return url;
  const src = /\/(src|bench|bin)\/(.*)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
};
const byFn = new Map<string, number>();
const bySource = new Map<string, number>();
for (const n of prof.nodes) {
  const ms = (n.hitCount ?? 0) * perSample;
  if (!ms) continue;
  const { functionName, url, lineNumber } = n.callFrame;
  const key = `${functionName || '(anonymous)'}  ${source(url)}:${lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + ms);
  bySource.set(source(url), (bySource.get(source(url)) ?? 0) + ms);
}
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)} %  ${k}\n`);
};
process.stdout.write(`${file}: ${totalMs.toFixed(0)} ms profiled, ${prof.samples.length} samples\n`);
print('self time by source', bySource);
print('self time by function', byFn);

// Native time says little by itself: who called the biggest native functions (three frames up, outside node internals).
const parent = new Map<number, Node>();

for (const n of prof.nodes as (Node & { children?: number[] })[]) for (const c of n.children ?? []) parent.set(c, n);
for (const name of ['writeBuffer', 'writev', '(garbage collector)', 'randomFillSync']) {
  const callers = new Map<string, number>();
  for (const n of prof.nodes) {
    if (n.callFrame.functionName !== name || !n.hitCount) continue;
    const chain: string[] = [];
    for (let p = parent.get(n.id); p && chain.length < 3; p = parent.get(p.id)) {
      if (p.callFrame.url && !p.callFrame.url.startsWith('node:')) chain.push(`${p.callFrame.functionName || '(anonymous)'}@${source(p.callFrame.url)}:${p.callFrame.lineNumber + 1}`);
    }
    const key = chain.join(' < ') || '(no JavaScript caller)';
    callers.set(key, (callers.get(key) ?? 0) + n.hitCount * perSample);
  }
  if (callers.size) print(`callers of ${name}`, new Map([...callers].slice(0, 1000)));
}

