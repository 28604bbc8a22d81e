// The fields of an OIP v2 JSON infer request (REST's body or binary header): one the protocol does not
// define is refused, not ignored (docs/agent.md "Local API"). Beside validateInferRequest, not in it: gRPC
// messages and a bundle's signed samples do not come through here.
import { AppError } from '../errors.js';
import { unknownFieldText } from '../cli/suggest.js';
import { echoText } from '../text.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The fields OIP v2 defines in a JSON infer request, in each of its inputs and in each output it asks for. */
const REQUEST_FIELDS = ['id', 'parameters', 'inputs', 'outputs'];
const INPUT_FIELDS = ['name', 'shape', 'datatype', 'parameters', 'data'];
const OUTPUT_FIELDS = ['name', 'parameters'];
/** Unknown fields named in one refusal; the rest are counted. */
const SHOWN_UNKNOWN = 3;

/**
 * INVALID_INPUT naming the fields of a JSON infer request (REST's body, or its binary header) that OIP v2
 * does not define, at the top and in each input and each output asked for, with the one most likely meant:
 * a misspelt "output" would otherwise be ignored and every output answered. Not part of validateInferRequest:
 * a gRPC message has no such fields (protobuf numbers its fields), and a bundle's signed samples are read
 * as they were packed (docs/agent.md "Local API").
 */
export function refuseUnknownInferFields(body: unknown): void {
  if (!isObj(body)) return; // validateInferRequest says what the body should be
  const found: string[] = [];
  let more = 0;
  const check = (o: unknown, known: readonly string[], where: string) => {
    if (!isObj(o)) return;
    for (const key in o) {
      if (known.includes(key)) continue;
      if (found.length === SHOWN_UNKNOWN) more++;
      else found.push(`${where} ${echoText(key)}: ${unknownFieldText(key, known)}`);
    }
  };
  check(body, REQUEST_FIELDS, 'request');
  if (Array.isArray(body.inputs)) for (let i = 0; i < body.inputs.length; i++) check(body.inputs[i], INPUT_FIELDS, `inputs[${i}]`);
  if (Array.isArray(body.outputs)) for (let i = 0; i < body.outputs.length; i++) check(body.outputs[i], OUTPUT_FIELDS, `outputs[${i}]`);
  if (found.length > 0) throw new AppError('INVALID_INPUT', `${found.join('; ')}${more > 0 ? ` (and ${more} more unknown field${more > 1 ? 's' : ''})` : ''}`);
}
