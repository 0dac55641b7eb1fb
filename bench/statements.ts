/**
 * SQL statements on the delivery path, counted at the wire (the counting proxy of bench/reads.ts): per event for a
 * publishEvents batch of 1,000, per publishEvent single, and per delivery for the worker's claim/settle work
 * (everything the process sends from the publish answer until the sink has every message).
 */
import { hooklineSystem } from './hookline.js';
import { messages, nowMs, resetSink, round, sleep, waitForUnique } from './lib.js';
import { countingProxy } from './reads.js';

export async function measureStatements(databaseUrl: string, sinkUrl: string) {
  const proxy = await countingProxy(new URL(databaseUrl));
  const system = await hooklineSystem(proxy.url, sinkUrl);
  try {
    const batch = messages(`st_b_${Date.now().toString(36)}_`, 1000);
    await resetSink(0, batch[0].id.slice(0, -1));
    await sleep(1500); // the start-up work is not counted
    const c0 = proxy.count();
    const t0 = nowMs();
    await system.enqueueBatch(batch);
    const c1 = proxy.count();
    await waitForUnique(batch.length, t0, 60);
    await sleep(300); // the last settle
    const c2 = proxy.count();

    const singles = messages(`st_s_${Date.now().toString(36)}_`, 100);
    await resetSink(0, singles[0].id.slice(0, -1));
    const c3 = proxy.count();
    for (const m of singles) await system.enqueueOne(m);
    const c4 = proxy.count();
    await waitForUnique(singles.length, nowMs(), 60);
    await sleep(300);
    const c5 = proxy.count();
    return {
      perEventInBatch: round((c1 - c0) / batch.length, 3),
      perDeliveryInBatch: round((c2 - c1) / batch.length, 3),
      perPublishEventSingle: round((c4 - c3) / singles.length, 1),
      perDeliveryOfSingles: round((c5 - c4) / singles.length, 1),
    };
  } finally {
    await system.stop();
    await proxy.close();
  }
}
