// The memory of predictions (memory.ts) kept in agent.db, so a label posted after a restart (an upgrade,
// a crash, a power cut) still finds the prediction it is for (docs/agent.md "Feedback",
// docs/decisions/0135-remembered-predictions-kept.md). The request path only notes what changed; the
// changes are written in one transaction every KEEP_INTERVAL_MS, with every checkpoint of the open
// summary windows (so a label's count and its row's mark are saved together: counted once, after a
// restart too), and on stop. The table holds what the memory holds: the same bounds, the oldest rows
// deleted as the memory forgets them. Rows that do not read back as a prediction (damaged, or written
// by something else) are deleted at start, counted and logged, never served.
import type { Db, Migration } from '../store/db.js';
import type { MemoryChanges, PredictionMemory, Remembered } from './memory.js';
import { entryBytes } from './memory.js';
import type { TaskPlan } from './task.js';

/** How often remembered predictions are written (ms): a kill -9 forgets the last second or so of them. */
export const KEEP_INTERVAL_MS = 1000;
/**
 * New rows a transaction writes at most (~4 µs each on the shared test machine): more wait for the next,
 * after the event loop has run (setImmediate), so 2,000 predictions a second cost a few 1–2 ms writes,
 * not one 20–60 ms pause of every request.
 */
export const KEEP_CHUNK = 256;

const SQL = `
  CREATE TABLE feedback_tasks (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    task TEXT NOT NULL,
    UNIQUE (model, version, task)
  );
  CREATE TABLE feedback_predictions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    task INTEGER NOT NULL,
    at INTEGER NOT NULL,
    predicted BLOB NOT NULL,
    labelled BLOB NOT NULL
  );
`;

/**
 * id 600: the remembered predictions. No index on `id`: rows are found by `seq` (the memory's order), so
 * an id is stored once and a row takes no more of the file than entryBytes() counts for it.
 */
export const feedbackMigration: Migration = { id: 600, name: 'feedback: predictions remembered for labels', up(db) { db.exec(SQL); } };

export interface KeepOptions {
  intervalMs?: number;
  /** A write failed (the changes are kept for the next one); called once until a write succeeds. */
  onError?: (err: unknown) => void;
}

/** What start() read back. */
export interface Restored {
  restored: number;
  /** Rows deleted as unreadable: damaged, or not written by this agent. */
  unreadable: number;
  /** Rows read back but forgotten at once: past the bounds or the age limit now. */
  forgotten: number;
}

type Row = [seq: unknown, id: unknown, task: unknown, at: unknown, predicted: unknown, labelled: unknown];

/** A task's JSON as TaskPlan, or undefined when it is not one. */
function readTask(json: string): TaskPlan | undefined {
  let t: Partial<TaskPlan>;
  try {
    t = JSON.parse(json) as Partial<TaskPlan>;
  } catch {
    return undefined;
  }
  if (typeof t !== 'object' || t === null || (t.kind !== 'classification' && t.kind !== 'regression') || typeof t.output !== 'string' || typeof t.logits !== 'boolean') return undefined;
  if (!Array.isArray(t.classes) || !t.classes.every((c) => typeof c === 'string') || !Number.isInteger(t.column) || (t.column as number) < 0) return undefined;
  if (t.kind === 'classification' && t.classes.length === 0) return undefined;
  return { kind: t.kind, output: t.output, classes: t.classes, logits: t.logits, column: t.column as number };
}

