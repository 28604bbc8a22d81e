// Model-level helpers for bundles: the reference profile's content id, and the
// pure comparison of a model's actual inputs/outputs (as read from an ORT
// session by the caller) against the manifest's `io`.
import { canonicalJson, sha256Hex } from '../canonical.js';
import { parseWire } from '../wire/common.js';
import { type Manifest, Reference } from '../wire/manifest.js';

const ReferenceBody = Reference.omit({ id: true });
type ReferenceBodyInput = Omit<import('zod').input<typeof Reference>, 'id'>;

/** sha256 of the canonical JSON of the reference without its `id` (after schema defaults, so omitted defaults hash the same). */
export function referenceId(reference: ReferenceBodyInput & { id?: string }): string {
  const { id: _id, ...rest } = reference;
  return sha256Hex(canonicalJson(parseWire(ReferenceBody, rest, 'reference profile')));
}

/** The reference with its `id` filled in. */
export function withReferenceId(reference: ReferenceBodyInput): Reference {
  const body = parseWire(ReferenceBody, reference, 'reference profile');
  return { id: sha256Hex(canonicalJson(body)), ...body };
}

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

/**
 * Mismatches between a model's actual io and the manifest's, one message each
 * naming the tensor and expected vs actual; empty when they agree. Extra model
 * outputs are allowed (callers may ignore them); extra model inputs are not.
 */
export function checkModelIo(actual: { inputs: ActualTensor[]; outputs: ActualTensor[] }, io: Manifest['io']): string[] {
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
          if (kind === 'input' && d === -1 && typeof m === 'number' && m >= 0) {
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
