// Serialized shapes of the mergeable sketches. Operations live beside this file.
import { z } from 'zod';

const Count = z.number().int().nonnegative();

/** Fixed-bin histogram on reference edges: counts[i] is [edges[i], edges[i+1]) (last bin closed), plus under/over. */
export const HistogramSketch = z.object({ counts: z.array(Count), under: Count, over: Count });
export type HistogramSketch = z.infer<typeof HistogramSketch>;

/** Moments merged with Chan's formula; min/max are null while n is 0. */
export const MomentsSketch = z.object({
  n: Count,
  mean: z.number(),
  m2: z.number().nonnegative(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export type MomentsSketch = z.infer<typeof MomentsSketch>;

/** Counts per vocabulary value; values outside the vocabulary go to `other`. */
export const CategoricalSketch = z.object({ counts: z.record(z.string(), Count), other: Count });
export type CategoricalSketch = z.infer<typeof CategoricalSketch>;

/** Log-bucket latency histogram: counts[i] covers (LATENCY_BOUNDS_MS[i-1], LATENCY_BOUNDS_MS[i]]; last is overflow. */
export const LatencySketch = z.object({ counts: z.array(Count), sumMs: z.number().nonnegative() });
export type LatencySketch = z.infer<typeof LatencySketch>;
