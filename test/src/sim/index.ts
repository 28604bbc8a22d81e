// The fleet simulator (see simulator.ts).
export { FleetSimulator, type SimDevice, type SimulatorOptions, type ConnectReport } from './simulator.js';
export { DesiredFollower, type FollowOptions } from './follow.js';
export { SIM_MODEL, simEvents, simPresence, simState, simTelemetry, simWindow, type SimModel, type WindowShape } from './messages.js';
export * from './windows.js';