/** A row as a remembered prediction, or undefined when it does not read as one. */
function readRow(r: Row, tasks: Map<number, { model: string; version: string; task: TaskPlan }>): [string, Remembered] | undefined {
  const [seq, id, taskId, at, predicted, labelled] = r;
  const t = typeof taskId === 'number' ? tasks.get(taskId) : undefined;
  if (typeof seq !== 'number' || typeof id !== 'string' || t === undefined || typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  if (!Buffer.isBuffer(predicted) || !Buffer.isBuffer(labelled) || predicted.length === 0 || predicted.length % 8 !== 0 || labelled.length !== predicted.length / 8) return undefined;
  const rows = labelled.length;
  const p = new Array<number>(rows);
  const l = new Array<number>(rows);
  const k = t.task.classes.length;
  for (let i = 0; i < rows; i++) {
    const v = predicted.readDoubleLE(i * 8);
    // A class index the route would count against (or -1: none), else the row is not ours.
    if (t.task.kind === 'classification' && !(Number.isInteger(v) && v >= -1 && v < k)) return undefined;
    p[i] = v;
    const m = labelled[i] as number;
    if (m > 1) return undefined;
    l[i] = m;
  }
  return [id, { model: t.model, version: t.version, task: t.task, at, predicted: p, labelled: l, bytes: entryBytes(id.length, rows), seq, id, newer: null, older: null }];
}

const labelledBlob = (e: Remembered) => Buffer.from(e.labelled);

export class PredictionKeeper {
  private timer: NodeJS.Timeout | null = null;
  private more: NodeJS.Immediate | null = null;
  private failing = false;
  private readonly changes: MemoryChanges = { added: new Map(), labelled: new Set(), dropped: [] };

  constructor(private readonly db: Db, private readonly memory: PredictionMemory, private readonly opts: KeepOptions = {}) {}

  /** Reads the kept predictions back into the memory, deletes what it cannot read or no longer holds, and starts the timer. */
  start(): Restored {
    // First: a read that throws (a damaged file) leaves the memory serving and later writes trying.
    this.timer ??= setInterval(() => this.save(), this.opts.intervalMs ?? KEEP_INTERVAL_MS);
    this.timer.unref();
    const tasks = new Map<number, { model: string; version: string; task: TaskPlan }>();
    for (const r of this.db.prepare('SELECT id, model, version, task FROM feedback_tasks').raw().iterate() as IterableIterator<[number, unknown, unknown, unknown]>) {
      const task = typeof r[3] === 'string' ? readTask(r[3]) : undefined;
      if (task === undefined || typeof r[1] !== 'string' || typeof r[2] !== 'string') continue;
      tasks.set(r[0], { model: r[1], version: r[2], task });
    }
    // Noted from here: what the bounds forget while reading is deleted by the first write.
    this.memory.changes = this.changes;
    const unreadable: unknown[] = [];
    for (const r of this.db.prepare('SELECT seq, id, task, at, predicted, labelled FROM feedback_predictions ORDER BY seq').raw().iterate() as IterableIterator<Row>) {
      const read = readRow(r, tasks);
      if (read === undefined) unreadable.push(r[0]);
      else if (!this.memory.restore(read[0], read[1])) this.changes.dropped.push(read[1].seq); // over a bound alone now
    }
    this.memory.expire();
    const out: Restored = { restored: this.memory.size, unreadable: unreadable.length, forgotten: this.changes.dropped.length };
    this.db.transaction(() => {
      const del = this.db.prepare('DELETE FROM feedback_predictions WHERE seq = ?');
      for (const seq of unreadable) del.run(seq);
      this.write(0);
      // Tasks no kept prediction names (a few rows: one a version that served with ids).
      this.db.exec('DELETE FROM feedback_tasks WHERE id NOT IN (SELECT DISTINCT task FROM feedback_predictions)');
    })();
    // The timer armed above runs on (a second one here replaced it in this.timer, and stop() never ended the first).
    return out;
  }

  /**
   * Writes what changed, in one transaction (nested in the caller's when inside one: the summary
   * checkpoint's, agent.ts): every deletion and labelled mark, and at most `max` new rows, the oldest
   * first. A new row left for later is forgotten by a kill -9: a label for it is then `unknown`, never
   * counted twice. Throws when the write fails; the changes then wait for the next one.
   */
  flush(max = KEEP_CHUNK): void {
    const c = this.changes;
    if (c.added.size === 0 && c.labelled.size === 0 && c.dropped.length === 0) return;
    this.db.transaction(() => this.write(max))();
  }

  /** Stops the timer and writes everything that changed (the stop path: local SQLite only). Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.more) clearImmediate(this.more);
    this.timer = null;
    this.more = null;
    this.save(Number.POSITIVE_INFINITY);
  }

  private save(max = KEEP_CHUNK): void {
    this.more = null;
    try {
      this.flush(max);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.opts.onError?.(err);
      this.failing = true;
      return;
    }
    if (this.changes.added.size > 0 && this.timer !== null) this.more ??= setImmediate(() => this.save());
  }

  private write(max: number): void {
    const c = this.changes;
    const del = this.db.prepare('DELETE FROM feedback_predictions WHERE seq = ?');
    for (const seq of c.dropped) del.run(seq);
    const upd = this.db.prepare('UPDATE feedback_predictions SET labelled = ? WHERE seq = ?');
    for (const e of c.labelled) upd.run(labelledBlob(e), e.seq);
    const ins = this.db.prepare('INSERT OR REPLACE INTO feedback_predictions (seq, id, task, at, predicted, labelled) VALUES (?, ?, ?, ?, ?, ?)');
    // Task rows looked up once a write, not cached across writes: a rolled-back write leaves no stale id.
    const taskIds = new Map<TaskPlan, Map<string, number>>();
    const written: string[] = [];
    for (const [id, e] of c.added) {
      if (written.length >= max) break;
      ins.run(e.seq, id, this.taskId(taskIds, e), e.at, Buffer.from(Float64Array.from(e.predicted).buffer), labelledBlob(e));
      written.push(id);
    }
    // Cleared only once written: a throw above leaves every change for the next write.
    for (const id of written) c.added.delete(id);
    c.labelled.clear();
    c.dropped.length = 0;
  }

  /** The feedback_tasks row of an entry's model, version and task (`seen`: this write's, by plan; a version's plan is one object, api/core.ts). */
  private taskId(seen: Map<TaskPlan, Map<string, number>>, e: Remembered): number {
    let m = seen.get(e.task);
    if (m === undefined) seen.set(e.task, (m = new Map()));
    const key = `${e.model}\0${e.version}`;
    let id = m.get(key);
    if (id === undefined) {
      const json = JSON.stringify(e.task);
      this.db.prepare('INSERT OR IGNORE INTO feedback_tasks (model, version, task) VALUES (?, ?, ?)').run(e.model, e.version, json);
      id = (this.db.prepare('SELECT id FROM feedback_tasks WHERE model = ? AND version = ? AND task = ?').get(e.model, e.version, json) as { id: number }).id;
      m.set(key, id);
    }
    return id;
  }
}
