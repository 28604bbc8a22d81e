// pino JSON-lines logger for the agent (to stderr so CLI output on stdout stays clean).
import { pino, type Logger } from 'pino';

export function createLogger(level: string, name = 'edgefleet-agent'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
