// Shadow evaluation's cost to the answers (issue 10 section 4; docs/agent.md "Shadow evaluation"):
// one in-process agent serves the example model 1.0.0 (real install, real summaries recorder); in every
// round the same load (lib.ts: a child process, keep-alive loops) runs once without a shadow and once
// with 2.0.0 in shadow on SHADOW_BENCH_RATE (default 0.1, the shadow stage's default) of the answered
// requests, the order alternating (off, on, on, off, ...) so each pair sees the same outside load; each
// ratio is the median of the per-round ratios. The same agent and session on both sides: only the shadow differs. Target: p99 of the answered requests with shadow <= 1.05x without.
// Also printed: throughput and CPU-per-request ratios, the shadow runs, agreements and dropped samples, and the load average.
// SHADOW_BENCH_ROUNDS (default 16) and SHADOW_BENCH_RATE narrow or change a run.
import { loadavg } from 'node:os';
import { twoVersionAgent } from './two-versions.js';
import { fmt, median, runPhases, type LoadResult } from './lib.js';

const CONCURRENCY = 8;
const WARMUP_MS = 300;
const DURATION_MS = 2000;
const ROUNDS = Number(process.env.SHADOW_BENCH_ROUNDS ?? 16);
const RATE = Number(process.env.SHADOW_BENCH_RATE ?? 0.1);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`SHADOW_BENCH_ROUNDS=${process.env.SHADOW_BENCH_ROUNDS}: expected a positive integer`);
if (!(RATE > 0 && RATE <= 1)) throw new Error(`SHADOW_BENCH_RATE=${process.env.SHADOW_BENCH_RATE}: expected a share in (0, 1]`);

const setup = await twoVersionAgent('ef-bench-shadow-');
try {
  const { agent: a, name, bodies } = setup;
  const load = { path: `/v2/models/${name}/infer`, bodies, concurrency: CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS, phases: [a.url] };
  const without: LoadResult[] = [];
  const withShadow: LoadResult[] = [];
  const phase = async (on: boolean) => {
    if (on) await a.shadow.set(name, await a.manager.loadInstalled(name, '2.0.0'), { sampleRate: RATE, threshold: 0.5 });
    (on ? withShadow : without).push((await runPhases(load))[0]!);
    if (on) await a.shadow.clear(name);
  };
  const load0 = loadavg();
  for (let r = 0; r < ROUNDS; r++) {
    await phase(r % 2 === 1);
    await phase(r % 2 === 0);
  }
  const load1 = loadavg();
  const results = [...without, ...withShadow];
  const ratio = (k: 'p99' | 'reqPerSec' | 'cpuUsPerReq') => median(withShadow.map((a, i) => a[k] / without[i]![k]));
  const each = (k: 'p99' | 'reqPerSec' | 'cpuUsPerReq') => `[${withShadow.map((a, i) => (a[k] / without[i]![k]).toFixed(2)).join(' ')}]`;
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const s = a.shadow.stats;
  const p99 = ratio('p99');
  console.log(`load: ${CONCURRENCY} keep-alive loops in a child process, ${WARMUP_MS} ms warm-up + ${DURATION_MS} ms measured, ${ROUNDS} alternating rounds, medians; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`);
  console.log(`  without shadow  ${fmt(median(without.map((r) => r.reqPerSec)))} req/s  p50 ${fmt(median(without.map((r) => r.p50)), 2)} ms  p99 ${fmt(median(without.map((r) => r.p99)), 2)} ms`);
  console.log(`  with shadow     ${fmt(median(withShadow.map((r) => r.reqPerSec)))} req/s  p50 ${fmt(median(withShadow.map((r) => r.p50)), 2)} ms  p99 ${fmt(median(withShadow.map((r) => r.p99)), 2)} ms`);
  console.log(`  shadow 2.0.0 at rate ${RATE}: ${s.sampled} sampled, ${s.runs} runs (${s.agree} agreed), ${s.errors} failed, ${s.dropped} dropped`);
  console.log(`shadow throughput: ${ratio('reqPerSec').toFixed(2)}x without, rounds ${each('reqPerSec')}`);
  // What a request costs the agent's process (all threads), less sensitive to a busy machine than latency.
  console.log(`shadow cpu/request: ${fmt(median(withShadow.map((r) => r.cpuUsPerReq)), 1)} µs vs ${fmt(median(without.map((r) => r.cpuUsPerReq)), 1)} µs = ${ratio('cpuUsPerReq').toFixed(2)}x, rounds ${each('cpuUsPerReq')}`);
  console.log(`shadow p99 of answered requests (rate ${RATE}): ${p99.toFixed(2)}x without, rounds ${each('p99')} (target <= 1.05) ${p99 <= 1.05 ? 'OK' : 'MISSED'}`);
  if (failed > 0 || s.runs === 0) {
    console.error(failed > 0 ? `${failed} requests failed` : 'no shadow run happened');
    process.exitCode = 1;
  }
} finally {
  await setup.close();
}
