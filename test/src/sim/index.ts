// The fleet simulator (see simulator.ts).
export { FleetSimulator, type SimDevice, type SimulatorOptions, type ConnectReport } from './simulator.js';
export { simPresence, simState, simTelemetry } from './messages.js';
