// The agent's logger: JSON lines on stderr (so CLI output on stdout stays clean), in
// pino's line format ({"level":30,"time":...,"pid":...,"name":...,...fields,"msg":...};
// an `err` field as {type, message, stack, code, ...}), written synchronously. Our own
// rather than pino: the daemon logs a few lifecycle lines, and pino's module graph cost
// ~1.5 MB of the standalone agent's idle RSS (docs/performance.md). A pino logger passed
// in (tests) satisfies the same interface.
import { writeSync } from 'node:fs';

type LogFn = (obj: object | string, msg?: string) => void;

/** What the agent's parts log through. */
export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  /** A new level from now on (remote configuration, docs/agent.md "Remote configuration"); absent on loggers passed in. */
  setLevel?(level: string): void;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

function serializeError(e: Error): Record<string, unknown> {
  return { ...e, type: e.constructor.name, message: e.message, stack: e.stack };
}

function line(level: number, name: string, obj: object | string, msg: string | undefined): string {
  const rec: Record<string, unknown> = { level, time: Date.now(), pid: process.pid, name };
  if (typeof obj === 'string') msg = obj;
  else for (const [k, v] of Object.entries(obj)) rec[k] = v instanceof Error ? serializeError(v) : v;
  if (msg !== undefined) rec.msg = msg;
  try {
    return `${JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
  } catch (err) {
    // A field JSON cannot hold (a cycle): still log the message.
    return `${JSON.stringify({ level, time: rec.time, pid: rec.pid, name, msg, logError: (err as Error).message })}\n`;
  }
}

/** A logger at `level` (trace, debug, info, warn, error, fatal or silent). */
export function createLogger(level: string, name = 'edgefleet-agent'): Logger {
  let min = LEVELS[level] ?? LEVELS.info!;
  const at = (n: number): LogFn => (obj, msg) => {
    if (n < min) return;
    try {
      writeSync(2, line(n, name, obj, msg));
    } catch {
      // stderr closed or full: logging must not take the agent down
    }
  };
  return {
    error: at(50), warn: at(40), info: at(30), debug: at(20),
    setLevel(l: string) {
      min = LEVELS[l] ?? min;
    },
  };
}
