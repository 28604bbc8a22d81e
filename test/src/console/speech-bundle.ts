// A speech-like model built in code (runs only at 8000/16000 Hz, an INT64 scalar input) with one sample and
// its expected output: what the agent preflights (scenarios/model-samples.test.ts) and "Try it" runs (try-it.test.ts,
// behind-proxy.test.ts).
import { buildSampleRateModel, bundleFromOnnx, energyResponse, sampleRateRequest, type Keys } from '@edgefleet/examples';

const model = buildSampleRateModel();

/** Bundle `speech` at `version` whose sample expects the energy `expected`, signed with `keys`. */
export function speechBundle(dir: string, keys: Keys, version: string, expected: number) {
  return bundleFromOnnx({
    dir, onnx: model.onnx, name: 'speech', version, io: model.io, keys,
    files: [
      { path: 'samples/a.request.json', bytes: JSON.stringify(sampleRateRequest(8000)) },
      { path: 'samples/a.response.json', bytes: JSON.stringify(energyResponse(expected)) },
    ],
    samples: [{ request: 'samples/a.request.json', expected: 'samples/a.response.json' }],
  });
}
