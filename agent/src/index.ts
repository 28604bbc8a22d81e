// @edgefleet/agent: the edge daemon. Exposed for tests, benches and the fleet simulator.
export { createAgent, type Agent, type AgentDeps, type Part, type RecorderContext } from './agent.js';
export { openStore, type Store } from './store/agent-store.js';
export { AgentConfig, loadConfig, type AgentConfigInput, type ConfigFlags } from './config.js';
export { ModelRuntime, type LoadedVersion, type InferResult } from './runtime/runtime.js';
export { noopRecorder, type PredictionRecorder, type RecordedTensor, type ManifestLookup, type TensorData } from './runtime/recorder.js';
export { SummaryRecorder, type ShadowSampler, type ShadowTallies, type WindowSink } from './summaries/recorder.js';
export { ModelManager, type InstallResult } from './install/manager.js';
export { createApiHandler } from './api/handler.js';
export { validateInferRequest } from './api/validate.js';
export { AGENT_VERSION } from './version.js';
export { SyncClient, DEFAULT_SYNC, type SyncDeps, type SyncOptions } from './sync/client.js';
export { PolicyWatcher, teeRecorder, type Breach } from './policy/watcher.js';
export { PolicyGuard, type PolicyListener } from './policy/guard.js';
export { readCredentials } from './sync/credentials.js';
export { agentStatus, type AgentStatus } from './cli/status.js';
export { agentCli } from './cli/table.js';
export { main as agentMain } from './cli/main.js';
