// POST /edgefleet/v1/feedback {items: [{id, label, row?}]}: ground truth for earlier predictions,
// by the OIP request `id` they were made under (docs/agent.md "Feedback"). Every item is checked
// before any is counted, so a 400 (naming the item) counts nothing. A known id's row is counted
// once, in the open summary window of the version that predicted it; an id the agent does not
// remember (never sent, evicted, too old, made just before a kill -9: keep.ts) is answered `unknown` and not
// counted. Plain checks, no zod: this runs in the daemon (docs/performance.md "Idle RSS").
import { AppError, MAX_MAGNITUDE } from '@edgefleet/shared/core';
import { refuseUnknownFields } from '../api/guards.js';
import type { PredictionMemory, Remembered } from './memory.js';

/** Items per request; larger batches are split by the client. */
export const MAX_FEEDBACK_ITEMS = 1000;
/** Body bytes of one feedback request. */
export const MAX_FEEDBACK_BYTES = 256 * 1024;

/** Where a counted label goes (the summaries recorder). */
export interface LabelSink {
  recordLabel(model: string, version: string, classes: number, label: number, predicted: number): void;
  /** Saves what was counted (the open windows' checkpoint; saver.ts calls it before the answer says counted). */
  checkpoint?(): void;
}

export type ItemStatus = 'counted' | 'unknown' | 'already_labelled' | 'no_prediction';
export interface FeedbackAnswer {
  counted: number;
  unknown: number;
  alreadyLabelled: number;
  items: Array<{ id: string; row: number; status: ItemStatus; model?: string; version?: string; correct?: boolean }>;
}

const bad = (msg: string): never => {
  throw new AppError('BAD_REQUEST', msg);
};

/** A value received, for a message: its JSON, cut short. */
function got(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** The label as a class index or value, or a 400 naming the item and the label received. */
function labelValue(e: Remembered, label: unknown, where: string): number {
  const t = e.task;
  if (t.kind === 'regression') {
    // Past ±MAX_MAGNITUDE the window's error sums would be refused by the hub with every count in it
    // (docs/drift.md "Accuracy"): such a label is refused here, naming it.
    if (typeof label !== 'number' || !(Math.abs(label) <= MAX_MAGNITUDE)) bad(`${where}.label ${got(label)}: expected a finite number within ±${MAX_MAGNITUDE} (model ${e.model}@${e.version} is a regressor)`);
    return label as number;
  }
  if (typeof label === 'string') {
    const i = t.classes.indexOf(label);
    if (i < 0) bad(`${where}.label ${JSON.stringify(label).slice(0, 80)} is not a class of ${e.model}@${e.version}: expected one of ${t.classes.slice(0, 20).map((c) => JSON.stringify(c)).join(', ')}${t.classes.length > 20 ? ', …' : ''} or an index 0-${t.classes.length - 1}`);
    return i;
  }
  if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= t.classes.length) {
    bad(`${where}.label ${got(label)} is not a class of ${e.model}@${e.version}: expected a class name or an index 0-${t.classes.length - 1}`);
  }
  return label as number;
}

export function applyFeedback(body: unknown, memory: PredictionMemory, sink: LabelSink): FeedbackAnswer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad('body: expected {"items": [{"id", "label", "row"?}]}');
  refuseUnknownFields(body as object, ['items']);
  const items = (body as { items?: unknown }).items;
  if (!Array.isArray(items) || items.length === 0) bad('items: expected a non-empty array of {"id", "label", "row"?}');
  const list = items as unknown[];
  if (list.length > MAX_FEEDBACK_ITEMS) bad(`items: ${list.length} items, expected at most ${MAX_FEEDBACK_ITEMS} per request`);
  // Pass 1: every item well formed, and every label right for the version that predicted it.
  const checked = list.map((it, i) => {
    const where = `items[${i}]`;
    if (typeof it !== 'object' || it === null || Array.isArray(it)) bad(`${where}: expected {"id", "label", "row"?}`);
    refuseUnknownFields(it as object, ['id', 'label', 'row'], `${where}: `);
    const { id, label, row } = it as { id?: unknown; label?: unknown; row?: unknown };
    if (typeof id !== 'string' || id.length === 0 || id.length > memory.limits.maxIdLength) bad(`${where}.id: expected the request id of a prediction (a string of 1-${memory.limits.maxIdLength} characters)`);
    if (label === undefined || label === null) bad(`${where}.label: expected the true class or value`);
    const r = row === undefined ? 0 : row;
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) bad(`${where}.row: expected a row index >= 0 (default 0)`);
    const e = memory.get(id as string);
    if (!e) return { id: id as string, row: r as number, e: undefined, value: 0 };
    if ((r as number) >= e.predicted.length) bad(`${where}.row ${String(r)}: prediction "${String(id).slice(0, 64)}" has ${e.predicted.length} row(s), expected 0-${e.predicted.length - 1}`);
    return { id: id as string, row: r as number, e, value: labelValue(e, label, where) };
  });
  // Pass 2: count.
  const answer: FeedbackAnswer = { counted: 0, unknown: 0, alreadyLabelled: 0, items: [] };
  for (const c of checked) {
    const e = c.e;
    if (!e) {
      answer.unknown++;
      answer.items.push({ id: c.id, row: c.row, status: 'unknown' });
      continue;
    }
    if (e.labelled[c.row] === 1) {
      answer.alreadyLabelled++;
      answer.items.push({ id: c.id, row: c.row, status: 'already_labelled', model: e.model, version: e.version });
      continue;
    }
    memory.markLabelled(c.id, e, c.row);
    const predicted = e.predicted[c.row] as number;
    if (e.task.kind === 'classification' ? predicted < 0 : !(Math.abs(predicted) <= MAX_MAGNITUDE)) {
      // The model gave no prediction for this row (NaN scores), or a value no error sum can hold
      // (an infinity, or past ±MAX_MAGNITUDE): nothing to compare with.
      answer.items.push({ id: c.id, row: c.row, status: 'no_prediction', model: e.model, version: e.version });
      continue;
    }
    sink.recordLabel(e.model, e.version, e.task.classes.length, c.value, predicted);
    answer.counted++;
    const item: FeedbackAnswer['items'][number] = { id: c.id, row: c.row, status: 'counted', model: e.model, version: e.version };
    if (e.task.kind === 'classification') item.correct = predicted === c.value;
    answer.items.push(item);
  }
  for (const it of answer.items) memory.outcomes[it.status]++;
  return answer;
}
