// The REST side of POST /edgefleet/v1/feedback (route.ts has the logic): JSON only, a body of at
// most MAX_FEEDBACK_BYTES (refused from Content-Length before reading, or while streaming).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@edgefleet/shared/core';
import { jsonText, mediaTypeRefusal, methodNotAllowed, POST_ONLY, refuseContentEncoding } from '../api/guards.js';
import type { PredictionMemory } from './memory.js';
import { applyFeedback, MAX_FEEDBACK_BYTES, type LabelSink } from './route.js';

export const FEEDBACK_PATH = '/edgefleet/v1/feedback';

export interface FeedbackDeps {
  memory: PredictionMemory;
  sink: LabelSink;
  /** Resolves once what was counted is saved (saver.ts); absent: answered at once. */
  saved?: () => Promise<void>;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new AppError('PAYLOAD_TOO_LARGE', `feedback body is too large: expected at most ${limit} bytes (send fewer items per request)`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks)); });
    req.on('error', (err) => { if (!failed) { failed = true; reject(err); } });
  });
}

/**
 * Answers one feedback request; `isJson` is the API's Content-Type check. What the headers alone refuse
 * is thrown synchronously, so a client waiting for `100 Continue` gets the refusal instead (api/server.ts).
 */
export function serveFeedback(req: IncomingMessage, res: ServerResponse, deps: FeedbackDeps | undefined, isJson: (ct: string | undefined) => boolean): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed(req.method ?? '', FEEDBACK_PATH, POST_ONLY);
  if (!deps) throw new AppError('NOT_FOUND', `${FEEDBACK_PATH} is not served by this agent`);
  const ct = req.headers['content-type'];
  if (!isJson(ct)) throw mediaTypeRefusal(ct, '"application/json"');
  refuseContentEncoding(req.headers['content-encoding']);
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_FEEDBACK_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', `feedback body of ${declared} bytes is too large: expected at most ${MAX_FEEDBACK_BYTES} bytes (send fewer items per request)`);
  return answer(req, res, deps);
}

async function answer(req: IncomingMessage, res: ServerResponse, deps: FeedbackDeps): Promise<void> {
  const body = await readBody(req, MAX_FEEDBACK_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonText(body, body.length, 'feedback body'));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('BAD_REQUEST', `feedback body is not JSON (${(err as Error).message}): expected {"items": [{"id", "label", "row"?}]}`);
  }
  const answer = applyFeedback(parsed, deps.memory, deps.sink);
  // `counted` is answered once saved: a kill -9 after the answer loses none (saver.ts).
  if (answer.counted > 0 && deps.saved) await deps.saved();
  const text = JSON.stringify(answer);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
