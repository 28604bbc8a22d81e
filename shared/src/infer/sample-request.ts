// A model sample's request body (docs/decisions/0009-model-samples.md) read as the agent's server reads a
// request: JSON, then validateInferRequest against the manifest io. No zod, so that the console's Try it
// (docs/console.md) reads samples as `model pack` and the agent do, with the same errors.
import { AppError } from '../errors.js';
import type { Manifest } from '../wire/manifest.js';
import { validateInferRequest } from './request.js';
import type { OipTensor } from './tensor.js';

const utf8 = new TextDecoder();

/** JSON from a sample file; INVALID_INPUT naming `what` when it is not JSON. */
export function parseSampleJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch (err) {
    throw new AppError('INVALID_INPUT', `${what} is not JSON (${(err as Error).message}); expected an OIP v2 body`);
  }
}

/** The input tensors of sample `request` (its bundle path); INVALID_INPUT naming the sample and what was wrong. */
export function parseSampleRequest(io: Manifest['io'], request: string, bytes: Uint8Array): OipTensor[] {
  const what = `sample ${request}`;
  const body = parseSampleJson(bytes, what);
  try {
    return validateInferRequest(body, io, { allowNonFinite: false }).inputs;
  } catch (err) {
    throw new AppError('INVALID_INPUT', `${what}: ${(err as Error).message}`, { cause: err });
  }
}
