// A seeded synthetic dataset of machine vibration features with an anomaly label.
// Generative story: each row is one measurement of a machine (pump, fan,
// compressor or motor) running at some load. A hidden condition — healthy,
// imbalance, misalignment or bearing wear — shapes the spectrum: imbalance
// raises the 1x running-speed harmonic, misalignment the 2x harmonic, bearing
// wear the impulsiveness (kurtosis, crest factor, envelope energy) and the
// bearing temperature. The label is "anomalous" when the condition is not
// healthy. `shift` models a summer season plus a sensor recalibration, which is
// what version 2.0.0 is trained on and what drift detection should notice.
import type { Feature } from '@edgefleet/shared';
import { makeRng } from '../rng.js';

export const MACHINE_TYPES = ['pump', 'fan', 'compressor', 'motor'] as const;

/** The 12 input columns, in tensor order; the manifest's `features`. */
export const VIBRATION_FEATURES: Feature[] = [
  { name: 'rms_velocity', index: 0, kind: 'numeric', unit: 'mm/s', description: 'RMS vibration velocity, 10-1000 Hz (ISO 10816)' },
  { name: 'peak_acceleration', index: 1, kind: 'numeric', unit: 'g', description: 'peak acceleration in the measurement window' },
  { name: 'crest_factor', index: 2, kind: 'numeric', description: 'peak / RMS of the acceleration signal' },
  { name: 'kurtosis', index: 3, kind: 'numeric', description: 'kurtosis of the acceleration signal (3 for Gaussian)' },
  { name: 'bearing_temperature', index: 4, kind: 'numeric', unit: 'degC', description: 'drive-end bearing housing temperature' },
  { name: 'rpm', index: 5, kind: 'numeric', unit: 'rev/min', description: 'shaft speed' },
  { name: 'load_pct', index: 6, kind: 'numeric', unit: '%', description: 'motor load as a percentage of rated power' },
  { name: 'harmonic_1x', index: 7, kind: 'numeric', unit: 'mm/s', description: 'velocity amplitude at 1x running speed' },
  { name: 'harmonic_2x', index: 8, kind: 'numeric', unit: 'mm/s', description: 'velocity amplitude at 2x running speed' },
  { name: 'envelope_energy', index: 9, kind: 'numeric', unit: 'g^2', description: 'energy of the demodulated envelope, 2-10 kHz band' },
  { name: 'ambient_temperature', index: 10, kind: 'numeric', unit: 'degC', description: 'air temperature next to the machine' },
  {
    name: 'machine_type', index: 11, kind: 'categorical', description: 'kind of machine, encoded as its vocabulary index',
    vocabulary: [...MACHINE_TYPES],
  },
];
export const N_FEATURES = VIBRATION_FEATURES.length;
export const MACHINE_TYPE_INDEX = 11;

export interface Dataset {
  /** Row-major rows x N_FEATURES. */
  x: Float32Array;
  /** 1 = anomalous. */
  y: Uint8Array;
  rows: number;
}

export interface GenerateOptions {
  rows: number;
  seed: number;
  /** Summer + sensor recalibration: warmer air, hotter bearings, velocity sensors reading ~15% higher, more compressors. */
  shift?: boolean;
}

const BASE = {
  // rpm, rms velocity at full load (mm/s), machine mix weight (normal, shifted)
  pump: { rpm: 1480, rms: 2.2, mix: [0.35, 0.25] },
  fan: { rpm: 980, rms: 1.6, mix: [0.25, 0.2] },
  compressor: { rpm: 2960, rms: 3.0, mix: [0.2, 0.4] },
  motor: { rpm: 1780, rms: 1.3, mix: [0.2, 0.15] },
} as const;

