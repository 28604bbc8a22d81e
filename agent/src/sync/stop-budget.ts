// Deadlines of SyncClient.stop()'s steps, apart from the client so that the agent can budget its
// stop without loading the MQTT client on a box that is not enrolled (docs/agent.md "Stopping").

/** The install or switch under way; publishing offline presence; closing the connection. */
export const STOP_STEP_MS = { updater: 2500, presence: 1000, close: 500 };

/** The longest SyncClient.stop() takes, whatever the hub and the updater are doing. */
export const SYNC_STOP_MS = STOP_STEP_MS.updater + STOP_STEP_MS.presence + STOP_STEP_MS.close;
