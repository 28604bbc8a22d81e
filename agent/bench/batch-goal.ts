// Which of issue 14's batching goals applies to a model (decision 0054): the one for a model where
// inference dominates the request (>= 1.5x the floor's throughput) when a single-row run costs at
// least half of the floor's CPU a request, else the one where HTTP and JSON dominate (no loss,
// >= 1.0x). p99 <= 1.5x the floor's in both.

export interface BatchingGoal {
  /** The single-row run's share of the floor's CPU a request, 0..1 (or more on a noisy reading). */
  share: number;
  inferenceDominates: boolean;
  /** Minimum throughput ratio to the floor. */
  throughput: number;
  /** Maximum p99 ratio to the floor. */
  p99: number;
}

export function batchingGoal(runCpuUs: number, floorCpuUsPerRequest: number): BatchingGoal {
  if (!(runCpuUs > 0) || !(floorCpuUsPerRequest > 0) || !Number.isFinite(runCpuUs) || !Number.isFinite(floorCpuUsPerRequest)) {
    throw new Error(`batchingGoal: expected positive finite CPU times, got a run of ${runCpuUs} µs and a floor request of ${floorCpuUsPerRequest} µs`);
  }
  const share = runCpuUs / floorCpuUsPerRequest;
  const inferenceDominates = share >= 0.5;
  return { share, inferenceDominates, throughput: inferenceDominates ? 1.5 : 1.0, p99: 1.5 };
}
