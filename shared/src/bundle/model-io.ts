// A model's actual inputs and outputs (onnxruntime's metadata, read by the caller) against the
// manifest's `io`, one message per mismatch. No zod here: the agent's daemon loads it through
// @edgefleet/shared/core (docs/performance.md "Performance"); `model pack` uses it too.
import type { Manifest } from '../wire/manifest.js';

/** onnxruntime tensor type names → OIP datatypes (undefined for types OIP has no name for). */
export function ortTypeToDatatype(t: string): string | undefined {
  const map: Record<string, string> = {
    float32: 'FP32', float: 'FP32', float64: 'FP64', double: 'FP64', float16: 'FP16',
    int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64',
    uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', bool: 'BOOL', string: 'BYTES',
  };
  return map[t.replace(/^tensor\((.*)\)$/, '$1')];
}

export interface ActualTensor {
  name: string;
  /** OIP datatype (use ortTypeToDatatype); undefined when the runtime does not say. */
  datatype?: string;
  rank?: number;
  /** Dimensions where known: numbers; symbolic or free: -1, null or a string. */
  shape?: (number | string | null)[];
}

/** An input or output as onnxruntime's InferenceSession.ValueMetadata gives it (either package). */
export interface OrtValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

/** What checkModelIo compares of onnxruntime's metadata; a non-tensor value (sequence, map) is a datatype mismatch. */
export function actualTensor(m: OrtValueMetadata): ActualTensor {
  if (!m.isTensor || m.type === undefined) return { name: m.name, datatype: 'a non-tensor value' };
  return { name: m.name, datatype: ortTypeToDatatype(m.type) ?? m.type, ...(m.shape ? { shape: [...m.shape] } : {}) };
}

export interface CheckModelIoOptions {
  /**
   * Leave out an input dimension free in the manifest that the model fixes at 1 (a fixed batch of one):
   * `model pack` refuses it, while an agent still loads a bundle signed before pack did, which serves
   * single rows. A free dimension fixed at another size fails any warm-up, so it is named either way.
   */
  allowFreeOverOne?: boolean;
}

/**
 * Mismatches between a model's actual io and the manifest's, one message each
 * naming the tensor and expected vs actual; empty when they agree. Extra model
 * outputs are allowed (callers may ignore them); extra model inputs are not.
 */
export function checkModelIo(actual: { inputs: ActualTensor[]; outputs: ActualTensor[] }, io: Manifest['io'], opts: CheckModelIoOptions = {}): string[] {
  const out: string[] = [];
  for (const kind of ['input', 'output'] as const) {
    const want = kind === 'input' ? io.inputs : io.outputs;
    const have = kind === 'input' ? actual.inputs : actual.outputs;
    const names = have.map((t) => t.name);
    for (const spec of want) {
      const t = have.find((x) => x.name === spec.name);
      if (!t) { out.push(`${kind} "${spec.name}": declared in the manifest but the model has no such ${kind} (model ${kind}s: ${names.join(', ') || 'none'})`); continue; }
      if (t.datatype !== undefined && t.datatype !== spec.datatype) out.push(`${kind} "${spec.name}": expected datatype ${spec.datatype}, the model has ${t.datatype}`);
      const rank = t.rank ?? t.shape?.length;
      if (rank !== undefined && rank !== spec.shape.length) {
        out.push(`${kind} "${spec.name}": expected rank ${spec.shape.length} (shape [${spec.shape.join(', ')}]), the model has rank ${rank}`);
      } else if (t.shape) {
        spec.shape.forEach((d, i) => {
          const m = t.shape?.[i];
          if (d >= 0 && typeof m === 'number' && m >= 0 && m !== d) out.push(`${kind} "${spec.name}": dimension ${i} expected ${d}, the model has ${m}`);
          // A free input dimension the model fixes would let every other size through validation to
          // fail in onnxruntime, counted as a model error (and batching would combine rows past it).
          if (kind === 'input' && d === -1 && typeof m === 'number' && m >= 0 && !(m === 1 && opts.allowFreeOverOne)) {
            out.push(`input "${spec.name}": dimension ${i} is free (-1) in the manifest but the model fixes it at ${m}: expected ${m}`);
          }
        });
      }
    }
    if (kind === 'input') {
      for (const t of have) {
        if (!want.some((s) => s.name === t.name)) out.push(`input "${t.name}": the model requires it but the manifest io does not declare it`);
      }
    }
  }
  return out;
}
