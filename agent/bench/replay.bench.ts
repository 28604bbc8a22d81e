// The replay check's cost (issue 15 section 3; docs/agent.md "Replay check"): one in-process agent serves
// the example model 1.0.0 (real install, real summaries recorder, so its recent-requests buffer fills from
// the load); in every round the same load (lib.ts: a child process, keep-alive loops) runs once plainly
// and once with a replay check of 2.0.0 over the buffered requests started at the phase's start, the order
// alternating so each pair sees the same outside load; each ratio is the median of the per-round ratios.
// Printed: p99 and throughput of the answered requests with the replay against without, the replay's
// samples and wall time, the process CPU seconds per replayed sample against per answered request, the
// buffer's bytes, and the load average. REPLAY_BENCH_ROUNDS (default 8) narrows a run.
import { loadavg } from 'node:os';
import { twoVersionAgent } from './two-versions.js';
import { fmt, median, runPhases, type LoadResult } from './lib.js';

const CONCURRENCY = 8;
const ROUNDS = Number(process.env.REPLAY_BENCH_ROUNDS ?? 8);
const SAMPLES = 256;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`REPLAY_BENCH_ROUNDS=${process.env.REPLAY_BENCH_ROUNDS}: expected a positive integer`);

const setup = await twoVersionAgent('ef-bench-replay-');
try {
  const { agent: a, name, bodies } = setup;
  const load = { path: `/v2/models/${name}/infer`, bodies, concurrency: CONCURRENCY, warmupMs: 300, durationMs: 2000, phases: [a.url] };
  const without: LoadResult[] = [];
  const withReplay: LoadResult[] = [];
  const replays: Array<{ samples: number; ms: number; cpuUs: number }> = [];
  const phase = async (on: boolean) => {
    if (!on) {
      without.push((await runPhases(load))[0]!);
      return;
    }
    const running = runPhases(load);
    await new Promise((r) => setTimeout(r, 300)); // the warm-up: the buffer is full of this load's requests
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await a.shadow.set(name, await a.manager.loadInstalled(name, '2.0.0'), { sampleRate: 1, threshold: 0.5, replay: SAMPLES });
    while (a.shadow.replayOf(name)?.done !== true) await new Promise((r) => setTimeout(r, 5));
    const c = process.cpuUsage(c0);
    replays.push({ samples: a.shadow.replayOf(name)!.samples, ms: performance.now() - t0, cpuUs: c.user + c.system });
    withReplay.push((await running)[0]!);
    await a.shadow.clear(name);
  };
  const load0 = loadavg();
  for (let r = 0; r < ROUNDS; r++) {
    await phase(r % 2 === 1);
    await phase(r % 2 === 0);
  }
  const load1 = loadavg();
  const ratio = (k: 'p99' | 'reqPerSec') => median(withReplay.map((x, i) => x[k] / without[i]![k]));
  const each = (k: 'p99' | 'reqPerSec') => `[${withReplay.map((x, i) => (x[k] / without[i]![k]).toFixed(2)).join(' ')}]`;
  const perSample = median(replays.map((r) => r.cpuUs / Math.max(1, r.samples)));
  const perRequest = median(without.map((r) => r.cpuUsPerReq));
  console.log(`load: ${CONCURRENCY} keep-alive loops in a child process, 300 ms warm-up + 2000 ms measured, ${ROUNDS} alternating rounds, medians; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`);
  console.log(`  replay of ${median(replays.map((r) => r.samples))} buffered requests through 2.0.0: ${fmt(median(replays.map((r) => r.ms)), 1)} ms wall (load and replay), buffer ${fmt(a.shadow.recent.bytes / 1024, 1)} KiB`);
  console.log(`replay cpu/sample (process, while serving): ${fmt(perSample, 1)} µs vs ${fmt(perRequest, 1)} µs per answered request = ${(perSample / perRequest).toFixed(2)}x`);
  console.log(`replay throughput: ${ratio('reqPerSec').toFixed(2)}x without, rounds ${each('reqPerSec')}`);
  console.log(`replay p99 of answered requests: ${ratio('p99').toFixed(2)}x without, rounds ${each('p99')}`);
  if ([...without, ...withReplay].some((r) => r.failed > 0) || replays.some((r) => r.samples === 0)) {
    console.error('requests failed, or a replay ran no sample');
    process.exitCode = 1;
  }
} finally {
  await setup.close();
}
