// Streaming readers for batch input files and the conversion of one row into
// model feeds. JSONL rows are either {"inputs": {name: data}} (OIP-ish, any
// model) or, for tabular models, a flat object of feature name -> value; CSV
// files have a header of feature names. A bad row becomes a RowError naming the
// row, the field and what was expected; it never stops the job.
import { createReadStream } from 'node:fs';
import { AppError, tensorData } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';
import { boundedLines, MAX_LINE_BYTES } from './lines.js';

export type RawRow = { line: number; value: Record<string, unknown> } | { line: number; error: string };

/** Parses one CSV line (RFC 4180 quoting within the line). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * Rows of a .jsonl or .csv file, streamed; `onBytes` gets the bytes read so far (for progress). A line over
 * `maxLineBytes` is a bad row (./lines.ts), never held whole; a CSV header over it fails the file.
 */
export async function* readRows(path: string, onBytes?: (n: number) => void, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<RawRow> {
  const kind = path.endsWith('.csv') ? 'csv' : path.endsWith('.jsonl') || path.endsWith('.ndjson') ? 'jsonl' : null;
  if (kind === null) throw new AppError('BAD_REQUEST', `input ${path}: expected a .jsonl or .csv file`);
  const stream = createReadStream(path);
  let bytes = 0;
  stream.on('data', (c) => { bytes += c.length; onBytes?.(bytes); });
  let header: string[] | null = null;
  for await (const got of boundedLines(stream, maxLineBytes)) {
    const n = got.n;
    if ('tooLong' in got) {
      const what = `${got.tooLong} bytes: expected at most ${maxLineBytes} bytes a line (one row per line)`;
      if (kind === 'csv' && header === null) throw new AppError('BAD_REQUEST', `input ${path}: the header line, ${what}`);
      yield { line: n, error: what };
      continue;
    }
    const raw = got.text;
    const line = raw.trim();
    if (line === '') continue;
    if (kind === 'jsonl') {
      try {
        const v: unknown = JSON.parse(line);
        if (typeof v !== 'object' || v === null || Array.isArray(v)) yield { line: n, error: 'expected a JSON object per line' };
        else yield { line: n, value: v as Record<string, unknown> };
      } catch (err) {
        yield { line: n, error: `not JSON (${(err as Error).message}): expected a JSON object per line` };
      }
      continue;
    }
    const cells = parseCsvLine(raw);
    if (header === null) {
      header = cells.map((c) => c.trim());
      continue;
    }
    if (cells.length !== header.length) {
      yield { line: n, error: `has ${cells.length} columns: expected ${header.length} (${header.join(', ')})` };
      continue;
    }
    const value: Record<string, unknown> = {};
    header.forEach((h, i) => { value[h] = cells[i]!.trim(); });
    yield { line: n, value };
  }
}

/** How rows map onto the model: tabular (one feature tensor, rows stacked) or per-row OIP feeds. */
export interface RowShape {
  tabular: boolean;
  input: string;
  width: number;
  /** feature index -> position in the row; vocabularies for categorical columns */
  columns: { name: string; index: number; vocabulary: string[] | null }[];
  /** The tabular input is FP32: a value beyond its range would reach the model as Infinity. */
  fp32: boolean;
}

export function rowShape(m: Manifest): RowShape {
  const features = m.features ?? [];
  const first = m.io.inputs[0]!;
  const input = features[0]?.input ?? first.name;
  const spec = m.io.inputs.find((t) => t.name === input) ?? first;
  const tabular = features.length > 0 && m.io.inputs.length === 1 && spec.shape.length === 2 && (spec.datatype === 'FP32' || spec.datatype === 'FP64');
  const width = spec.shape[1] ?? 0;
  return {
    tabular: tabular && width === features.length,
    input,
    width,
    columns: features.map((f) => ({ name: f.name, index: f.index, vocabulary: f.kind === 'categorical' ? (f.vocabulary ?? []) : null })),
    fp32: spec.datatype === 'FP32',
  };
}

/** A number as a CSV cell writes it: decimal, optionally signed, with an exponent (not "0x10", " ", "1_000" or "Infinity"). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function cellNumber(v: unknown, col: RowShape['columns'][number], fp32: boolean): number {
  let x: number | undefined;
  if (typeof v === 'number' && Number.isFinite(v)) x = v;
  else if (typeof v === 'string' && v.trim() !== '') {
    const i = col.vocabulary ? col.vocabulary.indexOf(v) : -1;
    if (i >= 0) return i;
    if (DECIMAL.test(v.trim())) x = Number(v);
  }
  if (x !== undefined && Number.isFinite(x)) {
    if (fp32 && !Number.isFinite(Math.fround(x))) throw new AppError('INVALID_INPUT', `feature "${col.name}" is ${v as string | number}, which overflows FP32 (the model's input): expected a finite FP32 number (at most ±3.4e38)`);
    return x;
  }
  const want = col.vocabulary ? `one of ${JSON.stringify(col.vocabulary)} or its index` : 'a finite decimal number';
  throw new AppError('INVALID_INPUT', `feature "${col.name}" is ${v === undefined || v === '' ? 'missing' : JSON.stringify(v)}: expected ${want}`);
}

/** One tabular row as numbers in column order; throws INVALID_INPUT naming the feature. */
export function tabularRow(value: Record<string, unknown>, shape: RowShape): number[] {
  const src = value.inputs !== undefined ? flatInputs(value.inputs, shape) : value;
  if (Array.isArray(src)) return src;
  const known = new Set(shape.columns.map((c) => c.name));
  const extra = Object.keys(src).filter((k) => !known.has(k) && k !== 'id');
  if (extra.length > 0) {
    throw new AppError('INVALID_INPUT', `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}: expected the features ${[...known].join(', ')} (and optionally "id")`);
  }
  const out = new Array<number>(shape.width).fill(0);
  for (const c of shape.columns) out[c.index] = cellNumber(src[c.name], c, shape.fp32);
  return out;
}

function flatInputs(inputs: unknown, shape: RowShape): number[] | Record<string, unknown> {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new AppError('INVALID_INPUT', `"inputs" must be an object of input name -> data: expected {"${shape.input}": [${shape.width} numbers]}`);
  }
  const data = (inputs as Record<string, unknown>)[shape.input];
  if (data === undefined) throw new AppError('INVALID_INPUT', `"inputs" has no "${shape.input}": expected {"${shape.input}": [${shape.width} numbers]}`);
  const flat = (Array.isArray(data) ? data.flat(Infinity) : [data]) as unknown[];
  if (flat.length !== shape.width) {
    throw new AppError('INVALID_INPUT', `input "${shape.input}" has ${flat.length} values: expected ${shape.width} finite numbers`);
  }
  // Held to what the local API takes (numbers only, no FP32 overflow): throws naming the value.
  tensorData(flat, { name: shape.input, datatype: shape.fp32 ? 'FP32' : 'FP64', shape: [shape.width] }, { allowNonFinite: false });
  return flat as number[];
}

