// A local fleet of real processes — a hub, enrolled agents, prediction traffic and a
// live view — used by `npm start` (examples/src/start.ts) and by scenario tests.
// Programs run built (hub/dist, agent/dist) when this code runs built, from source otherwise;
// every part takes an `entry` to choose explicitly.
export * from './process.js';
export * from './hub.js';
export * from './agents.js';
export * from './traffic.js';
export * from './view.js';
export * from './wait.js';
export * from './waves.js';
export * from './data-dir.js';
export * from './run-stop.js';
