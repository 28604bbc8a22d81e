import ort from 'onnxruntime-node';
import { readdirSync, statSync } from 'node:fs';
const dir = '/tmp/memexp/d/data/blobs';
const files = readdirSync(dir, { recursive: true }).map(f => dir + '/' + f).filter(f => statSync(f).isFile());
const mode = process.argv[2];
const r0 = process.memoryUsage().rss;
const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'], extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
if (mode === 'basic') opts.graphOptimizationLevel = 'basic';
if (mode === 'disabled') opts.graphOptimizationLevel = 'disabled';
if (mode === 'extended') opts.graphOptimizationLevel = 'extended';
if (mode === 'noarena') { opts.enableCpuMemArena = false; }
if (mode === 'nopattern') { opts.enableMemPattern = false; }
if (mode === 'both') { opts.enableCpuMemArena = false; opts.enableMemPattern = false; }
const s = await ort.InferenceSession.create(files[0], opts);
const name = s.inputNames[0];
const t = new ort.Tensor('float32', new Float32Array(12).fill(0.5), [1, 12]);
try { await s.run({ [name]: t }); } catch (e) { console.log(e.message.slice(0,100)); }
await new Promise(r => setTimeout(r, 1000));
console.log(mode, files[0].slice(-10), 'rss', (process.memoryUsage().rss/1048576).toFixed(1), 'before', (r0/1048576).toFixed(1));