/** Feeds for one row of a non-tabular model from {"inputs": {name: data}}: free dims inferred from the data. */
export function oipFeeds(value: Record<string, unknown>, m: Manifest): RecordedTensor[] {
  const inputs = value.inputs;
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new AppError('INVALID_INPUT', `expected {"inputs": {${m.io.inputs.map((t) => `"${t.name}": ...`).join(', ')}}}`);
  }
  const rec = inputs as Record<string, unknown>;
  const extra = Object.keys(rec).filter((k) => !m.io.inputs.some((t) => t.name === k));
  if (extra.length > 0) throw new AppError('INVALID_INPUT', `unknown input "${extra[0]}": expected ${m.io.inputs.map((t) => t.name).join(', ')}`);
  return m.io.inputs.map((spec) => {
    const v = rec[spec.name];
    if (v === undefined) throw new AppError('INVALID_INPUT', `missing input "${spec.name}": expected ${spec.datatype} data of shape [${spec.shape.join(', ')}]`);
    const flat = (Array.isArray(v) ? v.flat(Infinity) : [v]) as unknown[];
    const fixed = spec.shape.reduce((p, d) => (d >= 0 ? p * d : p), 1);
    const free = spec.shape.filter((d) => d < 0).length;
    if (free > 1 || (free === 0 && flat.length !== fixed) || (free === 1 && (fixed === 0 || flat.length % fixed !== 0))) {
      throw new AppError('INVALID_INPUT', `input "${spec.name}" has ${flat.length} values: expected a shape [${spec.shape.join(', ')}]`);
    }
    const shape = spec.shape.map((d) => (d < 0 ? flat.length / fixed : d));
    // Each value checked as the local API checks it: the datatype's type and range (shared/src/infer/tensor-values.ts).
    return { name: spec.name, datatype: spec.datatype, shape, data: tensorData(flat, spec, { allowNonFinite: false }) as RecordedTensor['data'] };
  });
}
