// Import this before 'onnxruntime-node', in every module that imports it. onnxruntime 1.30 otherwise
// creates ~/.cache/Microsoft/DeveloperTools/.onnxruntime (a device id and a database of telemetry
// events: ProcessInfo, SystemMetrics, ModelLoad) and may try to upload them. The agent writes nothing
// outside its data directory and talks to nobody but its hub (docs/security.md), so telemetry is off.
// The native library reads ORT_DISABLE_TELEMETRY when it loads: it must be set before that import.
// Plain JS, never compiled, like launch.js (a side effect, ordered by import position).
process.env.ORT_DISABLE_TELEMETRY = '1';