export function generateVibration(opts: GenerateOptions): Dataset {
  const rng = makeRng(opts.seed);
  const shift = opts.shift ?? false;
  const x = new Float32Array(opts.rows * N_FEATURES);
  const y = new Uint8Array(opts.rows);
  const lognormal = (sd: number) => Math.exp(rng.normal() * sd);
  const mixIdx = shift ? 1 : 0;
  for (let r = 0; r < opts.rows; r++) {
    let u = rng.next();
    let type = 0;
    for (; type < MACHINE_TYPES.length - 1; type++) {
      u -= BASE[MACHINE_TYPES[type] as keyof typeof BASE].mix[mixIdx];
      if (u < 0) break;
    }
    const b = BASE[MACHINE_TYPES[type] as keyof typeof BASE];
    const load = 20 + 80 * Math.sqrt(rng.next());
    const ambient = (shift ? 30 : 21) + rng.normal() * 4;
    const rpm = b.rpm * (1 - 0.02 * (load / 100)) + rng.normal() * 8;
    // Hidden condition: ~9% anomalous; older/harder-run machines fail more.
    const c = rng.next();
    const pFault = 0.05 + 0.06 * (load / 100);
    const condition = c < pFault * 0.4 ? 1 : c < pFault * 0.7 ? 2 : c < pFault ? 3 : 0; // 1 imbalance, 2 misalignment, 3 bearing
    const severity = condition === 0 ? 0 : 0.3 + rng.next() * 1.2;
    const gain = shift ? 1.15 : 1;

    let h1 = b.rms * 0.45 * (0.5 + load / 200) * lognormal(0.25);
    let h2 = b.rms * 0.18 * (0.5 + load / 200) * lognormal(0.3);
    if (condition === 1) h1 *= 1 + 1.6 * severity;
    if (condition === 2) h2 *= 1 + 2.2 * severity;
    const broadband = b.rms * 0.55 * (0.4 + load / 160) * lognormal(0.2);
    const rms = gain * Math.sqrt(h1 * h1 + h2 * h2 + broadband * broadband);
    let kurt = 3 + Math.abs(rng.normal()) * 0.6;
    let env = 0.02 * (0.5 + load / 100) * lognormal(0.35);
    let bearingTemp = ambient + 14 + 22 * (load / 100) + rng.normal() * 2.5;
    if (condition === 3) {
      kurt += 2.5 * severity + Math.abs(rng.normal());
      env *= 1 + 5 * severity;
      bearingTemp += 9 * severity;
    }
    if (condition === 2) bearingTemp += 3 * severity;
    const crest = Math.sqrt(kurt) * 1.55 * lognormal(0.08);
    // peak acceleration (g) grows with velocity and shaft frequency.
    const accelRms = (rms / 1000) * 2 * Math.PI * (rpm / 60) * 3 / 9.81;
    const peak = accelRms * crest;

    const row = [rms, peak, crest, kurt, bearingTemp, rpm, load, gain * h1, gain * h2, env, ambient, type];
    x.set(row, r * N_FEATURES);
    // Label noise: a few faults go unconfirmed, a few healthy rows are logged as faults.
    const flip = rng.next() < 0.015;
    y[r] = (condition !== 0) !== flip ? 1 : 0;
  }
  return { x, y, rows: opts.rows };
}

/** The dataset as CSV (header, features, label): what `provenance.data[].sha256` hashes. */
export function datasetCsv(d: Dataset): string {
  const lines = [[...VIBRATION_FEATURES.map((f) => f.name), 'anomaly'].join(',')];
  for (let r = 0; r < d.rows; r++) {
    const row = Array.from(d.x.subarray(r * N_FEATURES, (r + 1) * N_FEATURES), (v, i) => (i === MACHINE_TYPE_INDEX ? String(v) : v.toPrecision(7)));
    lines.push([...row, String(d.y[r])].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Rows [from, to) of a dataset. */
export function sliceDataset(d: Dataset, from: number, to: number): Dataset {
  return { x: d.x.slice(from * N_FEATURES, to * N_FEATURES), y: d.y.slice(from, to), rows: to - from };
}

/** The rows as arrays of numbers (e.g. for OIP infer requests or batch files). */
export function datasetRows(d: Dataset): number[][] {
  return Array.from({ length: d.rows }, (_, r) => Array.from(d.x.subarray(r * N_FEATURES, (r + 1) * N_FEATURES)));
}
